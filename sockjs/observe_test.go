package sockjs_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/sockjs"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogs: session ids appear at debug level only, with the transport.
func TestLogs(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf lockedBuffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
		h := sockjs.New(func(s sockjs.Session) { s.Close(3000, "bye") }, &sockjs.Options{Logger: log})
		ts := httptest.NewServer(h)
		for _, id := range []string{"secret-id-1", "secret-id-2"} {
			res, err := http.Post(ts.URL+"/0/"+id+"/xhr", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		h.Shutdown(context.Background())
		ts.Close()
		out := buf.String()
		switch level {
		case slog.LevelInfo:
			if strings.Contains(out, "secret-id") {
				t.Errorf("session id logged at info level: %s", out)
			}
		case slog.LevelDebug:
			if !strings.Contains(out, "session=secret-id-1") || !strings.Contains(out, "transport=xhr-polling") || !strings.Contains(out, "code=3000") {
				t.Errorf("debug log lacks session, transport or code: %s", out)
			}
		}
	}
}

// TestCloseOnce: however a session ends (the application closes it many
// times at once, the client goes away, shutdown), the close is recorded
// exactly once, and the application's Recv keeps returning that one close.
func TestCloseOnce(t *testing.T) {
	m := &countingMetrics{opened: map[string]int{}, closed: map[string]int{}, codes: map[int]int{}}
	var mu sync.Mutex
	seen := map[string]*sockjs.CloseError{}
	h := sockjs.New(func(s sockjs.Session) {
		if strings.HasPrefix(s.ID(), "racer") {
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); s.Close(3000+i, "racing") }()
			}
			wg.Wait()
		}
		_, err := s.Recv(context.Background())
		_, err2 := s.Recv(context.Background())
		var ce, ce2 *sockjs.CloseError
		errors.As(err, &ce)
		errors.As(err2, &ce2)
		if ce == nil || ce2 == nil || *ce != *ce2 {
			t.Errorf("Recv gave %v then %v", err, err2)
		}
		mu.Lock()
		seen[s.ID()] = ce
		mu.Unlock()
	}, &sockjs.Options{Metrics: m})
	ts := httptest.NewServer(h)
	defer ts.Close()
	for i := 0; i < 5; i++ {
		res, _ := http.Post(ts.URL+"/0/racer"+string(rune('a'+i))+"/xhr", "", nil)
		res.Body.Close()
	}
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/gone/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.ReadMessage()
	c.Close() // the client goes away
	res, _ := http.Post(ts.URL+"/0/shut/xhr", "", nil)
	res.Body.Close()
	time.Sleep(100 * time.Millisecond)
	h.Shutdown(context.Background())

	m.mu.Lock()
	defer m.mu.Unlock()
	total := 0
	for _, n := range m.closed {
		total += n
	}
	if total != 7 || m.opened["xhr-polling"] != 6 || m.opened["websocket"] != 1 {
		t.Fatalf("7 sessions: %d closes recorded, opened %v", total, m.opened)
	}
	if seen["gone"] == nil || seen["shut"] == nil || seen["shut"].Code != sockjs.CodeGoingAway {
		t.Errorf("closes seen: gone=%v shut=%v", seen["gone"], seen["shut"])
	}
}
