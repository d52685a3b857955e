package sockjs_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/go-sockjs/sockjs/sockjs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestMount(t *testing.T) {
	h := sockjs.New(func(sockjs.Session) {}, nil)
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/echo", h)
	mux.HandleFunc("/other", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) })
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/echo", 200, "Welcome to SockJS!\n"}, // not a redirect
		{"/echo/", 200, "Welcome to SockJS!\n"},
		{"/echo/info", 200, `"origins":["*:*"]`},
		{"/echo/a/a", 404, ""},
		{"/other", 200, "other"},
	} {
		status, body := get(t, ts.URL+tt.path)
		if status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s = %d %q, want %d with %q", tt.path, status, body, tt.status, tt.body)
		}
	}
}

// TestMountPrefixes: prefixes that need escaping, and what a session sees
// of its request: the URL as the client sent it, prefix included.
func TestMountPrefixes(t *testing.T) {
	paths := make(chan string, 1)
	h := sockjs.New(func(s sockjs.Session) { paths <- s.Request().URL.Path }, nil)
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/café/", h)
	sockjs.Mount(mux, "/chat", h)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/caf%C3%A9", 200, "Welcome to SockJS!\n"},
		{"/caf%C3%A9/info", 200, `"origins":["*:*"]`},
		{"/caf%C3%A9/a/a", 404, "404"},
		{"/chat/info", 200, `"origins":["*:*"]`},
		{"/chat/info/", 404, "404"},
		{"/chat/%69nfo", 404, "404"}, // escaped: not the info URL, as with http.StripPrefix
	} {
		status, body := get(t, ts.URL+tt.path)
		if status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s = %d %q, want %d with %q", tt.path, status, body, tt.status, tt.body)
		}
	}
	res, err := http.Post(ts.URL+"/chat/000/abc/xhr", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := <-paths; got != "/chat/000/abc/xhr" {
		t.Fatalf("the session's request has path %q, want the URL as sent", got)
	}
}

// TestMountRoot: a handler mounted at the root serves the whole tree
// beside the mux's other patterns.
func TestMountRoot(t *testing.T) {
	for _, prefix := range []string{"/", ""} {
		h := sockjs.New(func(sockjs.Session) {}, nil)
		mux := http.NewServeMux()
		sockjs.Mount(mux, prefix, h)
		mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
		ts := httptest.NewServer(mux)
		for _, tt := range []struct {
			path   string
			status int
			body   string
		}{
			{"/", 200, "Welcome to SockJS!\n"},
			{"/info", 200, `"origins":["*:*"]`},
			{"/000/abc/xhr_streaming", 405, ""}, // GET: the route exists
			{"/health", 200, "ok"},
			{"/a/b/c/d", 404, "404"},
		} {
			status, body := get(t, ts.URL+tt.path)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("Mount(%q): GET %s = %d %q, want %d with %q", prefix, tt.path, status, body, tt.status, tt.body)
			}
		}
		ts.Close()
		h.Shutdown(context.Background())
	}
}

func TestOptionsZeroValueAndCopy(t *testing.T) {
	opts := &sockjs.Options{AllowedOrigins: []string{"*"}}
	h := sockjs.New(func(sockjs.Session) {}, opts)
	opts.AllowedOrigins[0] = "https://only.example" // must not affect h
	opts.DisabledTransports = []sockjs.Transport{sockjs.Websocket}
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	req, _ := http.NewRequest("GET", ts.URL+"/info", nil)
	req.Header.Set("Origin", "https://elsewhere.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"websocket":true`) {
		t.Fatalf("changing Options after New changed the handler: %d %s", res.StatusCode, b)
	}

	defer func() {
		if recover() == nil {
			t.Error("New with a malformed origin did not panic")
		}
	}()
	sockjs.New(func(sockjs.Session) {}, &sockjs.Options{AllowedOrigins: []string{"http://a b/"}})
}

// TestShutdown: every session gets a close frame, every handler returns,
// Shutdown returns within its context, and no goroutine is left.
func TestShutdown(t *testing.T) {
	var mu sync.Mutex
	var closes []error
	h := sockjs.New(func(s sockjs.Session) {
		_, err := s.Recv(context.Background())
		mu.Lock()
		closes = append(closes, err)
		mu.Unlock()
	}, nil)
	ts := httptest.NewServer(h)
	defer ts.Close()
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http")

	var conns []*websocket.Conn
	for i := 0; i < 3; i++ {
		c, _, err := websocket.DefaultDialer.Dial(wsURL+"/0/ws/websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, m, _ := c.ReadMessage(); string(m) != "o" {
			t.Fatalf("open frame %q", m)
		}
		conns = append(conns, c)
	}
	// An xhr-streaming receiver, held open.
	res, err := http.Post(ts.URL+"/0/stream/xhr_streaming", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	streamed := make(chan string)
	go func() {
		b, _ := io.ReadAll(res.Body)
		streamed <- string(b)
	}()
	for h.Sessions() != 4 {
		time.Sleep(5 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range conns {
		_, m, err := c.ReadMessage()
		if string(m) != `c[1001,"Going away"]` {
			t.Errorf("websocket got %q, %v; want the close frame", m, err)
		}
	}
	if s := <-streamed; !strings.HasSuffix(s, "o\nc[1001,\"Going away\"]\n") {
		t.Errorf("stream ended with %q", s[len(s)-min(len(s), 40):])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(closes) != 4 {
		t.Fatalf("%d handlers returned, want 4", len(closes))
	}
	for _, err := range closes {
		var ce *sockjs.CloseError
		if !errors.As(err, &ce) || ce.Code != sockjs.CodeGoingAway || !errors.Is(err, sockjs.ErrClosed) {
			t.Errorf("handler saw %v, want CloseError 1001", err)
		}
	}
	if status, _ := get(t, ts.URL+"/0/new/xhr"); status != 405 {
		t.Errorf("GET xhr = %d", status)
	}
	r2, _ := http.Post(ts.URL+"/0/new/xhr", "text/plain", nil)
	r2.Body.Close()
	if r2.StatusCode != 503 {
		t.Errorf("new session after Shutdown = %d, want 503", r2.StatusCode)
	}
}

// TestShutdownDeadline: a handler that never returns makes Shutdown return
// ctx.Err().
func TestShutdownDeadline(t *testing.T) {
	release := make(chan struct{})
	h := sockjs.New(func(s sockjs.Session) { <-release }, nil)
	ts := httptest.NewServer(h)
	defer ts.Close()
	res, _ := http.Post(ts.URL+"/0/x/xhr", "text/plain", nil)
	res.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
}

func TestBindSessionAndPerClientCap(t *testing.T) {
	h := sockjs.New(func(s sockjs.Session) { <-s.Context().Done() }, &sockjs.Options{
		BindSession:          sockjs.CookieValue("login"),
		MaxSessionsPerClient: 2,
		ClientKey:            sockjs.CookieValue("login"),
	})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	post := func(path, login, body string) int {
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
		req.AddCookie(&http.Cookie{Name: "login", Value: login})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if c := post("/0/s1/xhr", "alice", ""); c != 200 {
		t.Fatalf("open: %d", c)
	}
	if c := post("/0/s1/xhr_send", "mallory", `["x"]`); c != 404 {
		t.Errorf("send from another login = %d, want 404", c)
	}
	if c := post("/0/s1/xhr_send", "alice", `["x"]`); c != 204 {
		t.Errorf("send from the owner = %d, want 204", c)
	}
	if c := post("/0/s2/xhr", "alice", ""); c != 200 {
		t.Errorf("second session: %d", c)
	}
	if c := post("/0/s3/xhr", "alice", ""); c != 503 {
		t.Errorf("third session of one client = %d, want 503", c)
	}
	if c := post("/0/s3/xhr", "bob", ""); c != 200 {
		t.Errorf("another client's session = %d, want 200", c)
	}
}

type countingMetrics struct {
	mu                       sync.Mutex
	opened, closed           map[string]int
	codes                    map[int]int
	framesOut, bytesOut      int
	msgsIn, bytesIn, dropped int
}

func (m *countingMetrics) SessionOpened(tr string) { m.mu.Lock(); m.opened[tr]++; m.mu.Unlock() }
func (m *countingMetrics) SessionClosed(tr string, code int) {
	m.mu.Lock()
	m.closed[tr]++
	m.codes[code]++
	m.mu.Unlock()
}
func (m *countingMetrics) FramesSent(_ string, f, b int) {
	m.mu.Lock()
	m.framesOut += f
	m.bytesOut += b
	m.mu.Unlock()
}
func (m *countingMetrics) MessagesReceived(_ string, n, b int) {
	m.mu.Lock()
	m.msgsIn += n
	m.bytesIn += b
	m.mu.Unlock()
}
func (m *countingMetrics) SendDropped(string) { m.mu.Lock(); m.dropped++; m.mu.Unlock() }

// TestBroadcastAndMetrics: a session that does not read is closed with
// CodeTooSlow by Broadcast while the others get every message, and the
// metrics hooks see it all.
func TestBroadcastAndMetrics(t *testing.T) {
	m := &countingMetrics{opened: map[string]int{}, closed: map[string]int{}, codes: map[int]int{}}
	sessions := make(chan sockjs.Session, 10)
	h := sockjs.New(func(s sockjs.Session) {
		sessions <- s
		<-s.Context().Done()
	}, &sockjs.Options{Metrics: m, MaxQueuedBytes: 1000})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http")
	fast, _, err := websocket.DefaultDialer.Dial(wsURL+"/0/fast/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	fast.ReadMessage() // o
	// The slow session: opened by xhr polling, never polled again.
	res, _ := http.Post(ts.URL+"/0/slow/xhr", "text/plain", nil)
	res.Body.Close()
	all := []sockjs.Session{<-sessions, <-sessions}

	got := make(chan int)
	go func() {
		n := 0
		for n < 20*10 {
			_, b, err := fast.ReadMessage()
			if err != nil {
				break
			}
			n += strings.Count(string(b), "0123456789")
		}
		got <- n
	}()
	for i := 0; i < 20; i++ {
		sockjs.Broadcast(strings.Repeat("0123456789", 10), all...)
		time.Sleep(2 * time.Millisecond)
	}
	if n := <-got; n != 200 {
		t.Fatalf("the reading client got %d/200 chunks", n)
	}
	var slow sockjs.Session
	for _, s := range all {
		if s.ID() == "slow" {
			slow = s
		}
	}
	var ce *sockjs.CloseError
	if _, err := slow.Recv(context.Background()); !errors.As(err, &ce) || ce.Code != sockjs.CodeTooSlow {
		t.Fatalf("slow session: %v, want CodeTooSlow", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.opened["websocket"] != 1 || m.opened["xhr-polling"] != 1 || m.codes[sockjs.CodeTooSlow] != 1 || m.dropped < 1 || m.framesOut < 2 {
		t.Fatalf("metrics: %+v", m)
	}
}
