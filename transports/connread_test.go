package transports

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/session"
)

// appServer serves app with the defaults that let Recv read the connection
// itself (ReadBufferSize 0: pooled reads).
func appServer(t *testing.T, app func(*session.Session)) string {
	t.Helper()
	return appServerQueue(t, 1<<20, app)
}

// appServerQueue is appServer with queues of maxQueued bytes.
func appServerQueue(t *testing.T, maxQueued int, app func(*session.Session)) string {
	t.Helper()
	policy, err := NewOriginPolicy(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	table := session.NewTable(session.Config{
		HeartbeatDelay:  time.Minute,
		DisconnectDelay: time.Second,
		AttachWait:      50 * time.Millisecond,
		MaxQueuedBytes:  maxQueued,
		MaxSessions:     100,
	}, app)
	ts := httptest.NewServer(NewServer(Config{ResponseLimit: 4096, MaxMessageBytes: 1 << 16,
		WriteTimeout: 5 * time.Second, Origins: policy, CloseWait: time.Second,
		LivenessTimeout: time.Minute}, table))
	shutdownAtCleanup(t, table, ts)
	return "ws" + strings.TrimPrefix(ts.URL, "http")
}

func dialWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	expectWS(t, c, "o")
	return c
}

func expectWS(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, m, err := c.ReadMessage()
	if err != nil || string(m) != want {
		t.Fatalf("read %q, %v; want %q", m, err, want)
	}
}

// goroutinesIn counts the goroutines whose stack holds a call of fn (a
// function or method expression, so that a rename breaks the build).
func goroutinesIn(fn any) int {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	buf := make([]byte, 4<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, name+"(") {
			n++
		}
	}
	return n
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not true after 5 s: %s", what)
		}
	}
}

func echoApp(s *session.Session) {
	for {
		m, err := s.Recv(s.Context())
		if err != nil {
			return
		}
		s.Send(s.Context(), m)
	}
}

// TestRecvReadsConnection: sessions whose application waits in Recv have no
// goroutine of their own besides the application's once they are idle: no
// background reader, no writer.
func TestRecvReadsConnection(t *testing.T) {
	url := appServer(t, echoApp)
	const n = 10
	for i := range n {
		c := dialWS(t, fmt.Sprintf("%s/0/idle%d/websocket", url, i))
		for j := range 3 {
			msg := fmt.Sprintf("m%d.%d", i, j)
			c.WriteMessage(websocket.TextMessage, []byte(`["`+msg+`"]`))
			expectWS(t, c, `a["`+msg+`"]`)
		}
	}
	eventually(t, "writers retired", func() bool { return goroutinesIn((*connWriter).run) == 0 })
	// The echo is written inline by the application's goroutine: the
	// client may read it before that goroutine is back in Recv.
	eventually(t, fmt.Sprintf("%d Recv callers reading", n), func() bool { return goroutinesIn((*connReader).Pull) == n })
	if got := goroutinesIn((*connReader).background); got != 0 {
		t.Errorf("%d background readers for %d sessions waiting in Recv; want 0", got, n)
	}
}

// TestNoRecvStillReads: an application that never calls Recv still learns
// of its client's close, through the background reader.
func TestNoRecvStillReads(t *testing.T) {
	done := make(chan error, 1)
	url := appServer(t, func(s *session.Session) {
		<-s.Context().Done()
		done <- s.Err()
	})
	c := dialWS(t, url+"/0/norecv/websocket")
	eventually(t, "a background reader", func() bool { return goroutinesIn((*connReader).background) == 1 })
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"))
	select {
	case err := <-done:
		var ce *session.CloseError
		if !errors.As(err, &ce) || ce.Code != 4000 {
			t.Errorf("session closed with %v; want the client's 4000", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session did not notice its client's close")
	}
}

// TestRecvTakesOver: messages delivered by the background reader before the
// application calls Recv, and those read by Recv afterwards, arrive once
// each and in order; then the background reader is gone.
func TestRecvTakesOver(t *testing.T) {
	start := make(chan struct{})
	url := appServer(t, func(s *session.Session) {
		<-start
		echoApp(s)
	})
	c := dialWS(t, url+"/0/takeover/websocket")
	eventually(t, "a background reader", func() bool { return goroutinesIn((*connReader).background) == 1 })
	for i := range 5 {
		c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`["m%d"]`, i)))
	}
	time.Sleep(50 * time.Millisecond) // let the background reader deliver them
	close(start)
	for i := 5; i < 10; i++ {
		c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`["m%d"]`, i)))
	}
	var got []string
	for len(got) < 10 {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		var msgs []string
		for _, part := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(string(m), `a[`), `]`), ",") {
			msgs = append(msgs, strings.Trim(part, `"`))
		}
		got = append(got, msgs...)
	}
	if want := "m0 m1 m2 m3 m4 m5 m6 m7 m8 m9"; strings.Join(got, " ") != want {
		t.Errorf("echoed %q; want %q", strings.Join(got, " "), want)
	}
	eventually(t, "the background reader handed over", func() bool {
		return goroutinesIn((*connReader).background) == 0 && goroutinesIn((*connReader).Pull) == 1
	})
	c.WriteMessage(websocket.TextMessage, []byte(`["after"]`))
	expectWS(t, c, `a["after"]`)
}

// TestRecvOwnContext: Recv with a context of the application's own reads
// the connection itself too, and returns as soon as that context ends even
// though nothing arrives; the session goes on.
func TestRecvOwnContext(t *testing.T) {
	errs := make(chan error, 1)
	stop := make(chan struct{})
	url := appServer(t, func(s *session.Session) {
		ctx, cancel := context.WithCancel(s.Context())
		defer cancel()
		m, err := s.Recv(ctx)
		if err != nil {
			errs <- err
			return
		}
		s.Send(ctx, m)
		context.AfterFunc(ctx, func() {}) // a context with watchers already
		go func() { <-stop; cancel() }()
		_, err = s.Recv(ctx)
		errs <- err
		echoApp(s)
	})
	c := dialWS(t, url+"/0/ownctx/websocket")
	c.WriteMessage(websocket.TextMessage, []byte(`["x"]`))
	expectWS(t, c, `a["x"]`)
	eventually(t, "Recv reading with its own context", func() bool {
		return goroutinesIn((*connReader).waitFor) == 1 && goroutinesIn((*connWriter).run) == 0
	})
	if n := goroutinesIn((*connReader).background); n != 0 {
		t.Errorf("%d background readers while Recv reads", n)
	}
	close(stop)
	select {
	case err := <-errs:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Recv returned %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv did not return when its context ended")
	}
	// The interrupted wait left the connection as it was.
	c.WriteMessage(websocket.TextMessage, []byte(`["y"]`))
	expectWS(t, c, `a["y"]`)
}

// TestConcurrentRecv: two goroutines in Recv share the messages, each
// message going to exactly one of them.
func TestConcurrentRecv(t *testing.T) {
	const n = 500
	got := make(chan string, n)
	url := appServer(t, func(s *session.Session) {
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					m, err := s.Recv(s.Context())
					if err != nil {
						return
					}
					got <- m
				}
			}()
		}
		wg.Wait()
	})
	c := dialWS(t, url+"/0/concurrent/websocket")
	for i := range n {
		if err := c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`["%d"]`, i))); err != nil {
			t.Fatal(err)
		}
	}
	seen := make(map[string]bool)
	timeout := time.After(10 * time.Second)
	for len(seen) < n {
		select {
		case m := <-got:
			if seen[m] {
				t.Fatalf("%q received twice", m)
			}
			seen[m] = true
		case <-timeout:
			t.Fatalf("received %d of %d messages", len(seen), n)
		}
	}
}

// TestWriteFailureFreesReader: a background reader waiting for the
// application to make room in the inbound queue is freed, and the session
// closed, when writing to the client fails.
func TestWriteFailureFreesReader(t *testing.T) {
	done := make(chan struct{})
	url := appServerQueue(t, 64, func(s *session.Session) {
		defer close(done)
		for s.Err() == nil {
			s.Send(context.Background(), strings.Repeat("x", 1000))
			time.Sleep(5 * time.Millisecond)
		}
	})
	c := dialWS(t, url+"/0/wfail/websocket")
	for i := range 20 { // far more than the inbound queue holds
		c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`["%030d"]`, i)))
	}
	eventually(t, "a reader blocked in Deliver", func() bool { return goroutinesIn((*session.Session).Deliver) == 1 })
	c.UnderlyingConn().Close() // no close frame: only writing can tell
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not close after its writes failed")
	}
	eventually(t, "the reader gone", func() bool { return goroutinesIn((*connReader).Pull)+goroutinesIn((*connReader).background) == 0 })
}
