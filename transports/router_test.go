package transports

import (
	"strings"
	"testing"
)

func TestRoute(t *testing.T) {
	tests := []struct {
		path string
		want routed
	}{
		{"", routed{kind: routeGreeting}},
		{"/", routed{kind: routeGreeting}},
		{"/info", routed{kind: routeInfo}},
		{"/websocket", routed{kind: routeRawWebsocket}},
		{"/iframe.html", routed{kind: routeIframe}},
		{"/iframe-a.html", routed{kind: routeIframe}},
		{"/iframe-.html", routed{kind: routeIframe}},
		{"/iframe-0.1.2abc-dirty.2144.html", routed{kind: routeIframe}},
		{"/000/abc/xhr", routed{kind: routeSession, server: "000", session: "abc", transport: "xhr"}},
		{"/_/_/xhr_send", routed{kind: routeSession, server: "_", session: "_", transport: "xhr_send"}},
		{"/abcdefgh_i-j%20/abcdefg_i-j%20/xhr", routed{kind: routeSession, server: "abcdefgh_i-j%20", session: "abcdefg_i-j%20", transport: "xhr"}},
		{"/1/a%2Fb/xhr", routed{kind: routeSession, server: "1", session: "a%2Fb", transport: "xhr"}},
		{"/1/x/unknown", routed{kind: routeSession, server: "1", session: "x", transport: "unknown"}},
		{"/1/" + strings.Repeat("i", MaxIDLength) + "/xhr", routed{kind: routeSession, server: "1", session: strings.Repeat("i", MaxIDLength), transport: "xhr"}},
		{"/" + strings.Repeat("s", MaxIDLength) + "/x/xhr", routed{kind: routeSession, server: strings.Repeat("s", MaxIDLength), session: "x", transport: "xhr"}},
		// Everything below is a 404.
		{"/a", routed{}},
		{"/a.html", routed{}},
		{"//", routed{}},
		{"///", routed{}},
		{"/a/a", routed{}},
		{"/a/a/", routed{}},
		{"/a/", routed{}},
		{"///xhr", routed{}},
		{"/a./a/xhr", routed{}},
		{"/a/a./xhr", routed{}},
		{"/././xhr", routed{}},
		{"//xhr", routed{}},
		{"////xhr", routed{}},
		{"/a/b/xhr/", routed{}},
		{"/a/b/c/d", routed{}},
		{"/iframe.htm", routed{}},
		{"/iframe", routed{}},
		{"/IFRAME.HTML", routed{}},
		{"/IFRAME", routed{}},
		{"/iframe.HTML", routed{}},
		{"/iframe.xml", routed{}},
		{"/iframe-/.html", routed{}},
		{"/info/", routed{}},
		{"info", routed{}},
		{"/1/" + strings.Repeat("i", MaxIDLength+1) + "/xhr", routed{}},
		{"/" + strings.Repeat("s", MaxIDLength+1) + "/x/xhr", routed{}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := route(tt.path); got != tt.want {
				t.Errorf("route(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
}

func FuzzRoute(f *testing.F) {
	for _, s := range []string{"", "/", "/info", "/iframe-1.html", "/a/b/xhr", "//", "/a./b/xhr", "/a/b/c/d", "/websocket"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r := route(p)
		switch r.kind {
		case routeSession:
			for _, seg := range []string{r.server, r.session} {
				if seg == "" || strings.ContainsAny(seg, "/.") || len(seg) > MaxIDLength {
					t.Fatalf("route(%q) gave a bad id %q", p, seg)
				}
			}
			if r.transport == "" || strings.Contains(r.transport, "/") {
				t.Fatalf("route(%q) gave a bad transport %q", p, r.transport)
			}
			if got := "/" + r.server + "/" + r.session + "/" + r.transport; got != p {
				t.Fatalf("route(%q) does not reassemble: %q", p, got)
			}
		case routeIframe:
			if !strings.HasPrefix(p, "/iframe") || !strings.HasSuffix(p, ".html") || strings.Count(p, "/") != 1 {
				t.Fatalf("route(%q) = iframe", p)
			}
		}
	})
}

func TestMethodIn(t *testing.T) {
	for _, tt := range []struct {
		m, list string
		want    bool
	}{
		{"GET", "GET", true},
		{"POST", "POST, OPTIONS", true},
		{"OPTIONS", "POST, OPTIONS", true},
		{"GET", "POST, OPTIONS", false},
		{"OPT", "POST, OPTIONS", false},
		{"", "GET", false},
	} {
		if got := methodIn(tt.m, tt.list); got != tt.want {
			t.Errorf("methodIn(%q, %q) = %v", tt.m, tt.list, got)
		}
	}
}
