package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func testConfig() Config {
	return Config{
		HeartbeatDelay:  25 * time.Second,
		DisconnectDelay: 5 * time.Second,
		AttachWait:      100 * time.Millisecond,
		MaxQueuedBytes:  16 + 2*MessageOverhead, // 16 bytes of text in two messages
		MaxSessions:     3,
	}
}

// newTable returns a table whose handler hands each session to the test
// and then blocks until the session's context is done.
func newTable(t *testing.T, cfg Config) (*Table, chan *Session) {
	t.Helper()
	got := make(chan *Session, 10)
	tb := NewTable(cfg, func(s *Session) {
		got <- s
		<-s.Context().Done()
	})
	return tb, got
}

func open(t *testing.T, tb *Table, id string) *Session {
	t.Helper()
	s, created, err := tb.Open(id, "xhr-polling", httptest.NewRequest("POST", "/x/"+id+"/xhr", nil))
	if err != nil || !created {
		t.Fatalf("Open(%q) = %v, %v; want a new session", id, created, err)
	}
	return s
}

func next(t *testing.T, r *Receiver) Frame {
	t.Helper()
	f, err := r.Next(context.Background())
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return f
}

func TestFrameOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, _ := newTable(t, testConfig())
		s := open(t, tb, "a")
		r, err := s.Attach(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f := next(t, r); f.Kind != OpenFrame {
			t.Fatalf("first frame = %v, want open", f.Kind)
		}
		ctx := context.Background()
		s.Send(ctx, "m1")
		s.Send(ctx, "m2")
		if f := next(t, r); f.Kind != MessagesFrame || len(f.Messages) != 2 || f.Messages[0].Text+f.Messages[1].Text != "m1m2" {
			t.Fatalf("second frame = %+v, want one batch m1,m2", f)
		}
		s.Send(ctx, "m3")
		s.Close(3000, "Go away!")
		if f := next(t, r); f.Kind != MessagesFrame || f.Messages[0].Text != "m3" {
			t.Fatalf("messages queued before Close must come first, got %+v", f)
		}
		if f := next(t, r); f.Kind != CloseFrame || *f.Close != (CloseError{3000, "Go away!"}) {
			t.Fatalf("got %+v, want close 3000", f)
		}
		r.Release(nil)
		// A later receiver gets the same close frame.
		r2, err := s.Attach(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f := next(t, r2); f.Kind != CloseFrame || f.Close.Code != 3000 {
			t.Fatalf("later receiver got %+v, want the close frame again", f)
		}
		r2.Release(nil)
		tb.Shutdown(ctx, Normal)
	})
}

func TestHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, _ := newTable(t, testConfig())
		s := open(t, tb, "a")
		r, _ := s.Attach(context.Background())
		next(t, r) // open
		start := time.Now()
		if f := next(t, r); f.Kind != HeartbeatFrame {
			t.Fatalf("got %v, want heartbeat", f.Kind)
		}
		if d := time.Since(start); d != 25*time.Second {
			t.Fatalf("heartbeat after %v, want 25s", d)
		}
		// A message resets the silence: it comes at once, and the next
		// heartbeat 25 s after it.
		go func() {
			time.Sleep(10 * time.Second)
			s.Send(context.Background(), "x")
		}()
		start = time.Now()
		if f := next(t, r); f.Kind != MessagesFrame || time.Since(start) != 10*time.Second {
			t.Fatalf("got %v after %v, want the message after 10s", f.Kind, time.Since(start))
		}
		start = time.Now()
		if f := next(t, r); f.Kind != HeartbeatFrame || time.Since(start) != 25*time.Second {
			t.Fatalf("got %v after %v, want heartbeat after 25s", f.Kind, time.Since(start))
		}
		r.Release(nil)
		tb.Shutdown(context.Background(), Normal)
	})
}

func TestDisconnectDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, got := newTable(t, testConfig())
		s := open(t, tb, "a")
		<-got
		r, _ := s.Attach(context.Background())
		next(t, r)
		// Attached receivers keep the session alive however long they stay.
		time.Sleep(time.Minute)
		synctest.Wait()
		if s.Err() != nil {
			t.Fatalf("session closed while a receiver was attached: %v", s.Err())
		}
		r.Release(nil)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if s.Err() != nil {
			t.Fatal("session closed before the disconnect delay")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		var ce *CloseError
		if err := s.Err(); !errors.As(err, &ce) || ce.Code != 1002 || !errors.Is(err, ErrClosed) {
			t.Fatalf("after the delay Err() = %v, want 1002 matching ErrClosed", err)
		}
		if _, ok := tb.Lookup("a", httptest.NewRequest("GET", "/", nil)); ok {
			t.Fatal("expired session still in the table")
		}
		if n := tb.Len(); n != 0 {
			t.Fatalf("Len() = %d, want 0", n)
		}
		// The id is free again.
		open(t, tb, "a")
		tb.Shutdown(context.Background(), Normal)
	})
}

func TestSecondReceiverBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, _ := newTable(t, testConfig())
		s := open(t, tb, "a")
		r1, _ := s.Attach(context.Background())
		start := time.Now()
		if _, err := s.Attach(context.Background()); !errors.Is(err, ErrBusy) {
			t.Fatalf("second Attach = %v, want ErrBusy", err)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Fatalf("refused after %v, want the 100ms attach wait", d)
		}
		// The first receiver is untouched.
		if f := next(t, r1); f.Kind != OpenFrame {
			t.Fatalf("first receiver got %v", f.Kind)
		}
		// A receiver released while the second waits lets it in at once:
		// this is the client's immediate next poll.
		go func() {
			time.Sleep(10 * time.Millisecond)
			r1.Release(nil)
		}()
		start = time.Now()
		r2, err := s.Attach(context.Background())
		if err != nil || time.Since(start) != 10*time.Millisecond {
			t.Fatalf("Attach after release = %v after %v", err, time.Since(start))
		}
		r2.Release(nil)
		tb.Shutdown(context.Background(), Normal)
	})
}

func TestInterruptedReceiverClosesSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, _ := newTable(t, testConfig())
		s := open(t, tb, "a")
		ctx, cancel := context.WithCancel(context.Background())
		r, _ := s.Attach(ctx)
		next(t, r)
		go func() { time.Sleep(time.Second); cancel() }()
		if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Next = %v, want context.Canceled", err)
		}
		r.Release(&Interrupted)
		r2, _ := s.Attach(context.Background())
		if f := next(t, r2); f.Kind != CloseFrame || f.Close.Code != 1002 {
			t.Fatalf("next receiver got %+v, want c[1002]", f)
		}
		r2.Release(nil)
		tb.Shutdown(context.Background(), Normal)
	})
}

func TestSendBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, _ := newTable(t, testConfig()) // 16 bytes of text per queue
		s := open(t, tb, "a")
		ctx := context.Background()
		if err := s.Send(ctx, strings.Repeat("x", 40)); err != nil {
			t.Fatalf("a message over the bound must pass an empty queue: %v", err)
		}
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := s.Send(tctx, "y"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send on a full queue = %v, want DeadlineExceeded", err)
		}
		done := make(chan error)
		go func() { done <- s.Send(ctx, "z") }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Send returned while the queue was full")
		default:
		}
		r, _ := s.Attach(ctx)
		next(t, r) // open
		next(t, r) // the 40 bytes: frees the queue
		if err := <-done; err != nil {
			t.Fatalf("blocked Send = %v after space freed", err)
		}
		go func() { done <- s.Send(ctx, strings.Repeat("w", 20)) }()
		synctest.Wait()
		s.Close(3000, "bye")
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Send after Close = %v, want ErrClosed", err)
		}
		r.Release(nil)
		tb.Shutdown(ctx, Normal)
	})
}

func TestRecvAndDeliver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, _ := newTable(t, testConfig())
		s := open(t, tb, "a")
		// Nobody calls Recv and no receiver comes: Deliver of 21 bytes into
		// a queue of 16 waits until the session expires, then reports it.
		start := time.Now()
		err := s.Deliver(context.Background(), []string{"0123456789", "abcdefghij", "z"})
		if !errors.Is(err, ErrClosed) || time.Since(start) != 5*time.Second {
			t.Fatalf("Deliver = %v after %v; want ErrClosed when the session expires after 5s", err, time.Since(start))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		tb, _ := newTable(t, testConfig())
		s := open(t, tb, "a")
		ctx := context.Background()
		done := make(chan error)
		go func() { done <- s.Deliver(ctx, []string{"0123456789", "abcdefghij", "z"}) }()
		synctest.Wait()
		for _, want := range []string{"0123456789", "abcdefghij", "z"} {
			m, err := s.Recv(ctx)
			if err != nil || m != want {
				t.Fatalf("Recv = %q, %v; want %q", m, err, want)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// Messages received before the close are still handed out.
		s.Deliver(ctx, []string{"last"})
		s.Close(3000, "Go away!")
		if m, err := s.Recv(ctx); m != "last" || err != nil {
			t.Fatalf("Recv after close = %q, %v; want the queued message", m, err)
		}
		var ce *CloseError
		if _, err := s.Recv(ctx); !errors.As(err, &ce) || ce.Code != 3000 {
			t.Fatalf("Recv = %v, want *CloseError 3000", err)
		}
		if err := s.Deliver(ctx, []string{"x"}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Deliver after close = %v", err)
		}
		tb.Shutdown(ctx, Normal)
	})
}

func TestMaxSessionsAndShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, got := newTable(t, testConfig()) // MaxSessions 3
		ctx := context.Background()
		ss := []*Session{open(t, tb, "a"), open(t, tb, "b")}
		d, err := tb.OpenDetached("c", "websocket", httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Fatal(err)
		}
		tb.Start(d)
		if _, _, err := tb.Open("d", "xhr-polling", httptest.NewRequest("GET", "/", nil)); !errors.Is(err, ErrTooManySessions) {
			t.Fatalf("4th session: %v, want ErrTooManySessions", err)
		}
		for range 3 {
			<-got
		}
		r, _ := ss[0].Attach(ctx)
		next(t, r)
		// A receiver that is still writing holds Shutdown up.
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := tb.Shutdown(short, CloseError{1001, "Going away"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a receiver attached = %v, want DeadlineExceeded", err)
		}
		if f := next(t, r); f.Kind != CloseFrame || f.Close.Code != 1001 {
			t.Fatalf("receiver got %+v, want the shutdown close frame", f)
		}
		r.Release(nil)
		dr, _ := d.Attach(ctx)
		dr.Release(nil)
		if err := tb.Shutdown(ctx, CloseError{1001, "Going away"}); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if _, _, err := tb.Open("e", "xhr-polling", httptest.NewRequest("GET", "/", nil)); !errors.Is(err, ErrShuttingDown) {
			t.Fatalf("Open after Shutdown = %v", err)
		}
	})
}

func TestHandlerReturnClosesSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := NewTable(testConfig(), func(s *Session) {})
		s := open(t, tb, "a")
		<-s.Context().Done()
		var ce *CloseError
		if !errors.As(s.Err(), &ce) || *ce != Normal {
			t.Fatalf("Err() = %v, want %v", s.Err(), Normal)
		}
		if s.Request().Body == nil || s.Request().Context() != s.Context() {
			t.Fatal("Request() must have an empty body and the session's context")
		}
		tb.Shutdown(context.Background(), Normal)
	})
}

func TestPerClientCapAndBinding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxSessions = 100
		cfg.MaxPerClient = 2
		cfg.Bind = RemoteIP
		tb, _ := newTable(t, cfg)
		from := func(ip, id string) *http.Request {
			r := httptest.NewRequest("POST", "/0/"+id+"/xhr", nil)
			r.RemoteAddr = ip + ":1234"
			return r
		}
		for _, id := range []string{"a", "b"} {
			if _, _, err := tb.Open(id, "xhr-polling", from("10.0.0.1", id)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := tb.Open("c", "xhr-polling", from("10.0.0.1", "c")); !errors.Is(err, ErrTooManyForClient) {
			t.Fatalf("third session from one client: %v, want ErrTooManyForClient", err)
		}
		if _, _, err := tb.Open("c", "xhr-polling", from("10.0.0.2", "c")); err != nil {
			t.Fatalf("another client is not limited: %v", err)
		}
		// Binding: session a belongs to 10.0.0.1.
		if _, ok := tb.Lookup("a", from("10.0.0.2", "a")); ok {
			t.Fatal("a bound session was found from another address")
		}
		if _, _, err := tb.Open("a", "xhr-polling", from("10.0.0.2", "a")); !errors.Is(err, ErrBoundElsewhere) {
			t.Fatalf("receiver from another address: %v, want ErrBoundElsewhere", err)
		}
		s, ok := tb.Lookup("a", from("10.0.0.1", "a"))
		if !ok {
			t.Fatal("the owner cannot find its session")
		}
		// Closing frees the client's slot once the session is forgotten.
		s.Close(3000, "bye")
		time.Sleep(cfg.DisconnectDelay)
		synctest.Wait()
		if _, _, err := tb.Open("d", "xhr-polling", from("10.0.0.1", "d")); err != nil {
			t.Fatalf("slot not freed after the session ended: %v", err)
		}
		tb.Shutdown(context.Background(), Normal)
	})
}
