// Package soak holds the soak test: thousands of sessions over mixed
// transports echoing for a long time against one in-process server, then
// closed, with every message checked and the server's goroutines and memory
// compared before and after.
//
//	go test ./soak/                                  short run (CI)
//	go test ./soak/ -soak=5m -soak-sessions=5000 -v  the real soak
package soak

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-sockjs/sockjs/client"
	"github.com/go-sockjs/sockjs/internal/echoserver"
	"github.com/go-sockjs/sockjs/sockjs"
)

var (
	soakFor      = flag.Duration("soak", 5*time.Second, "how long the sessions echo")
	soakSessions = flag.Int("soak-sessions", 200, "how many sessions, spread over the transports")
)

var transports = []client.Transport{
	client.WebSocket, client.WebSocketRaw, client.XHRStreaming, client.EventSource, client.XHRPolling,
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rss returns this process's resident set size in bytes.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func settle(t *testing.T) (goroutines int, heap uint64, rssBytes int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc, rss(t)
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	g0, heap0, rss0 := settle(t)

	srv := echoserver.New(&echoserver.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); hs.Serve(ln) }()
	base := "http://" + ln.Addr().String() + "/echo"

	n := *soakSessions
	tr := &http.Transport{MaxIdleConns: 4 * n, MaxIdleConnsPerHost: 4 * n, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr}

	ctx, cancel := context.WithTimeout(context.Background(), *soakFor+time.Minute)
	defer cancel()
	stop := time.Now().Add(*soakFor)
	var sent, received, failed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	// Sample the peak while the sessions run.
	var peakG, peakRSS atomic.Int64
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(200 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-sampling:
				return
			case <-tk.C:
				if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
					peakG.Store(g)
				}
				if r := rss(t); r > peakRSS.Load() {
					peakRSS.Store(r)
				}
			}
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind := transports[i%len(transports)]
			if err := echoLoop(ctx, base, hc, kind, i, stop, &sent, &received); err != nil {
				failed.Add(1)
				errs <- fmt.Errorf("session %d (%s) at %v: %w", i, kind, time.Since(start).Round(time.Second), err)
			}
		}()
		if i%50 == 49 {
			// Open gradually (about 1 000 sessions a second): a burst of
			// thousands of connects overflows the listen backlog, and a
			// dropped SYN is retried only after 1 s, then 3 s: long enough
			// for a polling session to pass its disconnect delay.
			time.Sleep(50 * time.Millisecond)
		}
	}
	wg.Wait()
	close(sampling)
	<-sampled
	close(errs)
	elapsed := time.Since(start)
	sessionErr := false
	for err := range errs {
		t.Error(err)
		sessionErr = true
	}
	if sessionErr {
		dumpGoroutines("after the failure, before shutdown") // unless a session already did
	}
	_, heapAfterRun, _ := settle(t)

	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	hs.Shutdown(sctx)
	<-served
	tr.CloseIdleConnections()
	// Closed sessions stay addressable (answering their close frame) for
	// the disconnect delay; then they are forgotten.
	time.Sleep(sockjs.DefaultDisconnectDelay + time.Second)
	// Let closed connections' goroutines finish.
	deadline := time.Now().Add(10 * time.Second)
	var g1 int
	for {
		g1 = runtime.NumGoroutine()
		if g1 <= g0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	g1, heap1, rss1 := settle(t)
	if f := os.Getenv("SOAK_HEAPPROFILE"); f != "" {
		if w, err := os.Create(f); err == nil {
			pprof.WriteHeapProfile(w)
			w.Close()
		}
	}

	t.Logf("soak: %d sessions over %d transports for %v: %d messages sent, %d echoed in order, %d sessions failed",
		n, len(transports), elapsed.Round(time.Millisecond), sent.Load(), received.Load(), failed.Load())
	t.Logf("soak: goroutines %d before, %d at peak, %d after (client and server in one process)", g0, peakG.Load(), g1)
	t.Logf("soak: live heap %d KiB before, %d KiB when the echoing stopped, %d KiB after close; RSS %d MiB before, %d MiB at peak, %d MiB after",
		heap0>>10, heapAfterRun>>10, heap1>>10, rss0>>20, peakRSS.Load()>>20, rss1>>20)
	if sent.Load() != received.Load() {
		t.Errorf("%d messages sent, %d echoed", sent.Load(), received.Load())
	}
	if g1 > g0 {
		t.Errorf("%d goroutines left after the soak (%d before)", g1, g0)
	}
	// Heap back near where it started. The Go runtime keeps the descriptor
	// of every goroutine that ever ran (about 400 bytes each, reused, never
	// freed: runtime.malg in a heap profile), so allow for the peak count.
	if lim := heap0 + uint64(peakG.Load())*512 + 8<<20; heap1 > lim {
		t.Errorf("live heap %d KiB after the soak, started at %d KiB (limit %d KiB)", heap1>>10, heap0>>10, lim>>10)
	}
}

var dumpOnce sync.Once

// dumpGoroutines writes every goroutine's stack to stderr, once per run.
func dumpGoroutines(why string) {
	dumpOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "soak: %s; goroutines while that session is still open:\n", why)
		pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	})
}

// echoLoop opens one session and echoes numbered messages in batches until
// stop, checking order and content.
func echoLoop(ctx context.Context, base string, hc *http.Client, kind client.Transport, id int, stop time.Time, sent, received *atomic.Int64) error {
	// The transport timeout is the client's fallback timer (2 s at least,
	// as sockjs-client computes it); with hundreds of sessions opening at
	// once under the race detector on two busy cores, an open frame can
	// take longer than that without anything being wrong. What the soak
	// checks is that every session opens and echoes, so it waits longer.
	c, err := client.Dial(ctx, base, &client.Options{Transports: []client.Transport{kind}, HTTPClient: hc,
		TransportTimeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close(1000, "done")
	const window = 4
	next := 0
	for time.Now().Before(stop) {
		for k := 0; k < window; k++ {
			if err := c.Send(ctx, fmt.Sprintf("%d:%d", id, next+k)); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			sent.Add(1)
		}
		for k := 0; k < window; k++ {
			m, err := c.Recv(ctx)
			if err != nil {
				// Dump while this session is still open (before the
				// deferred close), so that its server side shows where it
				// is stuck.
				dumpGoroutines(fmt.Sprintf("session %d (%s): recv after %d: %v", id, kind, next+k, err))
				return fmt.Errorf("recv after %d: %w", next+k, err)
			}
			if want := fmt.Sprintf("%d:%d", id, next+k); m != want {
				return fmt.Errorf("got %q, want %q (lost or reordered)", m, want)
			}
			received.Add(1)
		}
		next += window
	}
	return nil
}
