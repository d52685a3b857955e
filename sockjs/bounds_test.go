package sockjs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/sockjs"
)

// messages returns a JSON array of n copies of item.
func messages(item string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMessagesPerBody: one body or framed websocket message carries at most
// MaxMessageBytes/MessageOverhead messages, however small they are.
func TestMessagesPerBody(t *testing.T) {
	const maxBytes = 64 << 10
	const limit = maxBytes / sockjs.MessageOverhead
	h := sockjs.New(func(s sockjs.Session) {
		for {
			if _, err := s.Recv(s.Context()); err != nil {
				return
			}
		}
	}, &sockjs.Options{MaxMessageBytes: maxBytes, MaxQueuedBytes: 1 << 30})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	post(t, ts.URL+"/0/a/xhr", "")
	if code, _ := post(t, ts.URL+"/0/a/xhr_send", messages(`""`, limit)); code != 204 {
		t.Fatalf("%d empty messages: %d, want 204", limit, code)
	}
	for _, item := range []string{`""`, `"x"`} {
		if code, body := post(t, ts.URL+"/0/a/xhr_send", messages(item, limit+1)); code != 413 {
			t.Fatalf("%d messages %s: %d %q, want 413", limit+1, item, code, body)
		}
	}
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/w/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.ReadMessage() // o
	c.WriteMessage(websocket.TextMessage, []byte(messages(`""`, limit+1)))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("websocket message of %d messages: %v, want close 1009", limit+1, err)
	}
}

// TestParkedSenders: sends to a session whose application does not read
// take turns with their bodies unread; more than 8 waiting are refused
// with 503, and those still waiting when the session expires are answered
// 404, not 204: their messages were dropped.
func TestParkedSenders(t *testing.T) {
	h := sockjs.New(func(s sockjs.Session) { <-s.Context().Done() },
		&sockjs.Options{MaxQueuedBytes: 1024, DisconnectDelay: 500 * time.Millisecond})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	post(t, ts.URL+"/0/p/xhr", "")
	if code, _ := post(t, ts.URL+"/0/p/xhr_send", `["`+strings.Repeat("x", 2000)+`"]`); code != 204 {
		t.Fatalf("first send into an empty queue: %d", code)
	}
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Post(ts.URL+"/0/p/xhr_send", "text/plain", strings.NewReader(`["y"]`))
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			mu.Lock()
			codes[res.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[503] != 2 || codes[404] != 8 {
		t.Fatalf("10 sends to a full, expiring session answered %v; want 2×503 and 8×404", codes)
	}
}

// TestSendCutOnClose: a body still trickling in when its session closes is
// not waited for; the send is answered 404 at once.
func TestSendCutOnClose(t *testing.T) {
	closeNow := make(chan struct{})
	h := sockjs.New(func(s sockjs.Session) {
		<-closeNow
		s.Close(3000, "bye")
	}, &sockjs.Options{WriteTimeout: 10 * time.Second})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	post(t, ts.URL+"/0/s/xhr", "")
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /0/s/xhr_send HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[\"")
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	close(closeNow)
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if d := time.Since(start); d > 2*time.Second || res.StatusCode != 404 {
		t.Fatalf("send cut by its session's close: %d after %v, want 404 at once", res.StatusCode, d)
	}
}

// TestLongIDs: server and session ids longer than MaxIDLength are answered
// 404 on every transport; a request over MaxRequestBytes opens no session.
func TestLongIDs(t *testing.T) {
	h := sockjs.New(func(s sockjs.Session) { <-s.Context().Done() }, &sockjs.Options{AllowedOrigins: []string{"*"}})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	ok, long := strings.Repeat("i", sockjs.MaxIDLength), strings.Repeat("i", sockjs.MaxIDLength+1)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/0/" + ok + "/xhr", 200},
		{"POST", "/" + ok + "/x/xhr", 200},
		{"POST", "/0/" + long + "/xhr", 404},
		{"POST", "/" + long + "/y/xhr", 404},
		{"POST", "/0/" + long + "/xhr_streaming", 404},
		{"POST", "/0/" + long + "/xhr_send", 404},
		{"GET", "/0/" + long + "/eventsource", 404},
		{"GET", "/0/" + long + "/htmlfile?c=x", 404},
		{"GET", "/0/" + long + "/jsonp?c=x", 404},
		{"POST", "/0/" + long + "/jsonp_send", 404},
		{"POST", "/0/q/xhr?" + strings.Repeat("q", sockjs.DefaultMaxRequestBytes), 431},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(`["x"]`))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s %.40s...: %d, want %d", c.method, c.path, res.StatusCode, c.want)
		}
	}
	ws := "ws" + strings.TrimPrefix(ts.URL, "http")
	if _, res, err := websocket.DefaultDialer.Dial(ws+"/0/"+long+"/websocket", nil); err == nil || res == nil || res.StatusCode != 404 {
		t.Errorf("websocket with a long id: %v, want 404", err)
	}
	hdr := http.Header{"X-Big": {strings.Repeat("b", sockjs.DefaultMaxRequestBytes)}}
	if _, res, err := websocket.DefaultDialer.Dial(ws+"/0/w/websocket", hdr); err == nil || res == nil || res.StatusCode != 431 {
		t.Errorf("websocket with big headers: %v, want 431", err)
	}
	if n := h.Sessions(); n != 2 {
		t.Errorf("%d sessions open, want 2", n)
	}
}

// TestSessionPanic: a panicking session function closes its session with
// CodeInternalError, logs the panic with its stack, and harms nobody else.
func TestSessionPanic(t *testing.T) {
	var logs lockedBuffer
	h := sockjs.New(func(s sockjs.Session) {
		for {
			m, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			if m == "boom" {
				panic("boom from the application")
			}
			s.Send(s.Context(), m)
		}
	}, &sockjs.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	ws := "ws" + strings.TrimPrefix(ts.URL, "http")
	framed, _, err := websocket.DefaultDialer.Dial(ws+"/0/a/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer framed.Close()
	framed.ReadMessage() // o
	framed.WriteMessage(websocket.TextMessage, []byte(`["boom"]`))
	framed.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, _ := framed.ReadMessage(); string(m) != `c[1011,"Internal server error"]` {
		t.Fatalf("framed websocket got %q, want the 1011 close frame", m)
	}
	raw, _, err := websocket.DefaultDialer.Dial(ws+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.WriteMessage(websocket.TextMessage, []byte("boom"))
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := raw.ReadMessage(); !websocket.IsCloseError(err, sockjs.CodeInternalError) {
		t.Fatalf("raw websocket: %v, want close 1011", err)
	}
	post(t, ts.URL+"/0/x/xhr", "")
	post(t, ts.URL+"/0/x/xhr_send", `["hello"]`)
	if code, body := post(t, ts.URL+"/0/x/xhr", ""); code != 200 || body != "a[\"hello\"]\n" {
		t.Fatalf("another session after the panics: %d %q", code, body)
	}
	if l := logs.String(); strings.Count(l, "boom from the application") != 2 || !strings.Contains(l, "goroutine") {
		t.Fatalf("panics not logged with their stacks: %s", l)
	}
}

// TestOptionsValidation: New refuses negative durations, sizes and counts
// and unknown transports, naming the field.
func TestOptionsValidation(t *testing.T) {
	for _, c := range []struct {
		field string
		opts  sockjs.Options
	}{
		{"HeartbeatDelay", sockjs.Options{HeartbeatDelay: -time.Second}},
		{"DisconnectDelay", sockjs.Options{DisconnectDelay: -1}},
		{"WriteTimeout", sockjs.Options{WriteTimeout: -1}},
		{"PongTimeout", sockjs.Options{PongTimeout: -1}},
		{"ResponseLimit", sockjs.Options{ResponseLimit: -1}},
		{"MaxMessageBytes", sockjs.Options{MaxMessageBytes: -1}},
		{"MaxQueuedBytes", sockjs.Options{MaxQueuedBytes: -1}},
		{"MaxSessions", sockjs.Options{MaxSessions: -1}},
		{"MaxSessionsPerClient", sockjs.Options{MaxSessionsPerClient: -1}},
		{"MaxRequestBytes", sockjs.Options{MaxRequestBytes: -1}},
		{"WebsocketReadBufferSize", sockjs.Options{WebsocketReadBufferSize: -1}},
		{"WebsocketWriteBufferSize", sockjs.Options{WebsocketWriteBufferSize: -1}},
		{"DisabledTransports", sockjs.Options{DisabledTransports: []sockjs.Transport{"xhr"}}},
	} {
		t.Run(c.field, func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil || !strings.Contains(fmt.Sprint(p), "Options."+c.field+" ") {
					t.Fatalf("New panicked with %v, want a message naming Options.%s", p, c.field)
				}
			}()
			h := sockjs.New(func(sockjs.Session) {}, &c.opts)
			h.Shutdown(context.Background())
		})
	}
	// Huge values are fine (the liveness bound saturates).
	h := sockjs.New(func(sockjs.Session) {}, &sockjs.Options{HeartbeatDelay: 1<<63 - 1, PongTimeout: 1<<63 - 1})
	h.Shutdown(context.Background())
}
