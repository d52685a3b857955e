package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/frame"
)

// Scripted servers for what the real ones cannot be made to do on demand:
// heartbeats within milliseconds, silence, lost sessions, broken frames,
// refused transports, slow senders.

// fakeServer is a SockJS service at <srv.URL>/svc whose endpoints are
// written by each test.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server
	url string // service URL

	// websocket is the "websocket" field of /info.
	websocket bool
	// handle answers every request but /info; ep is the last path segment
	// (xhr, xhr_streaming, eventsource, xhr_send, websocket) and n counts
	// the requests to that endpoint so far, from 0.
	handle func(w http.ResponseWriter, r *http.Request, ep string, n int)

	mu   sync.Mutex
	log  []string // "ep path" of every request, in order
	seen map[string]int
}

func newFake(t *testing.T, websocket bool, handle func(w http.ResponseWriter, r *http.Request, ep string, n int)) *fakeServer {
	t.Helper()
	return newFakeWrapped(t, websocket, handle, nil)
}

// newFakeWrapped is newFake with the whole server wrapped by wrap, which
// may answer requests itself (/info included).
func newFakeWrapped(t *testing.T, websocket bool, handle func(w http.ResponseWriter, r *http.Request, ep string, n int), wrap func(http.Handler) http.Handler) *fakeServer {
	t.Helper()
	fs := &fakeServer{t: t, websocket: websocket, handle: handle, seen: map[string]int{}}
	var h http.Handler = fs
	if wrap != nil {
		h = wrap(fs)
	}
	fs.srv = httptest.NewServer(h)
	fs.url = fs.srv.URL + "/svc"
	t.Cleanup(func() {
		fs.srv.CloseClientConnections()
		fs.srv.Close()
	})
	return fs
}

func (fs *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/svc/info" {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		fmt.Fprintf(w, `{"websocket":%v,"origins":["*:*"],"cookie_needed":false,"entropy":1}`, fs.websocket)
		return
	}
	ep := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	fs.mu.Lock()
	n := fs.seen[ep]
	fs.seen[ep]++
	fs.log = append(fs.log, ep+" "+r.URL.Path)
	fs.mu.Unlock()
	if fs.handle == nil {
		http.NotFound(w, r)
		return
	}
	fs.handle(w, r, ep, n)
}

func (fs *fakeServer) count(ep string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.seen[ep]
}

func (fs *fakeServer) requests() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.log...)
}

// endpointOf is the receiving endpoint of an HTTP transport.
func endpointOf(tr Transport) string { return strings.TrimPrefix(receivePath(tr), "/") }

// respond starts a receiving response of transport tr: headers, and the
// prelude of the streaming transports.
func respond(w http.ResponseWriter, tr Transport) {
	if tr == EventSource {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/javascript; charset=UTF-8")
	}
	w.WriteHeader(http.StatusOK)
	switch tr {
	case XHRStreaming:
		io.WriteString(w, strings.Repeat("h", 2048)+"\n")
	case EventSource:
		io.WriteString(w, "\r\n")
	}
	http.NewResponseController(w).Flush()
}

// writeFrame writes one frame in the format of tr and flushes it.
func writeFrame(w http.ResponseWriter, tr Transport, f string) {
	var b []byte
	if tr == EventSource {
		b = append(b, "data: "...)
		b = frame.AppendEventSourceData(b, []byte(f))
		b = append(b, "\r\n\r\n"...)
	} else {
		b = append(b, f...)
		b = append(b, '\n')
	}
	w.Write(b)
	http.NewResponseController(w).Flush()
}

// serve answers a receiving request with frames; a streaming response
// stays open afterwards (until the client goes) when hold is set.
func serve(w http.ResponseWriter, r *http.Request, tr Transport, hold bool, frames ...string) {
	respond(w, tr)
	for _, f := range frames {
		writeFrame(w, tr, f)
	}
	if hold {
		<-r.Context().Done()
	}
}

var httpTransports = []Transport{XHRStreaming, EventSource, XHRPolling}

// forEachHTTP runs f for every HTTP transport, in parallel.
func forEachHTTP(t *testing.T, f func(t *testing.T, tr Transport)) {
	for _, tr := range httpTransports {
		t.Run(string(tr), func(t *testing.T) {
			t.Parallel()
			f(t, tr)
		})
	}
}

// upgrade serves a framed or raw websocket with f.
func upgrade(t *testing.T, w http.ResponseWriter, r *http.Request, f func(c *websocket.Conn)) {
	var up websocket.Upgrader
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		t.Errorf("upgrade: %v", err)
		return
	}
	defer c.Close()
	f(c)
}

// drainWS reads until the client goes, answering its close frame.
func drainWS(c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

func TestFakeHeartbeatsIgnored(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, tr Transport) {
		fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			switch {
			case ep != endpointOf(tr):
				http.NotFound(w, r)
			case n == 0 && tr == XHRPolling:
				serve(w, r, tr, false, "o")
			case n == 0:
				serve(w, r, tr, true, "o", "h", `a["1"]`, "h", "", `a["2"]`)
			case tr == XHRPolling && n <= 5:
				serve(w, r, tr, false, []string{"h", `a["1"]`, "h", "h", `a["2"]`, "h"}[n])
			default:
				serve(w, r, tr, true)
			}
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, tr, nil)
		for _, want := range []string{"1", "2"} {
			if got, err := c.Recv(ctx); err != nil || got != want {
				t.Fatalf("Recv = %q, %v; want %q", got, err, want)
			}
		}
	})
	t.Run(string(WebSocket), func(t *testing.T) {
		t.Parallel()
		fs := newFake(t, true, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			upgrade(t, w, r, func(c *websocket.Conn) {
				c.WriteMessage(websocket.TextMessage, []byte("o"))
				c.WriteMessage(websocket.TextMessage, []byte("h"))
				c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second))
				c.WriteMessage(websocket.TextMessage, []byte(`a["1"]`))
				c.WriteMessage(websocket.TextMessage, []byte(`a["2"]`))
				drainWS(c)
			})
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, WebSocket, nil)
		for _, want := range []string{"1", "2"} {
			if got, err := c.Recv(ctx); err != nil || got != want {
				t.Fatalf("Recv = %q, %v; want %q", got, err, want)
			}
		}
	})
}

func TestFakeReceiveTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	// beats is how many heartbeats, 100 ms apart, precede a message; then
	// the server goes silent.
	const beats = 6
	forEachHTTP(t, func(t *testing.T, tr Transport) {
		fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			switch {
			case ep != endpointOf(tr):
				http.NotFound(w, r)
			case tr == XHRPolling && n == 0:
				serve(w, r, tr, false, "o")
			case tr == XHRPolling && n <= beats:
				time.Sleep(100 * time.Millisecond)
				serve(w, r, tr, false, "h")
			case tr == XHRPolling && n == beats+1:
				serve(w, r, tr, false, `a["alive"]`)
			case tr == XHRPolling:
				serve(w, r, tr, true)
			default:
				serve(w, r, tr, false, "o")
				for range beats {
					time.Sleep(100 * time.Millisecond)
					writeFrame(w, tr, "h")
				}
				writeFrame(w, tr, `a["alive"]`)
				<-r.Context().Done()
			}
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, tr, &Options{ReceiveTimeout: timeout})
		if got, err := c.Recv(ctx); err != nil || got != "alive" {
			t.Fatalf("Recv = %q, %v; heartbeats must keep the connection alive", got, err)
		}
		start := time.Now()
		_, err := c.Recv(ctx)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Recv: %v, want ErrTimeout", err)
		}
		wantClose(t, err, 1006, "Connection lost")
		if d := time.Since(start); d > 3*timeout {
			t.Errorf("timeout after %v, want about %v", d, timeout)
		}
	})
	t.Run(string(WebSocket), func(t *testing.T) {
		t.Parallel()
		fs := newFake(t, true, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			upgrade(t, w, r, func(c *websocket.Conn) {
				c.WriteMessage(websocket.TextMessage, []byte("o"))
				for range beats {
					time.Sleep(100 * time.Millisecond)
					// sockjs-node pings instead of sending h.
					c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
				}
				c.WriteMessage(websocket.TextMessage, []byte(`a["alive"]`))
				drainWS(c)
			})
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, WebSocket, &Options{ReceiveTimeout: timeout})
		if got, err := c.Recv(ctx); err != nil || got != "alive" {
			t.Fatalf("Recv = %q, %v; pings must keep the connection alive", got, err)
		}
		_, err := c.Recv(ctx)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Recv: %v, want ErrTimeout", err)
		}
		wantClose(t, err, 1006, "Connection lost")
	})
}

func TestFakeServerLostSession(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, tr Transport) {
		fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			switch {
			case ep != endpointOf(tr):
				http.NotFound(w, r)
			case n == 0:
				serve(w, r, tr, false, "o", `a["before"]`)
			default:
				serve(w, r, tr, false, "o")
			}
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, tr, nil)
		if got, err := c.Recv(ctx); err != nil || got != "before" {
			t.Fatalf("Recv = %q, %v", got, err)
		}
		_, err := c.Recv(ctx)
		wantClose(t, err, 1006, "Server lost session")
	})
}

func TestFakeCloseFrames(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		reason string
	}{
		{"go away", 3000, "Go away!"},
		{"another connection", 2010, "Another connection still open"},
		{"interrupted", 1002, "Connection interrupted"},
		{"surrogate reason", 4000, "bye " + wtf8(0xdc00)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closeFrame := string(frame.AppendClose(nil, tt.code, tt.reason))
			forEachHTTP(t, func(t *testing.T, tr Transport) {
				fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
					switch {
					case ep != endpointOf(tr):
						http.NotFound(w, r)
					case n == 0 && tr == XHRPolling:
						serve(w, r, tr, false, "o")
					case n == 0:
						serve(w, r, tr, false, "o", `a["x","y"]`, closeFrame)
					case n == 1 && tr == XHRPolling:
						serve(w, r, tr, false, `a["x","y"]`)
					default:
						serve(w, r, tr, false, closeFrame)
					}
				})
				ctx := testCtx(t, 5*time.Second)
				c := dial(t, fs.url, tr, nil)
				for _, want := range []string{"x", "y"} {
					if got, err := c.Recv(ctx); err != nil || got != want {
						t.Fatalf("Recv = %q, %v; want %q", got, err, want)
					}
				}
				_, err := c.Recv(ctx)
				wantClose(t, err, tt.code, tt.reason)
				time.Sleep(20 * time.Millisecond)
				if n := fs.count(endpointOf(tr)); n > 3 {
					t.Errorf("%d receiving requests; nothing may follow the close frame", n)
				}
			})
		})
	}
}

// A close frame instead of the open frame ends Dial with it: no fallback.
func TestFakeCloseBeforeOpen(t *testing.T) {
	fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		serve(w, r, XHRStreaming, false, `c[2010,"Another connection still open"]`)
	})
	_, err := Dial(testCtx(t, 5*time.Second), fs.url, &Options{HTTPClient: httpClient(t)})
	wantClose(t, err, 2010, "Another connection still open")
	if got := fs.requests(); len(got) != 1 {
		t.Fatalf("requests %q, want only the xhr_streaming attempt", got)
	}
}

// A websocket closed before the open frame with a code applications do not
// use (here 1011) makes Dial fall back, as in sockjs-client.
func TestFakeWebSocketCloseBeforeOpen(t *testing.T) {
	for _, tt := range []struct {
		code     int
		fallback bool
	}{{1011, true}, {3000, false}} {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			fs := newFake(t, true, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
				switch ep {
				case "websocket":
					upgrade(t, w, r, func(c *websocket.Conn) {
						c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(tt.code, "no"), time.Now().Add(time.Second))
						drainWS(c)
					})
				case "xhr_streaming":
					serve(w, r, XHRStreaming, true, "o")
				default:
					http.NotFound(w, r)
				}
			})
			c, err := Dial(testCtx(t, 5*time.Second), fs.url, &Options{HTTPClient: httpClient(t)})
			if !tt.fallback {
				wantClose(t, err, tt.code, "no")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(1000, "")
			if c.Transport() != XHRStreaming {
				t.Fatalf("transport %s", c.Transport())
			}
		})
	}
}

func TestFakeProtocolErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		opts  Options
		want  error
	}{
		{"unknown frame", "x", Options{}, ErrProtocol},
		{"broken array", `a["x`, Options{}, ErrProtocol},
		{"not strings", `a[1,2]`, Options{}, ErrProtocol},
		{"too large", `a["` + strings.Repeat("x", 5000) + `"]`, Options{MaxFrameBytes: 4096}, ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachHTTP(t, func(t *testing.T, tr Transport) {
				fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
					switch {
					case ep != endpointOf(tr):
						http.NotFound(w, r)
					case n == 0 && tr == XHRPolling:
						serve(w, r, tr, false, "o")
					case n == 0:
						serve(w, r, tr, true, "o", tt.frame)
					default:
						serve(w, r, tr, true, tt.frame)
					}
				})
				ctx := testCtx(t, 5*time.Second)
				c := dial(t, fs.url, tr, &tt.opts)
				_, err := c.Recv(ctx)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Recv: %v, want %v", err, tt.want)
				}
				wantClose(t, err, 1006, "Connection lost")
			})
			t.Run(string(WebSocket), func(t *testing.T) {
				t.Parallel()
				fs := newFake(t, true, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
					upgrade(t, w, r, func(c *websocket.Conn) {
						c.WriteMessage(websocket.TextMessage, []byte("o"))
						c.WriteMessage(websocket.TextMessage, []byte(tt.frame))
						drainWS(c)
					})
				})
				ctx := testCtx(t, 5*time.Second)
				c := dial(t, fs.url, WebSocket, &tt.opts)
				_, err := c.Recv(ctx)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Recv: %v, want %v", err, tt.want)
				}
				wantClose(t, err, 1006, "Connection lost")
			})
		})
	}
}

// A messages frame before the open frame is not SockJS: that transport
// fails and the next one is tried.
func TestFakeMessagesBeforeOpen(t *testing.T) {
	fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		switch ep {
		case "xhr_streaming":
			serve(w, r, XHRStreaming, false, `a["x"]`)
		case "eventsource":
			serve(w, r, EventSource, true, "o")
		default:
			http.NotFound(w, r)
		}
	})
	c, err := Dial(testCtx(t, 5*time.Second), fs.url, &Options{HTTPClient: httpClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(1000, "")
	if c.Transport() != EventSource {
		t.Fatalf("transport %s, want %s", c.Transport(), EventSource)
	}
}

func TestFakeFallbackOrder(t *testing.T) {
	fs := newFake(t, true, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		switch ep {
		case "xhr":
			serve(w, r, XHRPolling, false, "o")
		default:
			http.NotFound(w, r)
		}
	})
	c, err := Dial(testCtx(t, 5*time.Second), fs.url, &Options{HTTPClient: httpClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	c.Close(1000, "")
	if c.Transport() != XHRPolling {
		t.Fatalf("transport %s, want %s", c.Transport(), XHRPolling)
	}
	reqs := fs.requests()
	var eps []string
	sessions := map[string]bool{}
	for _, r := range reqs {
		ep, path, _ := strings.Cut(r, " ")
		if len(eps) == 0 || eps[len(eps)-1] != ep {
			eps = append(eps, ep)
		}
		parts := strings.Split(path, "/") // "", "svc", server, session, ep
		if len(parts) != 5 {
			t.Fatalf("path %q", path)
		}
		server, session := parts[2], parts[3]
		if len(server) != 3 || strings.Trim(server, "0123456789") != "" {
			t.Errorf("server id %q, want 3 digits", server)
		}
		if len(session) != 16 || strings.Trim(session, sessionIDAlphabet) != "" {
			t.Errorf("session id %q, want 16 characters of %s", session, sessionIDAlphabet)
		}
		if ep != "xhr" {
			if sessions[session] {
				t.Errorf("session id %s reused by a new attempt", session)
			}
			sessions[session] = true
		}
	}
	want := []string{"websocket", "xhr_streaming", "eventsource", "xhr"}
	if strings.Join(eps[:min(len(eps), 4)], ",") != strings.Join(want, ",") {
		t.Fatalf("attempts %q, want %q", eps, want)
	}

	// All of them failing is reported with every reason.
	_, err = Dial(testCtx(t, 5*time.Second), fs.url, &Options{HTTPClient: httpClient(t), Transports: []Transport{WebSocket, XHRStreaming}})
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 404 || !strings.Contains(err.Error(), "all transports failed") {
		t.Fatalf("Dial: %v", err)
	}
}

// A stream that never delivers its open frame (a buffering proxy, say)
// is given up after TransportTimeout.
func TestFakeTransportTimeout(t *testing.T) {
	fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		switch ep {
		case "xhr_streaming":
			<-r.Context().Done()
		case "eventsource":
			serve(w, r, EventSource, true, "o")
		default:
			http.NotFound(w, r)
		}
	})
	opts := &Options{HTTPClient: httpClient(t), TransportTimeout: 500 * time.Millisecond}
	c, err := Dial(testCtx(t, 5*time.Second), fs.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.Close(1000, "")
	if c.Transport() != EventSource {
		t.Fatalf("transport %s, want %s", c.Transport(), EventSource)
	}
	opts.Transports = []Transport{XHRStreaming}
	_, err = Dial(testCtx(t, 5*time.Second), fs.url, opts)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Dial: %v, want ErrTimeout", err)
	}
}

// Dial returns promptly when its context ends, at every stage, and leaves
// nothing running (TestMain checks for goroutines).
func TestFakeDialCancel(t *testing.T) {
	for _, stage := range []string{"info", "transport"} {
		for _, tr := range allTransports {
			t.Run(stage+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				hang := func(w http.ResponseWriter, r *http.Request, ep string, n int) {
					<-r.Context().Done() // never answers
				}
				var wrap func(http.Handler) http.Handler
				if stage == "info" {
					wrap = func(http.Handler) http.Handler {
						return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hang(w, r, "", 0) })
					}
				}
				fs := newFakeWrapped(t, true, hang, wrap)
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				start := time.Now()
				_, err := Dial(ctx, fs.url, &Options{HTTPClient: httpClient(t), Transports: []Transport{tr}, TransportTimeout: time.Minute})
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Dial: %v, want context.Canceled", err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("Dial returned after %v", d)
				}
			})
		}
	}
}

func TestFakeSendError(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, tr Transport) {
		fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			switch {
			case ep == endpointOf(tr) && n == 0:
				serve(w, r, tr, tr != XHRPolling, "o")
			case ep == endpointOf(tr):
				serve(w, r, tr, true)
			default: // xhr_send: the session is unknown
				http.NotFound(w, r)
			}
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, tr, nil)
		if err := c.Send(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		err := c.Flush(ctx)
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != 404 || se.Method != "POST" || !strings.HasSuffix(se.URL, "/xhr_send") {
			t.Fatalf("Flush: %v, want a 404 *StatusError from xhr_send", err)
		}
		wantClose(t, err, 1006, "Sending error")
		_, err = c.Recv(ctx)
		wantClose(t, err, 1006, "Sending error")
		wantClose(t, c.Send(ctx, "y"), 1006, "Sending error")
	})
}

// While one xhr_send is in flight, later messages queue up and go out
// together in the next one, as in sockjs-client.
func TestFakeBatching(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var bodies []string
	fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		switch ep {
		case "xhr_streaming":
			serve(w, r, XHRStreaming, true, "o")
		case "xhr_send":
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			if n == 0 {
				<-release
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	ctx := testCtx(t, 5*time.Second)
	c := dial(t, fs.url, XHRStreaming, nil)
	if err := c.Send(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	for fs.count("xhr_send") == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := range 5 {
		if err := c.Send(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush with a POST held: %v", err)
	}
	close(release)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{`["first"]`, `["0","1","2","3","4"]`}
	if strings.Join(bodies, " ") != strings.Join(want, " ") {
		t.Fatalf("xhr_send bodies %q, want %q", bodies, want)
	}
}

// A full send queue makes Send wait; its context ends the wait.
func TestFakeSendQueueFull(t *testing.T) {
	release := make(chan struct{})
	fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		switch ep {
		case "xhr_streaming":
			serve(w, r, XHRStreaming, true, "o")
		case "xhr_send":
			io.ReadAll(r.Body)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	ctx := testCtx(t, 5*time.Second)
	c := dial(t, fs.url, XHRStreaming, &Options{MaxSendQueueBytes: 100})
	msg := strings.Repeat("m", 30) // 46 bytes with the overhead
	// Two fit; the first is in flight at once, so a third joins the second.
	for range 2 {
		if err := c.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.Send(short, msg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send into a full queue: %v, want context.DeadlineExceeded", err)
	}
	close(release)
	if err := c.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A message larger than the whole queue still goes, alone.
	if err := c.Send(ctx, strings.Repeat("L", 1000)); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// A full receive queue stops the polling: the server sees backpressure.
func TestFakeBackpressure(t *testing.T) {
	const total = 20
	msg := strings.Repeat("p", 1000)
	fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		switch {
		case ep != "xhr":
			http.NotFound(w, r)
		case n == 0:
			serve(w, r, XHRPolling, false, "o")
		case n <= total:
			serve(w, r, XHRPolling, false, fmt.Sprintf(`a["%d %s"]`, n, msg))
		default:
			serve(w, r, XHRPolling, true)
		}
	})
	ctx := testCtx(t, 5*time.Second)
	c := dial(t, fs.url, XHRPolling, &Options{MaxRecvQueueBytes: 4000})
	time.Sleep(200 * time.Millisecond)
	// Three messages fill the queue (3 × 1018 bytes); the fourth waits in
	// the receive goroutine, which polls no more.
	if n := fs.count("xhr"); n > 6 {
		t.Fatalf("%d polls while nobody reads; want the queue limit to stop them", n)
	}
	for i := 1; i <= total; i++ {
		got, err := c.Recv(ctx)
		if want := fmt.Sprintf("%d %s", i, msg); err != nil || got != want {
			t.Fatalf("Recv %d = %q, %v", i, short(got), err)
		}
	}
}

// Options.Header and the cookie jar reach every request: /info, the
// receiving requests, xhr_send and the websocket handshake.
func TestFakeHeadersAndCookies(t *testing.T) {
	for _, tr := range allTransports {
		t.Run(string(tr), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var missing []string
			check := func(r *http.Request, what string) {
				ck, err := r.Cookie("JSESSIONID")
				if r.Header.Get("X-Test") != "yes" || err != nil || ck.Value != "sticky" {
					mu.Lock()
					missing = append(missing, what)
					mu.Unlock()
				}
			}
			fs := newFakeWrapped(t, true, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
				check(r, ep)
				switch {
				case ep == "websocket":
					upgrade(t, w, r, func(c *websocket.Conn) {
						if tr == WebSocket {
							c.WriteMessage(websocket.TextMessage, []byte("o"))
						}
						for {
							_, b, err := c.ReadMessage()
							if err != nil {
								return
							}
							if tr == WebSocket {
								b = append([]byte("a"), b...)
							}
							c.WriteMessage(websocket.TextMessage, b)
						}
					})
				case ep == "xhr_send":
					w.WriteHeader(http.StatusNoContent)
				case n == 0 && tr == XHRPolling:
					serve(w, r, tr, false, "o")
				case n == 0:
					serve(w, r, tr, true, "o", `a["pong"]`)
				case n == 1 && tr == XHRPolling:
					serve(w, r, tr, false, `a["pong"]`)
				default:
					serve(w, r, tr, true)
				}
			}, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/info") {
						if r.Header.Get("X-Test") != "yes" {
							t.Errorf("/info without the header")
						}
						http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "sticky", Path: "/"})
					}
					next.ServeHTTP(w, r)
				})
			})
			ctx := testCtx(t, 5*time.Second)
			c := dial(t, fs.url, tr, &Options{Header: http.Header{"X-Test": {"yes"}}})
			if err := c.Send(ctx, "pong"); err != nil {
				t.Fatal(err)
			}
			if got, err := c.Recv(ctx); err != nil || got != "pong" {
				t.Fatalf("Recv = %q, %v", got, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(missing) > 0 {
				t.Fatalf("requests without the header or the cookie: %q", missing)
			}
		})
	}
}

// Close on a websocket sends the close code and reason to the server.
func TestFakeWebSocketCloseHandshake(t *testing.T) {
	tests := []struct {
		code       int
		reason     string
		wantCode   int
		wantReason string
		wantErr    bool
	}{
		{3001, "bye", 3001, "bye", false},
		{1000, "", 1000, "", false},
		{1001, "going", 1000, "", true},
		{3000, strings.Repeat("r", 124), 1000, "", true},
	}
	for _, tr := range []Transport{WebSocket, WebSocketRaw} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%d", tr, tt.code), func(t *testing.T) {
				t.Parallel()
				got := make(chan *websocket.CloseError, 1)
				fs := newFake(t, true, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
					upgrade(t, w, r, func(c *websocket.Conn) {
						if tr == WebSocket {
							c.WriteMessage(websocket.TextMessage, []byte("o"))
						}
						for {
							_, _, err := c.ReadMessage()
							var ce *websocket.CloseError
							if errors.As(err, &ce) {
								got <- ce
							}
							if err != nil {
								return
							}
						}
					})
				})
				c := dial(t, fs.url, tr, nil)
				err := c.Close(tt.code, tt.reason)
				if (err != nil) != tt.wantErr {
					t.Fatalf("Close: %v", err)
				}
				select {
				case ce := <-got:
					if ce.Code != tt.wantCode || ce.Text != tt.wantReason {
						t.Fatalf("server saw close %d %q, want %d %q", ce.Code, ce.Text, tt.wantCode, tt.wantReason)
					}
				case <-time.After(2 * time.Second):
					t.Fatal("server saw no close frame")
				}
				if err := c.Close(1000, ""); err != nil {
					t.Fatalf("second Close: %v", err)
				}
			})
		}
	}
}

// A websocket that ends with a close frame and no c frame (sockjs-node's
// "Broken framing.") reports that close.
func TestFakeWebSocketServerClose(t *testing.T) {
	fs := newFake(t, true, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		upgrade(t, w, r, func(c *websocket.Conn) {
			c.WriteMessage(websocket.TextMessage, []byte("o"))
			c.WriteMessage(websocket.TextMessage, []byte(`a["last"]`))
			c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(3000, "Broken framing."), time.Now().Add(time.Second))
			drainWS(c)
		})
	})
	ctx := testCtx(t, 5*time.Second)
	c := dial(t, fs.url, WebSocket, nil)
	if got, err := c.Recv(ctx); err != nil || got != "last" {
		t.Fatalf("Recv = %q, %v", got, err)
	}
	_, err := c.Recv(ctx)
	wantClose(t, err, 3000, "Broken framing.")
}

// Close wakes a blocked Recv and Send, and later calls return ErrClosed.
func TestFakeCloseWakesWaiters(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, tr Transport) {
		fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			switch {
			case ep == "xhr_send":
				io.ReadAll(r.Body) // so that the server notices the client going
				<-r.Context().Done()
			case n == 0 && tr == XHRPolling:
				serve(w, r, tr, false, "o")
			default:
				serve(w, r, tr, true, "o")
			}
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, tr, &Options{MaxSendQueueBytes: 10})
		if err := c.Send(ctx, "in flight"); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		go func() {
			_, err := c.Recv(ctx)
			errs <- err
		}()
		go func() { errs <- c.Send(ctx, "blocked") }()
		time.Sleep(50 * time.Millisecond)
		if err := c.Close(1000, ""); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := <-errs; !errors.Is(err, ErrClosed) {
				t.Fatalf("waiter got %v, want ErrClosed", err)
			}
		}
		if _, err := c.Recv(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv after Close: %v", err)
		}
		if err := c.Flush(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Flush after Close: %v", err)
		}
	})
}

func TestDialBadInput(t *testing.T) {
	ctx := testCtx(t, 5*time.Second)
	for _, u := range []string{"ws://localhost/echo", "localhost/echo", "http:///echo", "http://localhost/echo#x", "http://local host/"} {
		if _, err := Dial(ctx, u, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
	if _, err := Dial(ctx, "http://localhost/echo", &Options{Transports: []Transport{"jsonp-polling"}}); err == nil {
		t.Error("unknown transport accepted")
	}
	fs := newFakeWrapped(t, false, nil, func(http.Handler) http.Handler { return http.NotFoundHandler() })
	_, err := Dial(ctx, fs.url, &Options{HTTPClient: httpClient(t)})
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 404 || !strings.HasSuffix(se.URL, "/svc/info") {
		t.Fatalf("Dial without /info: %v", err)
	}
}

func TestURLs(t *testing.T) {
	base, err := parseBaseURL("https://example.com/a%2Fb/echo//?token=x")
	if err != nil {
		t.Fatal(err)
	}
	if got := addPath(base, "/info").String(); got != "https://example.com/a%2Fb/echo/info?token=x" {
		t.Errorf("info URL %s", got)
	}
	u := sessionURL(base, XHRStreaming)
	ht := newHTTPTransport(context.Background(), &config{}, u, XHRStreaming)
	if !strings.HasSuffix(ht.recvURL, "/xhr_streaming?token=x") || !strings.HasSuffix(ht.sendURL, "/xhr_send?token=x") ||
		!strings.HasPrefix(ht.sendURL, "https://example.com/a%2Fb/echo/") {
		t.Errorf("URLs %s %s", ht.recvURL, ht.sendURL)
	}
	ht.abort()
	if got := sessionURL(base, WebSocketRaw).String(); got != "https://example.com/a%2Fb/echo/websocket?token=x" {
		t.Errorf("raw websocket URL %s", got)
	}
}

func TestTransportTimeoutDefault(t *testing.T) {
	c := &config{}
	for _, tt := range []struct{ rtt, want time.Duration }{
		{0, defaultTransportTimeout},
		{time.Millisecond, 2 * time.Second},
		{200 * time.Millisecond, 1600 * time.Millisecond * 2},
	} {
		want := max(tt.want, minTransportTimeout)
		if tt.rtt == 200*time.Millisecond {
			want = 2 * 4 * 200 * time.Millisecond
			want = max(want, minTransportTimeout)
		}
		if got := c.timeoutFor(tt.rtt); got != want {
			t.Errorf("timeoutFor(%v) = %v, want %v", tt.rtt, got, want)
		}
	}
	c.transportTimeout = time.Second
	if got := c.timeoutFor(time.Hour); got != time.Second {
		t.Errorf("explicit TransportTimeout ignored: %v", got)
	}
}

// Waiting for room in the receive queue is not silence from the server:
// ReceiveTimeout must not fire while the application is slow to Recv.
func TestFakeSlowReaderIsNotATimeout(t *testing.T) {
	const total = 10
	msg := strings.Repeat("s", 1000)
	forEachHTTP(t, func(t *testing.T, tr Transport) {
		fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			switch {
			case ep != endpointOf(tr):
				http.NotFound(w, r)
			case tr == XHRPolling && n == 0:
				serve(w, r, tr, false, "o")
			case tr == XHRPolling && n <= total:
				serve(w, r, tr, false, fmt.Sprintf(`a["%d %s"]`, n, msg))
			case tr == XHRPolling:
				serve(w, r, tr, true)
			default:
				frames := []string{"o"}
				for i := 1; i <= total; i++ {
					frames = append(frames, fmt.Sprintf(`a["%d %s"]`, i, msg))
				}
				serve(w, r, tr, true, frames...)
			}
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, tr, &Options{MaxRecvQueueBytes: 3000, ReceiveTimeout: 150 * time.Millisecond})
		time.Sleep(500 * time.Millisecond)
		for i := 1; i <= total; i++ {
			got, err := c.Recv(ctx)
			if want := fmt.Sprintf("%d %s", i, msg); err != nil || got != want {
				t.Fatalf("Recv %d = %q, %v", i, short(got), err)
			}
		}
		// Now the server really is silent.
		if _, err := c.Recv(ctx); !errors.Is(err, ErrTimeout) {
			t.Fatalf("Recv: %v, want ErrTimeout", err)
		}
	})
}

// A receiving response with no frame at all (just the prelude, or an empty
// body) is broken; the client must not reopen it in a tight loop.
func TestFakeEmptyResponses(t *testing.T) {
	forEachHTTP(t, func(t *testing.T, tr Transport) {
		fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
			switch {
			case ep != endpointOf(tr):
				http.NotFound(w, r)
			case n == 0:
				serve(w, r, tr, false, "o")
			default:
				serve(w, r, tr, false, "")
			}
		})
		ctx := testCtx(t, 5*time.Second)
		c := dial(t, fs.url, tr, nil)
		_, err := c.Recv(ctx)
		if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "without a frame") {
			t.Fatalf("Recv: %v, want an ErrProtocol about an empty response", err)
		}
		if n := fs.count(endpointOf(tr)); n != 2 {
			t.Fatalf("%d receiving requests, want 2", n)
		}
	})
}

// Close with an xhr_send in flight must not break another request that
// shares the http.Client. net/http puts the connection of a response without
// a body (the 204 of xhr_send) back in its pool before the request returns;
// cancelling the request in that moment closes the connection under
// whichever request took it from the pool, and that request fails with
// "context canceled" (a POST is not retried). The soak test lost a batch
// this way when sessions closed at its stop time. The trace hook holds the
// sending connection's read loop in exactly that moment, lets a second
// connection's xhr_send take the pooled connection, and closes the first.
func TestFakeCloseSparesPooledConn(t *testing.T) {
	fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		switch ep {
		case "xhr_streaming":
			serve(w, r, XHRStreaming, true, "o")
		case "xhr_send":
			io.ReadAll(r.Body)
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	})
	ctx := testCtx(t, 10*time.Second)
	hc := httpClient(t)
	opts := &Options{Transports: []Transport{XHRStreaming}, HTTPClient: hc}

	var armB atomic.Bool
	gotB := make(chan struct{}, 1)
	bCtx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused && armB.CompareAndSwap(true, false) {
				gotB <- struct{}{}
			}
		},
	})
	b, err := Dial(bCtx, fs.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(1000, "")

	var armA atomic.Bool
	var a *Conn
	closed := make(chan error, 1)
	bFlushed := make(chan error, 1)
	aCtx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		PutIdleConn: func(err error) {
			if err != nil || !armA.CompareAndSwap(true, false) {
				return
			}
			// a's xhr_send answer is in; its connection is in the pool
			// and the request has not returned yet.
			armB.Store(true)
			if err := b.Send(ctx, "b"); err != nil {
				t.Errorf("b.Send: %v", err)
			}
			go func() { bFlushed <- b.Flush(ctx) }()
			select {
			case <-gotB:
			case <-time.After(2 * time.Second):
				t.Error("b's xhr_send did not take the pooled connection")
			}
			go func() { closed <- a.Close(1000, "") }()
			// Give a cancellation time to act (it takes microseconds).
			select {
			case err := <-bFlushed:
				bFlushed <- err
			case <-time.After(200 * time.Millisecond):
			}
		},
	})
	a, err = Dial(aCtx, fs.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	armA.Store(true)
	if err := a.Send(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("a.Close: %v", err)
	}
	if err := <-bFlushed; err != nil {
		t.Fatalf("b's xhr_send, on the connection a's send returned to the pool, failed: %v", err)
	}
}

// Close waits for an xhr_send answer that has begun to arrive (see
// TestFakeCloseSparesPooledConn), but not forever: a server that sends the
// first bytes of an answer and stalls is cut off after sendAnswerWait.
func TestFakeCloseStalledSendAnswer(t *testing.T) {
	defer func(d time.Duration) { sendAnswerWait = d }(sendAnswerWait)
	sendAnswerWait = 300 * time.Millisecond
	fs := newFake(t, false, func(w http.ResponseWriter, r *http.Request, ep string, n int) {
		switch ep {
		case "xhr_streaming":
			serve(w, r, XHRStreaming, true, "o")
		case "xhr_send":
			io.ReadAll(r.Body)
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			brw.WriteString("HTTP/1.1 204 No Content\r\n") // and no end of the headers
			brw.Flush()
			io.Copy(io.Discard, c) // until the client goes
		}
	})
	ctx := testCtx(t, 10*time.Second)
	c := dial(t, fs.url, XHRStreaming, nil)
	if err := c.Send(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	for fs.count("xhr_send") == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // for the client to read the first bytes
	start := time.Now()
	if err := c.Close(1000, ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < sendAnswerWait || d > sendAnswerWait+2*time.Second {
		t.Fatalf("Close returned after %v; want the answer waited for %v, then cut off", d, sendAnswerWait)
	}
}
