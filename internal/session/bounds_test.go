package session

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
	"testing/synctest"
	"time"
)

// TestEmptyMessagesCharged: every queued message costs MessageOverhead
// beyond its text, in both directions, so empty messages fill a queue too.
func TestEmptyMessagesCharged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxQueuedBytes = 10 * MessageOverhead
		tb, _ := newTable(t, cfg)
		s := open(t, tb, "a")
		ctx := context.Background()
		// Outbound: ten empty messages fill the queue.
		for i := range 10 {
			if err := s.TrySend(""); err != nil {
				t.Fatalf("TrySend #%d: %v", i, err)
			}
		}
		if err := s.TrySend(""); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("11th empty TrySend = %v, want ErrQueueFull", err)
		}
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := s.Send(tctx, ""); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send on a queue full of empty messages = %v, want DeadlineExceeded", err)
		}
		// Inbound: Deliver of eleven empty messages waits for Recv.
		done := make(chan error, 1)
		go func() { done <- s.Deliver(ctx, make([]string, 11)) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Deliver of 11 empty messages into a queue of 10 returned %v", err)
		default:
		}
		if _, err := s.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		tb.Shutdown(ctx, Normal)
	})
	// What a Recv caller pulls from a websocket is charged the same: the
	// rest of a batch of 20 empty messages fills a queue of 10.
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxQueuedBytes = 10 * MessageOverhead
		tb, _ := newTable(t, cfg)
		s, err := tb.OpenDetached("w", "websocket", httptest.NewRequest("GET", "/x/w/websocket", nil))
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.AttachPush()
		if err != nil {
			t.Fatal(err)
		}
		c := &fakeConn{s: s, data: make(chan []string, 1)}
		r.SetPuller(c)
		c.data <- make([]string, 20)
		ctx := context.Background()
		if _, err := s.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := s.Deliver(dctx, []string{""}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Deliver after 19 pulled empty messages = %v, want DeadlineExceeded (queue full)", err)
		}
		r.Release(nil)
		tb.Shutdown(ctx, Normal)
	})
}

// TestSendTurns: senders take turns, wait only while the inbound queue has
// no room, are bounded in number, and learn when the session closes.
func TestSendTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxQueuedBytes = 2 * (MessageOverhead + 1)
		tb, _ := newTable(t, cfg)
		s := open(t, tb, "a")
		ctx := context.Background()
		if err := s.EnterSend(ctx); err != nil {
			t.Fatal(err)
		}
		second := make(chan error, 1)
		go func() { second <- s.EnterSend(ctx) }()
		synctest.Wait()
		select {
		case <-second:
			t.Fatal("a second sender got the turn while the first held it")
		default:
		}
		// The first fills the queue and leaves: the second still waits,
		// now for room.
		if err := s.Deliver(ctx, []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		s.LeaveSend()
		synctest.Wait()
		select {
		case <-second:
			t.Fatal("a sender got the turn while the inbound queue was full")
		default:
		}
		s.Recv(ctx)
		if err := <-second; err != nil {
			t.Fatalf("second sender after Recv made room: %v", err)
		}
		// It holds the turn: MaxWaitingSenders more may wait, one more is
		// refused at once.
		waiting := make(chan error, MaxWaitingSenders)
		for range MaxWaitingSenders {
			go func() { waiting <- s.EnterSend(ctx) }()
		}
		synctest.Wait()
		if err := s.EnterSend(ctx); !errors.Is(err, ErrTooManySenders) {
			t.Fatalf("sender beyond MaxWaitingSenders: %v, want ErrTooManySenders", err)
		}
		s.Close(3000, "bye")
		for range MaxWaitingSenders {
			if err := <-waiting; !errors.Is(err, ErrClosed) {
				t.Fatalf("waiting sender after Close: %v, want ErrClosed", err)
			}
		}
		s.LeaveSend()
		tb.Shutdown(ctx, Normal)
	})
}

// syncBuf is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestHandlerPanic: a panicking session function closes its session with
// InternalError and is logged with its stack; the table serves on.
func TestHandlerPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuf
		cfg := testConfig()
		cfg.PanicLogger = slog.New(slog.NewTextHandler(&logs, nil))
		tb := NewTable(cfg, func(s *Session) {
			if s.ID() == "boom" {
				panic("kaboom")
			}
			<-s.Context().Done()
		})
		s := open(t, tb, "boom")
		<-s.Context().Done()
		var ce *CloseError
		if !errors.As(s.Err(), &ce) || *ce != InternalError {
			t.Fatalf("Err() = %v, want %v", s.Err(), InternalError)
		}
		if l := logs.String(); !strings.Contains(l, "kaboom") || !strings.Contains(l, "goroutine") {
			t.Fatalf("the panic is not logged with its stack: %q", l)
		}
		other := open(t, tb, "fine")
		if other.Err() != nil {
			t.Fatal("another session is affected")
		}
		tb.Shutdown(context.Background(), Normal)
	})
}

// panicMetrics panics in every method.
type panicMetrics struct{ NopMetrics }

func (panicMetrics) SessionOpened(string)      { panic("opened") }
func (panicMetrics) SessionClosed(string, int) { panic("closed") }

// TestCallbackPanics: the application's Metrics, ClientKey and Bind may
// panic without taking the process down (SessionClosed runs on the
// disconnect timer's goroutine) or leaving the table locked.
func TestCallbackPanics(t *testing.T) {
	var logs syncBuf
	cfg := testConfig()
	cfg.DisconnectDelay = 10 * time.Millisecond
	cfg.MaxSessions = 100
	cfg.Metrics = panicMetrics{}
	cfg.PanicLogger = slog.New(slog.NewTextHandler(&logs, nil))
	cfg.Bind = func(r *http.Request) string {
		if r.Header.Get("X-Boom") != "" {
			panic("bind")
		}
		return ""
	}
	tb, _ := newTable(t, cfg)
	s := open(t, tb, "a")
	select {
	case <-s.Context().Done(): // expired: SessionClosed panicked on the timer
	case <-time.After(5 * time.Second):
		t.Fatal("the session did not expire")
	}
	if !strings.Contains(logs.String(), "closed") && !strings.Contains(logs.String(), "opened") {
		t.Fatalf("the Metrics panic is not logged: %q", logs.String())
	}
	func() {
		defer func() { recover() }() // net/http's part
		r := httptest.NewRequest("POST", "/0/b/xhr", nil)
		r.Header.Set("X-Boom", "1")
		tb.Open("b", "xhr-polling", r)
	}()
	done := make(chan error, 1)
	go func() {
		_, _, err := tb.Open("c", "xhr-polling", httptest.NewRequest("POST", "/0/c/xhr", nil))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the table stayed locked after a panic in Bind")
	}
	tb.Shutdown(context.Background(), Normal)
}

// TestMaxRequestBytes: a request whose URL and headers exceed the bound
// opens no session (a session keeps them for its life).
func TestMaxRequestBytes(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRequestBytes = 4096
	tb, _ := newTable(t, cfg)
	r := httptest.NewRequest("POST", "/0/a/xhr?"+strings.Repeat("x", 5000), nil)
	if _, _, err := tb.Open("a", "xhr-polling", r); !errors.Is(err, ErrRequestTooLarge) {
		t.Fatalf("Open with a 5000-byte query: %v, want ErrRequestTooLarge", err)
	}
	r = httptest.NewRequest("GET", "/0/a/websocket", nil)
	r.Header.Set("Cookie", strings.Repeat("y", 5000))
	if _, err := tb.OpenDetached("a", "websocket", r); !errors.Is(err, ErrRequestTooLarge) {
		t.Fatalf("OpenDetached with a 5000-byte header: %v, want ErrRequestTooLarge", err)
	}
	open(t, tb, "small")
	tb.Shutdown(context.Background(), Normal)
}
