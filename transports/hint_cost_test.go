package transports

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNotFoundHintLinear: the 404 hint looks for a mount prefix in the
// URL; a long URL of many segments (a client may send near a megabyte of
// them, net/http's default header limit) must cost about its length, not
// its length squared.
func TestNotFoundHintLinear(t *testing.T) {
	path := strings.Repeat("/a", 250_000) // 500 kB
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.URL.Path, r.URL.RawPath = path, ""
	start := time.Now()
	w := httptest.NewRecorder()
	notFoundHint(w, r)
	if w.Code != http.StatusNotFound {
		t.Fatalf("status %d; want 404", w.Code)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the hint took %v for a %d-byte path", d, len(path))
	}
}

func TestUnstrippedPrefix(t *testing.T) {
	for _, c := range []struct {
		path, prefix string
		ok           bool
	}{
		{"/chat/info", "/chat", true},
		{"/chat/", "/chat", true},
		{"/a/b/0/s/xhr", "/a/b", true},
		{"/a/b/c/iframe.html", "/a/b/c", true},
		{"/a/b/websocket", "/a/b", true},
		{"/x//info", "", false},
		{"/a/b/c", "", false},
		{"/info", "", false},
		{"/a/0/s/nope", "", false},
	} {
		p, ok := unstrippedPrefix(c.path)
		if p != c.prefix || ok != c.ok {
			t.Errorf("unstrippedPrefix(%q) = %q, %v; want %q, %v", c.path, p, ok, c.prefix, c.ok)
		}
	}
}
