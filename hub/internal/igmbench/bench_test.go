// Package igmbench compares broadcasting one message to many websocket
// sessions: this repository's hub (Hub.Publish: one encoding, TrySend to
// every session's queue, each connection writing on its own goroutine)
// against a plain loop of Session.Send over igm/sockjs-go v3 sessions (whose
// Send writes the frame to the connection itself). It is a module of its
// own so that the library never depends on igm/sockjs-go.
//
//	cd hub/internal/igmbench && go test -run '^$' -bench . -benchtime 100x
//
// Two networks: "pipe" runs the clients in this process over in-memory
// pipes; "tcp" runs them in a child process (this test binary again) over
// loopback TCP, so that each process stays under its file descriptor limit.
// goleak is not used here: igm/sockjs-go's sessions keep goroutines and
// timers after their connections close.
package igmbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	igm "github.com/igm/sockjs-go/v3/sockjs"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/hub/internal/wsbench"
	"github.com/go-sockjs/sockjs/sockjs"
)

// Environment of the child process that holds the clients in "tcp" mode.
const (
	envFleetURL = "IGMBENCH_FLEET_URL" // base URL: ws://127.0.0.1:port/bench
	envFleetN   = "IGMBENCH_FLEET_N"
)

func TestMain(m *testing.M) {
	if u := os.Getenv(envFleetURL); u != "" {
		n, _ := strconv.Atoi(os.Getenv(envFleetN))
		if err := runFleet(u, n, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "igmbench fleet:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runFleet is the child process: it opens n clients and says "ready".
// Then, for every "expect <timeout>" line it arms the fleet for one message
// per client, says "armed", waits for the messages and says "done" (or
// "timeout"); for every "stall <i>" line it stalls client i and says
// "stalled".
func runFleet(base string, n int, in io.Reader, out io.Writer) error {
	ctx := context.Background()
	f, err := wsbench.Dial(ctx, wsbench.Dialer(nil), n, 16, func(i int) string {
		return fmt.Sprintf("%s/000/%d/websocket", base, i)
	})
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintln(out, "ready")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "stall":
			i, err := strconv.Atoi(arg)
			if err != nil {
				return err
			}
			f.Stall(i)
			fmt.Fprintln(out, "stalled")
		case "expect":
			timeout, err := time.ParseDuration(arg)
			if err != nil {
				return err
			}
			f.Expect(1)
			fmt.Fprintln(out, "armed")
			wctx, cancel := context.WithTimeout(ctx, timeout)
			err = f.Wait(wctx)
			cancel()
			if err != nil {
				fmt.Fprintln(out, "timeout")
				continue
			}
			fmt.Fprintln(out, "done")
		default:
			return fmt.Errorf("unknown command %q", sc.Text())
		}
	}
	return sc.Err()
}

// server is one implementation under test: a handler at /bench whose
// sessions are counted, and a broadcast function.
type server struct {
	handler    http.Handler
	sessions   func() int
	broadcast  func(msg string)
	closedSlow func() uint64 // sessions closed as too slow
	shutdown   func()
}

func ourServer(n int) *server {
	h := hub.New(nil)
	srv := sockjs.New(func(s sockjs.Session) {
		if h.Join(s.Context(), s, "t") != nil {
			return
		}
		<-s.Context().Done()
	}, &sockjs.Options{MaxSessions: n + 10})
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/bench", srv)
	ctx := context.Background()
	return &server{
		handler:    mux,
		sessions:   func() int { return h.Stats().Memberships },
		broadcast:  func(msg string) { h.Publish(ctx, "t", msg) },
		closedSlow: func() uint64 { return h.Stats().ClosedSlow },
		shutdown: func() {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			h.Close(sctx)
		},
	}
}

func igmServer() *server {
	var (
		mu       sync.Mutex
		sessions = map[igm.Session]struct{}{}
		list     []igm.Session // a snapshot, rebuilt when sessions change
	)
	opts := igm.DefaultOptions
	opts.WebsocketUpgrader = nil // its zero value, as DefaultOptions has
	h := igm.NewHandler("/bench", opts, func(s igm.Session) {
		mu.Lock()
		sessions[s] = struct{}{}
		list = nil
		mu.Unlock()
		for {
			if _, err := s.Recv(); err != nil {
				break
			}
		}
		mu.Lock()
		delete(sessions, s)
		list = nil
		mu.Unlock()
	})
	snapshot := func() []igm.Session {
		mu.Lock()
		defer mu.Unlock()
		if list == nil {
			for s := range sessions {
				list = append(list, s)
			}
		}
		return list
	}
	return &server{
		handler:  h,
		sessions: func() int { return len(snapshot()) },
		broadcast: func(msg string) {
			for _, s := range snapshot() {
				s.Send(msg)
			}
		},
		closedSlow: func() uint64 { return 0 },
		shutdown:   func() {},
	}
}

// clients is the measuring side.
type clients interface {
	// Round arms the clients for one more message each, calls send, and
	// waits until every client that is not stalled has the message, or
	// ctx ends (an error matching wsbench.ErrIncomplete).
	Round(ctx context.Context, send func()) error
	// Stall makes client i stop reading.
	Stall(i int)
	Close()
}

// pipeFleet is a fleet in this process.
type pipeFleet struct{ *wsbench.Fleet }

func (f pipeFleet) Round(ctx context.Context, send func()) error {
	f.Expect(1)
	send()
	return f.Wait(ctx)
}

// childFleet drives the clients of a child process.
type childFleet struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startChild(base string, n int) (*childFleet, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envFleetURL+"="+base, envFleetN+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &childFleet{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if err := c.expectLine("ready"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *childFleet) expectLine(want string) error {
	if !c.out.Scan() {
		return fmt.Errorf("fleet process: no %q: %v", want, c.out.Err())
	}
	if got := c.out.Text(); got != want {
		return fmt.Errorf("%w: fleet process said %q, want %q", wsbench.ErrIncomplete, got, want)
	}
	return nil
}

// Round sends the deadline of ctx to the child, which enforces it.
func (c *childFleet) Round(ctx context.Context, send func()) error {
	timeout := time.Minute
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	fmt.Fprintf(c.in, "expect %v\n", timeout)
	if err := c.expectLine("armed"); err != nil {
		return err
	}
	send()
	return c.expectLine("done")
}

func (c *childFleet) Stall(i int) {
	fmt.Fprintf(c.in, "stall %d\n", i)
	if err := c.expectLine("stalled"); err != nil {
		panic(err)
	}
}

func (c *childFleet) Close() {
	c.in.Close()
	c.cmd.Wait()
}

var impls = []struct {
	name string
	new  func(n int) *server
}{
	{"hub", ourServer},
	{"igm-sendloop", func(int) *server { return igmServer() }},
}

// BenchmarkBroadcast sends b.N messages of 64 bytes to n websocket
// sessions, one at a time: the next goes out once every client has the
// previous one.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, network := range []string{"pipe", "tcp"} {
			for _, impl := range impls {
				b.Run(fmt.Sprintf("%s/%s/sessions=%d", impl.name, network, n), func(b *testing.B) {
					benchBroadcast(b, impl.new(n), network, n)
				})
			}
		}
	}
}

// BenchmarkSlowClient is BenchmarkBroadcast with one client of 100 that
// has stopped reading, and 64 KiB messages: a round counts once the 99
// others have the message and the broadcast has returned. A round that
// takes more than 5 s stops the run ("stalled-round" is its number);
// otherwise "stalled-round" is 0.
func BenchmarkSlowClient(b *testing.B) {
	const n = 100
	for _, network := range []string{"pipe", "tcp"} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/%s/sessions=%d", impl.name, network, n), func(b *testing.B) {
				benchSlow(b, impl.new(n), network, n)
			})
		}
	}
}

// env is a server under test with its clients.
type env struct {
	srv      *server
	cs       clients
	network  string
	shutdown func() // the server's side
}

func newEnv(b *testing.B, srv *server, network string, n int) *env {
	ctx := context.Background()
	var (
		l    net.Listener
		pipe *wsbench.PipeListener
	)
	if network == "pipe" {
		pipe = wsbench.NewPipeListener()
		l = pipe
	} else {
		var err error
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
	}
	stopServe := wsbench.Serve(l, srv.handler)
	e := &env{srv: srv, network: network, shutdown: func() {
		srv.shutdown()
		stopServe()
	}}
	if network == "pipe" {
		f, err := wsbench.Dial(ctx, wsbench.Dialer(pipe), n, 16, func(i int) string {
			return fmt.Sprintf("ws://pipe/bench/000/%d/websocket", i)
		})
		if err != nil {
			stopServe()
			b.Fatal(err)
		}
		e.cs = pipeFleet{f}
	} else {
		c, err := startChild("ws://"+l.Addr().String()+"/bench", n)
		if err != nil {
			stopServe()
			b.Fatal(err)
		}
		e.cs = c
	}
	deadline := time.Now().Add(2 * time.Minute) // generous: the machine may be busy
	for srv.sessions() < n {
		if time.Now().After(deadline) {
			e.close()
			b.Fatalf("%d sessions of %d", srv.sessions(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return e
}

// close shuts the server down (its close frames reach the clients), then
// closes the clients.
func (e *env) close() {
	e.shutdown()
	e.cs.Close()
}

// cpuMetric reports the CPU time per delivery, steadier than wall time on
// a busy machine: of this process, which holds the clients too over pipes,
// and of the server alone over TCP.
func (e *env) cpuMetric(b *testing.B, cpu time.Duration, deliveries float64) {
	unit := "cpu-ns/delivery"
	if e.network == "tcp" {
		unit = "server-cpu-ns/delivery"
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/deliveries, unit)
}

func benchBroadcast(b *testing.B, srv *server, network string, n int) {
	e := newEnv(b, srv, network, n)
	defer e.close()
	msg := strings.Repeat("x", 64)
	b.ResetTimer()
	cpu := wsbench.CPUTime()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := e.cs.Round(ctx, func() { srv.broadcast(msg) })
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu = wsbench.CPUTime() - cpu
	deliveries := float64(b.N * n)
	b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
	e.cpuMetric(b, cpu, deliveries)
}

func benchSlow(b *testing.B, srv *server, network string, n int) {
	e := newEnv(b, srv, network, n)
	e.cs.Stall(0)
	msg := strings.Repeat("x", 64<<10)
	var (
		busy    sync.WaitGroup // the broadcasts under way
		stalled int
		rounds  int
	)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		done := make(chan struct{})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := e.cs.Round(ctx, func() {
			busy.Go(func() {
				defer close(done)
				srv.broadcast(msg)
			})
		})
		if err == nil {
			select { // the publisher must be free again too
			case <-done:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		cancel()
		if err != nil {
			stalled = i + 1
			break
		}
		rounds++
	}
	b.StopTimer()
	// Closing the clients first unblocks a broadcast stuck on the stalled
	// one.
	e.cs.Close()
	busy.Wait()
	e.shutdown()
	if rounds > 0 {
		b.ReportMetric(float64(rounds*(n-1))/b.Elapsed().Seconds(), "deliveries/s")
	}
	b.ReportMetric(float64(stalled), "stalled-round")
	b.ReportMetric(float64(srv.closedSlow()), "closed-slow")
}
