package hub_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/hub/internal/wsbench"
	"github.com/go-sockjs/sockjs/sockjs"
)

// benchEnv is a SockJS service with n websocket clients connected over
// in-memory pipes. Every session joins the hub's topic "t" and is also
// listed in sessions, for the plain Send loop.
type benchEnv struct {
	hub      *hub.Hub
	fleet    *wsbench.Fleet
	mu       sync.Mutex
	sessions []sockjs.Session
	stop     func()
}

func newBenchEnv(b *testing.B, n int) *benchEnv {
	b.Helper()
	ctx := context.Background()
	e := &benchEnv{hub: hub.New(nil)}
	srv := sockjs.New(func(s sockjs.Session) {
		e.mu.Lock()
		e.sessions = append(e.sessions, s)
		e.mu.Unlock()
		if e.hub.Join(s.Context(), s, "t") != nil {
			return
		}
		<-s.Context().Done()
	}, &sockjs.Options{MaxSessions: n + 10})
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/bench", srv)
	l := wsbench.NewPipeListener()
	stopServe := wsbench.Serve(l, mux)
	fleet, err := wsbench.Dial(ctx, wsbench.Dialer(l), n, 16, func(i int) string {
		return fmt.Sprintf("ws://pipe/bench/000/%d/websocket", i)
	})
	if err != nil {
		stopServe()
		b.Fatal(err)
	}
	e.fleet = fleet
	for e.hub.Stats().Memberships < n {
		time.Sleep(time.Millisecond)
	}
	e.stop = func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		// Shutdown writes close frames, which the fleet's readers take.
		srv.Shutdown(sctx)
		fleet.Close()
		stopServe()
		e.hub.Close(sctx)
	}
	return e
}

// run publishes b.N messages, each to every client, one at a time: the
// next goes out once every client has received the previous one. It
// reports deliveries per second and the process's CPU time per delivery.
func (e *benchEnv) run(b *testing.B, send func(msg string)) {
	msg := strings.Repeat("x", 64)
	b.ResetTimer()
	cpu := wsbench.CPUTime()
	for i := 0; i < b.N; i++ {
		e.fleet.Expect(1)
		send(msg)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := e.fleet.Wait(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu = wsbench.CPUTime() - cpu
	deliveries := float64(b.N * e.fleet.Len())
	b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
	// CPU time of the whole process (server and clients) per delivery:
	// steadier than wall time on a busy machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/deliveries, "cpu-ns/delivery")
}

// BenchmarkPublish measures one message to every session of a topic, over
// real websocket connections (in-memory pipes, so that 10 000 fit under
// the file descriptor limit): Hub.Publish (one encoding, TrySend) against
// a plain loop of Session.Send.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hub/sessions=%d", n), func(b *testing.B) {
			e := newBenchEnv(b, n)
			defer e.stop()
			ctx := context.Background()
			e.run(b, func(msg string) { e.hub.Publish(ctx, "t", msg) })
		})
		b.Run(fmt.Sprintf("sendloop/sessions=%d", n), func(b *testing.B) {
			e := newBenchEnv(b, n)
			defer e.stop()
			ctx := context.Background()
			e.run(b, func(msg string) {
				for _, s := range e.sessions {
					s.Send(ctx, msg)
				}
			})
		})
	}
}

// BenchmarkFanout measures the publishing side alone: one publication to
// 10 000 real sessions (xhr-polling, opened with one poll, then never
// polled again), so that the cost is the hub's, the one encoding and the
// queueing, without transport writes.
func BenchmarkFanout(b *testing.B) { fanout(b, false) }

// BenchmarkFanoutPresence is BenchmarkFanout with presence in use: every
// session joined with an identity, a watcher reads the joins, and each
// publication is a PublishExcept that spares one session.
func BenchmarkFanoutPresence(b *testing.B) { fanout(b, true) }

func fanout(b *testing.B, presence bool) {
	const n = 10000
	ctx := context.Background()
	h := hub.New(nil)
	defer h.Close(ctx)
	if presence {
		w := h.WatchPresence(2 * n)
		defer w.Close()
	}
	var (
		mu     sync.Mutex
		except sockjs.Session
	)
	srv := sockjs.New(func(s sockjs.Session) {
		if h.JoinAs(s.Context(), s, "t", "user-"+s.ID()) != nil {
			return
		}
		mu.Lock()
		except = s
		mu.Unlock()
		<-s.Context().Done()
	}, &sockjs.Options{MaxSessions: n + 10, DisconnectDelay: time.Hour, MaxQueuedBytes: 64 << 20})
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/bench", srv)
	l := wsbench.NewPipeListener()
	stopServe := wsbench.Serve(l, mux)
	defer stopServe()
	defer srv.Shutdown(ctx)
	tr := &http.Transport{DialContext: l.Dial}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for i := range n {
		resp, err := client.Post(fmt.Sprintf("http://pipe/bench/000/%d/xhr", i), "text/plain", nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for h.Stats().Memberships < n {
		time.Sleep(time.Millisecond)
	}
	msg := strings.Repeat("x", 64)
	mu.Lock()
	skip := except
	mu.Unlock()
	want := n
	if presence {
		want = n - 1
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if presence {
			h.PublishExcept(ctx, "t", msg, skip)
		} else {
			h.Publish(ctx, "t", msg)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*want)/b.Elapsed().Seconds(), "deliveries/s")
	if st := h.Stats(); st.Delivered != uint64(b.N*want) {
		b.Fatalf("delivered %d, want %d (%+v)", st.Delivered, b.N*want, st)
	}
}

// BenchmarkJoinLeave measures a session joining a topic and leaving it,
// from 8 goroutines at once, on one hub: with Join (no identity, no
// watcher), and with JoinAs and a presence watcher that reads every
// event. Each goroutine has its own session; ten other members stay in
// the topic.
func BenchmarkJoinLeave(b *testing.B) {
	for _, watch := range []bool{false, true} {
		name := "join"
		if watch {
			name = "joinas+watcher"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			h := hub.New(nil)
			defer h.Close(ctx)
			for i := range 10 {
				h.Join(ctx, newFake(fmt.Sprint("stay", i), 0), "t")
			}
			var wg sync.WaitGroup
			if watch {
				w := h.WatchPresence(1 << 16)
				defer wg.Wait()
				defer w.Close()
				wg.Go(func() {
					for {
						if _, err := w.Next(ctx); err != nil {
							return
						}
					}
				})
			}
			b.SetParallelism(4) // 4 × GOMAXPROCS goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s := newFake("s", 0)
				for pb.Next() {
					var err error
					if watch {
						err = h.JoinAs(ctx, s, "t", "alice")
					} else {
						err = h.Join(ctx, s, "t")
					}
					if err != nil {
						b.Error(err)
						return
					}
					h.Leave(s, "t")
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "join+leave/s")
		})
	}
}
