package sockjs_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sockjs/sockjs/client"
	"github.com/go-sockjs/sockjs/sockjs"
)

// protoRecorder records the protocol of every request by the last segment
// of its path (the transport), for checking which requests went over
// HTTP/2.
type protoRecorder struct {
	mu     sync.Mutex
	protos map[string]map[string]bool
}

func (p *protoRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		p.mu.Lock()
		if p.protos[seg] == nil {
			p.protos[seg] = map[string]bool{}
		}
		p.protos[seg][r.Proto] = true
		p.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (p *protoRecorder) only(t *testing.T, seg, proto string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if got := p.protos[seg]; len(got) != 1 || !got[proto] {
		t.Errorf("%s requests went over %v, want only %s", seg, got, proto)
	}
}

// TestTLS runs every transport over TLS, with HTTP/1.1 and with HTTP/2.
// Over HTTP/2 the streaming transports stay inside net/http (there is no
// connection to take over) and the polling ones share one connection.
// Websockets need HTTP/1.1 (gorilla/websocket implements the HTTP/1.1
// upgrade only, and Go's server does not offer RFC 8441's extended
// CONNECT): a client, browsers included, opens a separate TLS connection
// that negotiates http/1.1 by ALPN, so websockets work on a server that
// speaks HTTP/2 too; that is checked here.
func TestTLS(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name, proto := "http1.1", "HTTP/1.1"
		if h2 {
			name, proto = "http2", "HTTP/2.0"
		}
		t.Run(name, func(t *testing.T) {
			rec := &protoRecorder{protos: map[string]map[string]bool{}}
			h := sockjs.New(func(s sockjs.Session) {
				for {
					m, err := s.Recv(s.Context())
					if err != nil {
						return
					}
					s.Send(s.Context(), string(s.Transport())+":"+m)
				}
			}, nil)
			ts := httptest.NewUnstartedServer(rec.wrap(h))
			ts.EnableHTTP2 = h2
			ts.StartTLS()
			defer ts.Close()
			defer h.Shutdown(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			for _, tr := range []client.Transport{client.WebSocket, client.WebSocketRaw, client.XHRStreaming, client.EventSource, client.XHRPolling} {
				c, err := client.Dial(ctx, ts.URL, &client.Options{HTTPClient: ts.Client(), Transports: []client.Transport{tr}})
				if err != nil {
					t.Fatalf("%s: %v", tr, err)
				}
				// Enough to cross a streaming response's limit once.
				big := strings.Repeat("x", 40<<10)
				for i := 0; i < 5; i++ {
					if err := c.Send(ctx, big); err != nil {
						t.Fatalf("%s: Send: %v", tr, err)
					}
					if m, err := c.Recv(ctx); m != string(tr)+":"+big || err != nil {
						t.Fatalf("%s: echo %d: %.40q, %v", tr, i, m, err)
					}
				}
				c.Close(1000, "")
			}
			httpTransports(t, ctx, ts.Client(), ts.URL)

			for _, seg := range []string{"info", "xhr_streaming", "eventsource", "xhr", "xhr_send", "htmlfile", "jsonp", "jsonp_send"} {
				rec.only(t, seg, proto)
			}
			rec.only(t, "websocket", "HTTP/1.1")
		})
	}
}

// httpTransports runs htmlfile and jsonp-polling, which the Go client does
// not speak, by hand.
func httpTransports(t *testing.T, ctx context.Context, hc *http.Client, base string) {
	t.Helper()
	do := func(method, path, ctype, body string) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return res
	}
	readAll := func(res *http.Response) string {
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}

	// htmlfile: the page streams, messages come through xhr_send.
	hctx, stop := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(hctx, "GET", base+"/0/hf/htmlfile?c=cb", nil)
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(res.Body)
	waitFor := func(want string) {
		for {
			l, err := br.ReadString('\n')
			if strings.Contains(l, want) {
				return
			}
			if err != nil {
				t.Fatalf("htmlfile: %v before %q", err, want)
			}
		}
	}
	waitFor(`p("o");`)
	if got := readAll(do("POST", "/0/hf/xhr_send", "text/plain", `["hi"]`)); got != "" {
		t.Errorf("xhr_send = %q", got)
	}
	waitFor(`p("a[\"htmlfile:hi\"]");`)
	stop()
	res.Body.Close()

	// jsonp-polling.
	if got := readAll(do("GET", "/0/jp/jsonp?c=cb", "", "")); got != "/**/cb(\"o\");\r\n" {
		t.Errorf("jsonp open = %q", got)
	}
	if got := readAll(do("POST", "/0/jp/jsonp_send", "application/x-www-form-urlencoded", "d="+url.QueryEscape(`["hi"]`))); got != "ok" {
		t.Errorf("jsonp_send = %q", got)
	}
	if got := readAll(do("GET", "/0/jp/jsonp?c=cb", "", "")); got != "/**/cb(\"a[\\\"jsonp-polling:hi\\\"]\");\r\n" {
		t.Errorf("jsonp message = %q", got)
	}
	if got := readAll(do("GET", "/info", "", "")); !strings.Contains(got, `"websocket":true`) {
		t.Errorf("/info = %q", got)
	}
}
