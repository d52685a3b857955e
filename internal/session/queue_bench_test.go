package session

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// Benchmarks of the session queues: how much a message costs between
// Session.Send and Receiver.Next (the outbound path of every transport),
// between Deliver and Recv (inbound), and a whole echo through the core
// with the application's goroutine in the middle. Run with
//
//	go test -run '^$' -bench . -benchmem ./internal/session

func benchTable(b *testing.B, fn func(*Session)) *Table {
	b.Helper()
	tb := NewTable(Config{
		HeartbeatDelay:  time.Minute,
		DisconnectDelay: time.Minute,
		AttachWait:      100 * time.Millisecond,
		MaxQueuedBytes:  1 << 20,
		MaxSessions:     10,
	}, fn)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tb.Shutdown(ctx, CloseError{Code: 3000, Reason: "bench done"}); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
	})
	return tb
}

// attached opens a session whose application function waits for the
// session to close, attaches a receiver and consumes the open frame.
func attached(b *testing.B) (*Session, *Receiver) {
	b.Helper()
	tb := benchTable(b, func(s *Session) { <-s.Context().Done() })
	s, _, err := tb.Open("bench", "xhr-streaming", httptest.NewRequest("POST", "/x/bench/xhr_streaming", nil))
	if err != nil {
		b.Fatal(err)
	}
	rcv, err := s.Attach(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rcv.Release(nil) })
	if f, err := rcv.Next(context.Background()); err != nil || f.Kind != OpenFrame {
		b.Fatalf("first frame: %v, %v", f.Kind, err)
	}
	return s, rcv
}

// BenchmarkSendNext queues batch messages with Send, then takes them with
// one Next, in one goroutine: the cost of the queue itself, per message.
func BenchmarkSendNext(b *testing.B) {
	for _, batch := range []int{1, 16, 256} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			s, rcv := attached(b)
			ctx := context.Background()
			msg := "0123456789abcdef0123456789abcdef"
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := s.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
				if n++; n < batch {
					continue
				}
				n = 0
				f, err := rcv.Next(ctx)
				if err != nil || f.Kind != MessagesFrame || len(f.Messages) != batch {
					b.Fatalf("Next: kind %v, %d messages, %v", f.Kind, len(f.Messages), err)
				}
			}
		})
	}
}

// BenchmarkSendNextConcurrent has one goroutine sending and the receiver
// taking whatever is queued, as a websocket's writer does: it measures the
// wake-up of the receiver and how well Next batches under load
// (msgs/frame).
func BenchmarkSendNextConcurrent(b *testing.B) {
	s, rcv := attached(b)
	ctx := context.Background()
	msg := "0123456789abcdef0123456789abcdef"
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			if err := s.Send(ctx, msg); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	got, frames := 0, 0
	for got < b.N {
		f, err := rcv.Next(ctx)
		if err != nil || f.Kind != MessagesFrame {
			b.Fatalf("Next: kind %v, %v", f.Kind, err)
		}
		got += len(f.Messages)
		frames++
	}
	<-done
	b.ReportMetric(float64(got)/float64(frames), "msgs/frame")
}

// BenchmarkDeliverRecv is the inbound queue: Deliver one message, Recv it.
func BenchmarkDeliverRecv(b *testing.B) {
	s, _ := attached(b)
	ctx := context.Background()
	msgs := []string{"0123456789abcdef0123456789abcdef"}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Deliver(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEchoRoundTrip is one message through the whole core, as the
// echo service sees it: Deliver (the transport's reader), Recv and Send in
// the application's goroutine, Next (the transport's writer). Two
// goroutine hand-offs per message; no I/O.
func BenchmarkEchoRoundTrip(b *testing.B) {
	tb := benchTable(b, func(s *Session) {
		ctx := s.Context()
		for {
			m, err := s.Recv(ctx)
			if err != nil {
				return
			}
			if s.Send(ctx, m) != nil {
				return
			}
		}
	})
	s, _, err := tb.Open("echo", "xhr-streaming", httptest.NewRequest("POST", "/x/echo/xhr_streaming", nil))
	if err != nil {
		b.Fatal(err)
	}
	rcv, err := s.Attach(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer rcv.Release(nil)
	ctx := context.Background()
	if f, err := rcv.Next(ctx); err != nil || f.Kind != OpenFrame {
		b.Fatalf("first frame: %v, %v", f.Kind, err)
	}
	msgs := []string{"0123456789abcdef0123456789abcdef"}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Deliver(ctx, msgs); err != nil {
			b.Fatal(err)
		}
		f, err := rcv.Next(ctx)
		if err != nil || f.Kind != MessagesFrame || len(f.Messages) != 1 {
			b.Fatalf("Next: kind %v, %d messages, %v", f.Kind, len(f.Messages), err)
		}
	}
}
