package client

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Tests against real servers: the in-process echo services and, when
// SOCKJS_NODE_URL is set, sockjs-node 0.3.24. Every scenario runs over
// every transport.

func TestEcho(t *testing.T) {
	msgs := []struct {
		name string
		msg  string
		raw  bool // also on the raw websocket
	}{
		{"ascii", "Hello, world!", true},
		{"empty", "", true},
		{"korean", "안녕하세요, 세계", true},
		{"emoji", "😀 🇰🇷 👍🏽", true},
		{"json-looking", `["a","b"] {"c":1} \u0041 \" \\`, true},
		{"controls", "\x00\x01\b\f\n\r\t\x1f\x7f", true},
		{"percent", "%41 %25 %0A %00 %", true},
		{"separators", "\u2028\u2029\u200c\u2060\ufeff\ufff0\uffff", true},
		{"html", "</script><!-- & -->", true},
		{"lone high surrogate", wtf8(0xd800), false},
		{"lone low surrogate", "a" + wtf8(0xdfff) + "b", false},
		{"reversed pair", wtf8(0xde00) + wtf8(0xd83d), false},
	}
	forEach(t, allTransports, func(t *testing.T, tg target, tr Transport) {
		ctx := testCtx(t, 10*time.Second)
		c := dial(t, tg.url+"/echo", tr, nil)
		for _, m := range msgs {
			if tr == WebSocketRaw && !m.raw {
				continue // a WebSocket text message is UTF-8: see TestRawWebSocketSurrogate
			}
			t.Run(m.name, func(t *testing.T) { echo(t, ctx, c, m.msg) })
		}
	})
}

// A raw websocket text message must be valid UTF-8, so an unpaired
// surrogate goes out as U+FFFD, as a browser's WebSocket.send does.
func TestRawWebSocketSurrogate(t *testing.T) {
	forEach(t, []Transport{WebSocketRaw}, func(t *testing.T, tg target, tr Transport) {
		ctx := testCtx(t, 10*time.Second)
		c := dial(t, tg.url+"/echo", tr, nil)
		if err := c.Send(ctx, "a"+wtf8(0xd800)+"b\xff"); err != nil {
			t.Fatal(err)
		}
		got, err := c.Recv(ctx)
		if err != nil || got != "a\ufffdb\ufffd" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
}

func TestThousandInOrder(t *testing.T) {
	forEach(t, allTransports, func(t *testing.T, tg target, tr Transport) {
		ctx := testCtx(t, 15*time.Second)
		c := dial(t, tg.url+"/echo", tr, nil)
		const n = 1000
		errc := make(chan error, 1)
		go func() {
			for i := range n {
				if err := c.Send(ctx, msgN(i)); err != nil {
					errc <- err
					return
				}
			}
			errc <- c.Flush(ctx)
		}()
		for i := range n {
			got, err := c.Recv(ctx)
			if err != nil {
				t.Fatalf("Recv %d: %v", i, err)
			}
			if want := msgN(i); got != want {
				t.Fatalf("Recv %d = %q, want %q", i, got, want)
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
}

func TestLargeMessage(t *testing.T) {
	var b strings.Builder
	for b.Len() < 64<<10 {
		b.WriteString("0123456789abcdef가나다😀\"\\\n")
	}
	big := b.String()
	forEach(t, allTransports, func(t *testing.T, tg target, tr Transport) {
		ctx := testCtx(t, 10*time.Second)
		c := dial(t, tg.url+"/echo", tr, nil)
		echo(t, ctx, c, big)
		echo(t, ctx, c, "after")
	})
}

func TestCloseService(t *testing.T) {
	forEach(t, allTransports, func(t *testing.T, tg target, tr Transport) {
		ctx := testCtx(t, 10*time.Second)
		c := dial(t, tg.url+"/close", tr, nil)
		_, err := c.Recv(ctx)
		wantClose(t, err, 3000, "Go away!")
		// The error stays; Send reports it too.
		_, err = c.Recv(ctx)
		wantClose(t, err, 3000, "Go away!")
		wantClose(t, c.Send(ctx, "x"), 3000, "Go away!")
		if err := c.Close(1000, ""); err != nil {
			t.Fatalf("Close after the server closed: %v", err)
		}
		if _, err := c.Recv(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv after Close: %v", err)
		}
	})
}

// /echo has a response limit of 4096 bytes: the server ends a stream after
// that much, and the client must open the next one without losing or
// reordering anything.
func TestStreamReopen(t *testing.T) {
	forEach(t, []Transport{XHRStreaming, EventSource, XHRPolling}, func(t *testing.T, tg target, tr Transport) {
		ctx := testCtx(t, 10*time.Second)
		counter := &countingTransport{base: &http.Transport{}, suffix: receivePath(tr)}
		t.Cleanup(counter.base.(*http.Transport).CloseIdleConnections)
		c := dial(t, tg.url+"/echo", tr, &Options{HTTPClient: &http.Client{Transport: counter}})
		// One message at a time, so that every echo is a frame of its own:
		// 100 frames of about 140 bytes make several streams.
		const n = 100
		msg := strings.Repeat("x", 128)
		for i := range n {
			echo(t, ctx, c, msgN(i)+msg)
		}
		if got := counter.n.Load(); got < 3 {
			t.Errorf("%d receiving requests for %d bytes; want several (response limit 4096)", got, n*140)
		}
	})
}

// With the websocket disabled by the server, the default order must end up
// on xhr-streaming, as in sockjs-client.
func TestFallbackDisabledWebSocket(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t, 10*time.Second)
			c, err := Dial(ctx, tg.url+"/disabled_websocket_echo", &Options{HTTPClient: httpClient(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(1000, "")
			if c.Transport() != XHRStreaming {
				t.Errorf("transport %s, want %s", c.Transport(), XHRStreaming)
			}
			echo(t, ctx, c, "fallback")

			// Forcing the websocket fails without trying it.
			_, err = Dial(ctx, tg.url+"/disabled_websocket_echo", &Options{HTTPClient: httpClient(t), Transports: []Transport{WebSocket, WebSocketRaw}})
			if err == nil || !strings.Contains(err.Error(), "disabled by the server") {
				t.Fatalf("forced websocket: %v", err)
			}
		})
	}
}

// The server advertises websockets but the websocket URL answers 404 (a
// proxy that does not pass upgrades, say): Dial falls back.
func TestFallbackWebSocketRefused(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tg.url)
			if err != nil {
				t.Fatal(err)
			}
			rp := httputil.NewSingleHostReverseProxy(u)
			rp.FlushInterval = -1
			rp.ErrorLog = log.New(io.Discard, "", 0) // aborted streams are expected
			backend := &http.Transport{}
			rp.Transport = backend
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/websocket") {
					http.NotFound(w, r)
					return
				}
				rp.ServeHTTP(w, r)
			}))
			t.Cleanup(func() {
				proxy.CloseClientConnections()
				proxy.Close()
				backend.CloseIdleConnections()
			})
			ctx := testCtx(t, 10*time.Second)
			c, err := Dial(ctx, proxy.URL+"/echo", &Options{HTTPClient: httpClient(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(1000, "")
			if c.Transport() != XHRStreaming {
				t.Errorf("transport %s, want %s", c.Transport(), XHRStreaming)
			}
			echo(t, ctx, c, "after fallback")

			_, err = Dial(ctx, proxy.URL+"/echo", &Options{HTTPClient: httpClient(t), Transports: []Transport{WebSocket}})
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
				t.Fatalf("forced websocket: %v, want a 404 *StatusError", err)
			}
		})
	}
}

// cookie_needed_echo sets JSESSIONID; with a cookie jar the client keeps it
// and sends it back, which is what sticky load balancers rely on.
func TestCookieJar(t *testing.T) {
	forEach(t, []Transport{XHRStreaming, EventSource, XHRPolling}, func(t *testing.T, tg target, tr Transport) {
		ctx := testCtx(t, 10*time.Second)
		hc := httpClient(t)
		c := dial(t, tg.url+"/cookie_needed_echo", tr, &Options{HTTPClient: hc})
		echo(t, ctx, c, "cookie")
		u, _ := url.Parse(tg.url)
		found := false
		for _, ck := range hc.Jar.Cookies(u) {
			found = found || ck.Name == "JSESSIONID"
		}
		if !found {
			t.Fatalf("no JSESSIONID in the jar: %v", hc.Jar.Cookies(u))
		}
	})
}

func TestRecvCancel(t *testing.T) {
	forEach(t, allTransports, func(t *testing.T, tg target, tr Transport) {
		ctx := testCtx(t, 10*time.Second)
		c := dial(t, tg.url+"/echo", tr, nil)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := c.Recv(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv: %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Recv returned after %v", d)
		}
		// The connection is unaffected.
		echo(t, ctx, c, "still there")
	})
}

func TestDialCanceled(t *testing.T) {
	forEach(t, framedTransports, func(t *testing.T, tg target, tr Transport) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Dial(ctx, tg.url+"/echo", &Options{HTTPClient: httpClient(t), Transports: []Transport{tr}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial: %v, want context.Canceled", err)
		}
	})
}

// Close leaves no goroutine behind, whatever the transport and whoever
// ended the session. Not parallel: goleak looks at the whole process. The
// in-process server gets a fresh instance per case, shut down before the
// check, so that its sessions (alive until their disconnect delay) are not
// mistaken for the client's.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	for _, tg := range targets(t) {
		for _, tr := range allTransports {
			for _, service := range []string{"/echo", "/close"} {
				t.Run(tg.name+"/"+string(tr)+service, func(t *testing.T) {
					opts := goleak.IgnoreCurrent()
					base, stop := tg.url, func() {}
					if tg.name == "go" {
						var ok bool
						if base, stop, ok = inProcess(t); !ok {
							t.Fatal("in-process server went away")
						}
					}
					tp := &http.Transport{}
					hc := &http.Client{Transport: tp}
					ctx := testCtx(t, 10*time.Second)
					c, err := Dial(ctx, base+service, &Options{HTTPClient: hc, Transports: []Transport{tr}})
					if err != nil {
						stop()
						t.Fatal(err)
					}
					if service == "/echo" {
						echo(t, ctx, c, "bye")
						if err := c.Send(ctx, "in flight"); err != nil {
							t.Fatal(err)
						}
					} else {
						c.Recv(ctx)
					}
					if err := c.Close(1000, "done"); err != nil {
						t.Fatal(err)
					}
					tp.CloseIdleConnections()
					stop()
					goleak.VerifyNone(t, opts)
				})
			}
		}
	}
}
