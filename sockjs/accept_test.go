package sockjs_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/client"
	"github.com/go-sockjs/sockjs/sockjs"
)

// acceptServer runs a service whose Accept refuses sessions without
// ?token=ok (4001 "no token"), refuses ?token=plain with a plain error,
// and otherwise queues "welcome" before the open frame. The session
// function echoes and counts its runs.
type acceptServer struct {
	ts         *httptest.Server
	h          *sockjs.Handler
	runs       atomic.Int32
	mu         sync.Mutex
	transports []sockjs.Transport // seen by Accept, in order
	recvErrs   []error            // Recv inside Accept
}

func newAcceptServer(t *testing.T) *acceptServer {
	a := &acceptServer{}
	a.h = sockjs.New(func(s sockjs.Session) {
		a.runs.Add(1)
		s.Send(s.Context(), "from the session function")
		for {
			m, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			s.Send(s.Context(), m)
		}
	}, &sockjs.Options{Accept: func(s sockjs.Session) error {
		_, err := s.Recv(context.Background())
		a.mu.Lock()
		a.transports = append(a.transports, s.Transport())
		a.recvErrs = append(a.recvErrs, err)
		a.mu.Unlock()
		switch s.Request().URL.Query().Get("token") {
		case "ok":
			return s.Send(context.Background(), "welcome")
		case "plain":
			return errors.New("database says no")
		}
		return &sockjs.CloseError{Code: 4001, Reason: "no token"}
	}})
	a.ts = httptest.NewServer(a.h)
	t.Cleanup(func() {
		a.ts.Close()
		a.h.Shutdown(context.Background())
	})
	return a
}

func wsURL(u string) string { return "ws" + strings.TrimPrefix(u, "http") }

// TestAcceptOverGoClient: on every transport, a refused session's Dial (or
// first Recv, on the raw websocket, which has no open frame) returns
// Accept's CloseError and the session function never runs; an accepted one
// gets what Accept queued before anything from the session function.
func TestAcceptOverGoClient(t *testing.T) {
	a := newAcceptServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tr := range []client.Transport{client.WebSocket, client.XHRStreaming, client.EventSource, client.XHRPolling, client.WebSocketRaw} {
		t.Run(string(tr), func(t *testing.T) {
			before := a.runs.Load()
			for _, q := range []struct {
				query string
				code  int
			}{{"", 4001}, {"?token=plain", sockjs.CodeRefused}} {
				c, err := client.Dial(ctx, a.ts.URL+q.query, &client.Options{Transports: []client.Transport{tr}})
				if err == nil {
					_, err = c.Recv(ctx)
					c.Close(1000, "")
				}
				var ce *sockjs.CloseError
				if !errors.As(err, &ce) || ce.Code != q.code {
					t.Fatalf("refused dial%s: %v, want close %d", q.query, err, q.code)
				}
				if !errors.Is(err, sockjs.ErrClosed) {
					t.Errorf("errors.Is(%v, ErrClosed) = false", err)
				}
			}
			c, err := client.Dial(ctx, a.ts.URL+"?token=ok", &client.Options{Transports: []client.Transport{tr}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(1000, "")
			for _, want := range []string{"welcome", "from the session function"} {
				if m, err := c.Recv(ctx); m != want || err != nil {
					t.Fatalf("Recv = %q, %v; want %q", m, err, want)
				}
			}
			if got := a.runs.Load() - before; got != 1 {
				t.Errorf("session function ran %d times, want 1 (refused sessions must not run it)", got)
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			if got := a.transports[len(a.transports)-1]; string(got) != string(tr) {
				t.Errorf("Transport() in Accept = %q, want %q", got, tr)
			}
			for _, err := range a.recvErrs {
				if !errors.Is(err, sockjs.ErrNotOpen) {
					t.Errorf("Recv in Accept = %v, want ErrNotOpen", err)
				}
			}
		})
	}
}

// TestAcceptOnTheWire: the close frame replaces the open frame exactly, on
// xhr polling and on a framed websocket; an accepted xhr session's second
// poll carries the welcome queued in Accept.
func TestAcceptOnTheWire(t *testing.T) {
	a := newAcceptServer(t)
	poll := func(path string) string {
		res, err := http.Post(a.ts.URL+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if got := poll("/0/refused/xhr"); got != "c[4001,\"no token\"]\n" {
		t.Errorf("refused first poll = %q", got)
	}
	if got := poll("/0/refused/xhr"); got != "c[4001,\"no token\"]\n" {
		t.Errorf("refused second poll = %q", got)
	}
	if got := poll("/0/ok/xhr?token=ok"); got != "o\n" {
		t.Errorf("accepted first poll = %q", got)
	}
	if got := poll("/0/ok/xhr?token=ok"); !strings.HasPrefix(got, `a["welcome"`) {
		t.Errorf("accepted second poll = %q, want the welcome first", got)
	}

	c, _, err := websocket.DefaultDialer.Dial(wsURL(a.ts.URL)+"/0/refused/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, err := c.ReadMessage(); string(m) != `c[4001,"no token"]` || err != nil {
		t.Errorf("refused websocket's first message = %q, %v", m, err)
	}
	if _, _, err := c.ReadMessage(); err == nil {
		t.Error("refused websocket stays open")
	}
	if n := a.runs.Load(); n != 1 {
		t.Errorf("session function ran %d times, want 1", n)
	}
}

// TestCheckOrigin: the function decides for origins the list does not
// allow, on CORS requests, websocket upgrades and the iframe page (where
// it sees the Referer's origin as Origin); it is not asked about
// same-origin requests, listed origins or requests without an origin.
func TestCheckOrigin(t *testing.T) {
	var asked atomic.Int32
	h := sockjs.New(func(s sockjs.Session) {}, &sockjs.Options{
		AllowedOrigins: []string{"https://listed.example"},
		CheckOrigin: func(r *http.Request) bool {
			asked.Add(1)
			return r.Header.Get("Origin") == "https://tenant.example"
		},
	})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	do := func(method, path string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for _, tt := range []struct {
		method, path string
		hdr          map[string]string
		status       int
		asked        bool
	}{
		{"GET", "/info", map[string]string{"Origin": "https://tenant.example"}, 200, true},
		{"GET", "/info", map[string]string{"Origin": "https://evil.example"}, 403, true},
		{"OPTIONS", "/0/0/xhr", map[string]string{"Origin": "https://tenant.example"}, 204, true},
		{"OPTIONS", "/0/0/xhr", map[string]string{"Origin": "https://evil.example"}, 403, true},
		{"POST", "/0/1/xhr", map[string]string{"Origin": "https://evil.example"}, 403, true},
		{"GET", "/iframe.html", map[string]string{"Referer": "https://tenant.example/page"}, 200, true},
		{"GET", "/iframe.html", map[string]string{"Referer": "https://evil.example/page"}, 403, true},
		{"GET", "/info", map[string]string{"Origin": "https://listed.example"}, 200, false},
		{"GET", "/info", map[string]string{"Origin": ts.URL}, 200, false},
		{"GET", "/info", nil, 200, false},
	} {
		asked.Store(0)
		res := do(tt.method, tt.path, tt.hdr)
		if res.StatusCode != tt.status || (asked.Load() > 0) != tt.asked {
			t.Errorf("%s %s %v: %d, asked %d times; want %d, asked: %v", tt.method, tt.path, tt.hdr, res.StatusCode, asked.Load(), tt.status, tt.asked)
		}
		if res.StatusCode == 200 && tt.hdr["Origin"] != "" && res.Header.Get("Access-Control-Allow-Origin") != tt.hdr["Origin"] {
			t.Errorf("%s %s: Access-Control-Allow-Origin %q", tt.method, tt.path, res.Header.Get("Access-Control-Allow-Origin"))
		}
		if tt.path == "/iframe.html" && res.Header.Get("Content-Security-Policy") != "" {
			t.Errorf("iframe page with CheckOrigin has a CSP that cannot list its origins: %q", res.Header.Get("Content-Security-Policy"))
		}
	}
	for _, tt := range []struct {
		origin string
		ok     bool
	}{{"https://tenant.example", true}, {"https://evil.example", false}} {
		for _, path := range []string{"/0/0/websocket", "/websocket"} {
			c, res, err := websocket.DefaultDialer.Dial(wsURL(ts.URL)+path, http.Header{"Origin": {tt.origin}})
			if tt.ok != (err == nil) {
				t.Errorf("websocket %s from %s: %v", path, tt.origin, err)
			}
			if err == nil {
				c.Close()
			} else if res == nil || res.StatusCode != 403 {
				t.Errorf("websocket %s from %s: %v, want 403", path, tt.origin, res)
			}
		}
	}
}

// TestJSessionCookie: the template's name and attributes reach every
// Set-Cookie, with the request's value echoed; setting it turns
// CookieNeeded on.
func TestJSessionCookie(t *testing.T) {
	h := sockjs.New(func(s sockjs.Session) {}, &sockjs.Options{JSessionCookie: &http.Cookie{
		Name: "LB", Domain: "example.com", MaxAge: 60, Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode,
	}})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	if _, body := get(t, ts.URL+"/info"); !strings.Contains(body, `"cookie_needed":true`) {
		t.Errorf("/info = %s", body)
	}
	for _, tt := range []struct{ cookie, want string }{
		{"", "LB=dummy; Path=/; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=None"},
		{"LB=node7", "LB=node7; Path=/; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=None"},
		{"JSESSIONID=other", "LB=dummy; Path=/; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=None"},
	} {
		req, _ := http.NewRequest("POST", ts.URL+"/0/c"+tt.cookie+"/xhr", nil)
		if tt.cookie != "" {
			req.Header.Set("Cookie", tt.cookie)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != tt.want {
			t.Errorf("cookie %q: Set-Cookie %q, want %q", tt.cookie, got, tt.want)
		}
	}

	for name, c := range map[string]*http.Cookie{
		"SameSite=None without Secure": {SameSite: http.SameSiteNoneMode},
		"bad name":                     {Name: "a b"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New accepted a cookie template with %s", name)
				}
			}()
			sockjs.New(func(sockjs.Session) {}, &sockjs.Options{JSessionCookie: c})
		}()
	}
}

// TestMountHint: mounted the igm way (prefix not stripped), every URL
// answers 404 with a body that says how to mount; URLs that are not a
// SockJS URL below any prefix get the plain 404.
func TestMountHint(t *testing.T) {
	h := sockjs.New(func(sockjs.Session) {}, nil)
	defer h.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("/api/chat/", h)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	for _, path := range []string{"/api/chat/info", "/api/chat/", "/api/chat/0/abc/xhr_streaming", "/api/chat/0/abc/websocket"} {
		status, body := get(t, ts.URL+path)
		if status != 404 || !strings.Contains(body, `sockjs.Mount(mux, "/api/chat", h)`) ||
			!strings.Contains(body, `mux.Handle("/api/chat/", http.StripPrefix("/api/chat", h))`) {
			t.Errorf("GET %s = %d %q, want 404 with the mount hint", path, status, body)
		}
	}
	for _, path := range []string{"/api/chat/x.y", "/api/chat/0/0/nosuch"} {
		status, body := get(t, ts.URL+path)
		if status != 404 || body != "404 page not found\n" {
			t.Errorf("GET %s = %d %q, want the plain 404", path, status, body)
		}
	}
}

// readLine reads one line from a streaming body.
func readLine(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	l, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestAcceptHoldsOtherRequests: while Accept runs, another receiving
// request for the session gets nothing (no open frame behind Accept's
// back); once Accept refuses, both get the close frame, and what Accept
// had queued is dropped.
func TestAcceptHoldsOtherRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := sockjs.New(func(s sockjs.Session) { t.Error("the session function ran") }, &sockjs.Options{
		Accept: func(s sockjs.Session) error {
			s.Send(context.Background(), "queued before refusing")
			close(entered)
			<-release
			return &sockjs.CloseError{Code: 4002, Reason: "late"}
		},
	})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before Shutdown, which waits for Accept
	poll := func(out chan<- string) {
		res, err := http.Post(ts.URL+"/0/held/xhr", "text/plain", nil)
		if err != nil {
			out <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		out <- string(b)
	}
	first, second := make(chan string, 1), make(chan string, 1)
	go poll(first)
	<-entered
	go poll(second)
	select {
	case got := <-second:
		t.Fatalf("a second poll was answered %q while Accept ran", got)
	case <-time.After(300 * time.Millisecond):
	}
	unblock()
	for _, ch := range []chan string{first, second} {
		if got := <-ch; got != "c[4002,\"late\"]\n" {
			t.Errorf("poll = %q, want the refusal", got)
		}
	}
}

// TestAcceptPanics: a panic in Accept refuses the session with 1011 on
// every transport, is logged, and leaves nothing behind: Shutdown returns
// at once and the session count goes back to zero.
func TestAcceptPanics(t *testing.T) {
	var logs lockedBuffer
	h := sockjs.New(func(s sockjs.Session) { t.Error("the session function ran") }, &sockjs.Options{
		Accept: func(s sockjs.Session) error { panic("boom") },
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	ts := httptest.NewServer(h)
	defer ts.Close()
	res, err := http.Post(ts.URL+"/0/p/xhr", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "c[1011,\"Internal server error\"]\n" {
		t.Errorf("xhr = %q", b)
	}
	for _, path := range []string{"/0/p/websocket", "/websocket"} {
		c, _, err := websocket.DefaultDialer.Dial(wsURL(ts.URL)+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, m, err := c.ReadMessage()
		if path == "/0/p/websocket" {
			if string(m) != `c[1011,"Internal server error"]` {
				t.Errorf("%s: first message %q, %v", path, m, err)
			}
			if _, _, err = c.ReadMessage(); err == nil {
				t.Errorf("%s: open after the close frame", path)
			}
		} else if !websocket.IsCloseError(err, 1011) {
			t.Errorf("%s: %v, want a 1011 close", path, err)
		}
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !strings.Contains(logs.String(), "panic in Options.Accept") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("logs: %s", logs.String())
	}
}
