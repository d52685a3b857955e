// Command compare runs the SockJS benchmark matrix: every cell (transport,
// workload, size, concurrency) against every server, interleaved (A B C D,
// A B C D, ...) for several rounds, each server a fresh process of its own
// and the load tool (cmd/sockjs-bench) another. It writes every measurement
// to results/raw.jsonl, the medians and ratios to results/summary.md and
// gnuplot data files, and BENCHMARKS.md from its template. bench/run.sh
// builds the programs and runs it.
//
// Everything runs on 127.0.0.1: the servers listen on loopback only and the
// load tool refuses other addresses. Every child process is bounded (the
// load tool stops by itself; servers are stopped after each measurement)
// and killed by its pid if it overruns.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result mirrors the JSON line of cmd/sockjs-bench.
type result struct {
	Label          string  `json:"label,omitempty"`
	Server         string  `json:"server"`
	Round          int     `json:"round"`
	Cell           string  `json:"cell"`
	Transport      string  `json:"transport"`
	Workload       string  `json:"workload"`
	C              int     `json:"c,omitempty"`
	Size           int     `json:"size,omitempty"`
	Window         int     `json:"window,omitempty"`
	Seconds        float64 `json:"seconds,omitempty"`
	Ops            int64   `json:"ops,omitempty"`
	OpsPerSec      float64 `json:"ops_per_s,omitempty"`
	P50us          float64 `json:"p50_us,omitempty"`
	P99us          float64 `json:"p99_us,omitempty"`
	Errors         int64   `json:"errors"`
	FirstErr       string  `json:"first_error,omitempty"`
	Busy           int64   `json:"busy_retries,omitempty"`
	Sessions       int     `json:"sessions,omitempty"`
	Alive          int     `json:"alive,omitempty"`
	RSSBaseKB      int64   `json:"rss_base_kb,omitempty"`
	RSSKB          int64   `json:"rss_kb,omitempty"`
	RSSPerSessionB float64 `json:"rss_per_session_b,omitempty"`
	ClientRSSKB    int64   `json:"client_rss_kb,omitempty"`
	ServerCPUs     float64 `json:"server_cpu_s,omitempty"`
	ClientCPUs     float64 `json:"client_cpu_s,omitempty"`
	ServerCPUus    float64 `json:"server_cpu_us_per_op,omitempty"`
	ClientCPUus    float64 `json:"client_cpu_us_per_op,omitempty"`
	Failed         string  `json:"failed,omitempty"` // the run did not complete
}

// cell is one line of the matrix.
type cell struct {
	name      string
	title     string
	short     string // its label in the chart of its transport
	transport string
	workload  string
	c, size   int
	window    int
	rate      float64 // paced echo: messages per second per session (open loop)
	n         int
	servers   []string // which servers serve this transport
}

var (
	allServers  = []string{"ours", "igm", "node", "gorilla"}
	sockjsOnly  = []string{"ours", "igm", "node"}
	serverNames = map[string]string{
		"ours":    "go-sockjs (ours)",
		"igm":     "igm/sockjs-go v3.0.3",
		"node":    "sockjs-node 0.3.24",
		"gorilla": "bare: gorilla/websocket, or net/http without sessions",
	}
	ports = map[string]int{"ours": 9101, "igm": 9102, "node": 9103, "gorilla": 9104}
)

func matrix(idleN int) []cell {
	return []cell{
		{name: "ws-echo-32", short: "echo 32 B", title: "websocket echo 32 B, C=10", transport: "websocket", workload: "echo", c: 10, size: 32, servers: allServers},
		{name: "ws-echo-4k", short: "echo 4 KiB", title: "websocket echo 4 KiB, C=10", transport: "websocket", workload: "echo", c: 10, size: 4096, servers: allServers},
		{name: "ws-push-32", short: "push 32 B, w=16", title: "websocket push 32 B, C=10, window 16", transport: "websocket", workload: "push", c: 10, size: 32, window: 16, servers: allServers},
		{name: "ws-setup", short: "setup (open+close)", title: "websocket session setup (open+close), C=10", transport: "websocket", workload: "setup", c: 10, size: 32, servers: allServers},
		{name: "ws-echo-32-c1000", short: "echo 32 B, C=1000", title: "websocket echo 32 B, C=1000", transport: "websocket", workload: "echo", c: 1000, size: 32, servers: allServers},
		{name: "ws-paced-32", short: "paced 32 B, C=10", title: "websocket echo 32 B, C=10, paced 1000/s per session", transport: "websocket", workload: "echo", c: 10, size: 32, rate: 1000, servers: allServers},
		{name: "ws-paced-32-c1000", short: "paced 32 B, C=1000", title: "websocket echo 32 B, C=1000, paced 50/s per session", transport: "websocket", workload: "echo", c: 1000, size: 32, rate: 50, servers: allServers},
		{name: "raw-echo-32", short: "echo 32 B", title: "raw websocket echo 32 B, C=10", transport: "websocket-raw", workload: "echo", c: 10, size: 32, servers: allServers},
		{name: "raw-echo-32-c1000", short: "echo 32 B, C=1000", title: "raw websocket echo 32 B, C=1000", transport: "websocket-raw", workload: "echo", c: 1000, size: 32, servers: allServers},
		{name: "xs-echo-32", short: "echo 32 B", title: "xhr-streaming echo 32 B, C=10", transport: "xhr-streaming", workload: "echo", c: 10, size: 32, servers: allServers},
		{name: "xs-push-32", short: "push 32 B, w=16", title: "xhr-streaming push 32 B, C=10, window 16", transport: "xhr-streaming", workload: "push", c: 10, size: 32, window: 16, servers: sockjsOnly},
		{name: "xp-echo-32", short: "echo 32 B", title: "xhr-polling echo 32 B, C=10", transport: "xhr-polling", workload: "echo", c: 10, size: 32, servers: allServers},
		{name: "es-echo-32", short: "echo 32 B", title: "eventsource echo 32 B, C=10", transport: "eventsource", workload: "echo", c: 10, size: 32, servers: allServers},
		{name: "ws-idle", short: "websocket", title: fmt.Sprintf("websocket idle, %d sessions", idleN), transport: "websocket", workload: "idle", n: idleN, servers: allServers},
		{name: "xs-idle", short: "xhr-streaming", title: fmt.Sprintf("xhr-streaming idle, %d sessions", idleN), transport: "xhr-streaming", workload: "idle", n: idleN, servers: sockjsOnly},
	}
}

type driver struct {
	root    string // repository root
	bin     string // built programs
	out     string // results directory
	d       time.Duration
	warmup  time.Duration
	verbose bool
	raw     *os.File
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("compare: ")
	var (
		dr      driver
		rounds  = flag.Int("rounds", 3, "rounds over the matrix")
		only    = flag.String("cells", "", "comma-separated cell names (default: all)")
		servers = flag.String("servers", strings.Join(allServers, ","), "servers to compare")
		idleN   = flag.Int("idle-n", 10000, "sessions held by the idle cells")
		scale   = flag.String("scale", "1000,2000,5000,10000,19000", "session counts for the scale run of our server (empty: skip)")
		report  = flag.Bool("report-only", false, "do not measure: rebuild the reports from results/raw.jsonl")
		rev     = flag.String("rev", "", "the library revision measured, for the report")
		port    = flag.Int("port", 9101, "the servers listen on this loopback port and the next three")
	)
	flag.StringVar(&dr.root, "root", "..", "repository root")
	flag.StringVar(&dr.bin, "bin", ".bin", "directory of the built programs")
	flag.StringVar(&dr.out, "out", "results", "results directory")
	flag.DurationVar(&dr.d, "d", 5*time.Second, "measured duration per cell")
	flag.DurationVar(&dr.warmup, "warmup", time.Second, "warm-up per cell")
	flag.BoolVar(&dr.verbose, "v", false, "log every measurement")
	flag.Parse()
	for i, name := range allServers {
		ports[name] = *port + i
	}
	if err := os.MkdirAll(dr.out, 0o755); err != nil {
		log.Fatal(err)
	}
	if !*report {
		m := machineInfo()
		m.Start = loadavg()
		cells := selectCells(matrix(*idleN), *only)
		want := map[string]bool{}
		for _, s := range strings.Split(*servers, ",") {
			want[s] = true
		}
		f, err := os.Create(filepath.Join(dr.out, "raw.jsonl"))
		if err != nil {
			log.Fatal(err)
		}
		dr.raw = f
		t0 := time.Now()
		for r := 1; r <= *rounds; r++ {
			for _, c := range cells {
				for _, s := range c.servers {
					if want[s] {
						dr.measure(r, c, s)
					}
				}
			}
			log.Printf("round %d done after %v", r, time.Since(t0).Round(time.Second))
		}
		if *scale != "" {
			for _, v := range strings.Split(*scale, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					log.Fatal(err)
				}
				dr.scaleRun(n)
			}
		}
		f.Close()
		m.End = loadavg()
		m.Duration = time.Since(t0).Round(time.Second).String()
		m.Rounds, m.D, m.Warmup, m.Rev = *rounds, dr.d.String(), dr.warmup.String(), *rev
		writeJSON(filepath.Join(dr.out, "machine.json"), m)
	}
	if err := dr.report(matrix(*idleN)); err != nil {
		log.Fatal(err)
	}
}

func selectCells(all []cell, only string) []cell {
	if only == "" {
		return all
	}
	var out []cell
	for _, n := range strings.Split(only, ",") {
		for _, c := range all {
			if c.name == n {
				out = append(out, c)
			}
		}
	}
	return out
}

// proc is a child process this driver started; it is stopped by its pid.
type proc struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
}

// startServer starts server name on its port and waits until it listens.
func (dr *driver) startServer(name string) (*proc, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", ports[name])
	var cmd *exec.Cmd
	if name == "node" {
		cmd = exec.Command("node", filepath.Join(dr.root, "bench/node/server.js"))
		cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(ports[name]),
			"NODE_PATH="+filepath.Join(dr.root, "tools/sockjs-node/node_modules"))
	} else {
		cmd = exec.Command(filepath.Join(dr.bin, "benchserver"), "-impl", name, "-addr", addr)
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && strings.HasPrefix(sc.Text(), "listening") {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		cmd.Wait()
		close(p.done)
	}()
	select {
	case ok := <-ready:
		if ok {
			return p, nil
		}
	case <-time.After(15 * time.Second):
	}
	p.stop()
	return nil, fmt.Errorf("%s did not start", name)
}

// stop ends the process: SIGTERM, then SIGKILL after 3 s.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// bench runs cmd/sockjs-bench with args and returns its JSON result.
func (dr *driver) bench(ctx context.Context, args ...string) (*result, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(dr.bin, "sockjs-bench"), append([]string{"-json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r result
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "{") {
			if jerr := json.Unmarshal([]byte(line), &r); jerr != nil {
				return nil, jerr
			}
			if err != nil {
				r.Failed = strings.TrimSpace(stderr.String())
			}
			return &r, nil
		}
	}
	if err == nil {
		err = fmt.Errorf("no result")
	}
	return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
}

func (dr *driver) measure(round int, c cell, server string) {
	r := &result{}
	p, err := dr.startServer(server)
	if err != nil {
		r.Failed = err.Error()
	} else {
		args := []string{
			"-url", fmt.Sprintf("http://127.0.0.1:%d/echo", ports[server]),
			"-transport", c.transport, "-workload", c.workload,
			"-pid", strconv.Itoa(p.pid),
			"-d", dr.d.String(), "-warmup", dr.warmup.String(),
			"-src", "127.0.0.1-127.0.0.8",
		}
		if c.c > 0 {
			args = append(args, "-c", strconv.Itoa(c.c))
		}
		if c.size > 0 {
			args = append(args, "-size", strconv.Itoa(c.size))
		}
		if c.window > 0 {
			args = append(args, "-window", strconv.Itoa(c.window))
		}
		if c.rate > 0 {
			args = append(args, "-rate", strconv.FormatFloat(c.rate, 'f', -1, 64))
		}
		if c.n > 0 {
			args = append(args, "-n", strconv.Itoa(c.n), "-settle", "3s")
		}
		if !strings.HasPrefix(c.transport, "websocket") {
			args = append(args, "-retry-busy")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		var res *result
		res, err = dr.bench(ctx, args...)
		cancel()
		p.stop()
		if err != nil {
			r.Failed = err.Error()
		} else {
			r = res
		}
	}
	r.Server, r.Round, r.Cell, r.Transport, r.Workload = server, round, c.name, c.transport, c.workload
	b, _ := json.Marshal(r)
	dr.raw.Write(append(b, '\n'))
	if r.Failed != "" {
		log.Printf("round %d %-12s %-8s FAILED: %.200s", round, c.name, server, r.Failed)
	} else if dr.verbose {
		log.Printf("round %d %-12s %-8s %10.0f ops/s p50 %6.0fµs p99 %6.0fµs srv %5.1fµs/op rss/sess %6.0f B",
			round, c.name, server, r.OpsPerSec, r.P50us, r.P99us, r.ServerCPUus, r.RSSPerSessionB)
	}
}

// scaleRun holds n websocket sessions on a fresh server of ours, opened by
// several load-tool processes (at most 9 000 sessions each, since a process
// may hold 20 000 files), each from its own set of 127.0.0.x addresses,
// and records the server's RSS per session.
func (dr *driver) scaleRun(n int) {
	r := &result{Server: "ours", Cell: "scale", Transport: "websocket", Workload: "idle", Sessions: n}
	defer func() {
		b, _ := json.Marshal(r)
		dr.raw.Write(append(b, '\n'))
		log.Printf("scale %6d sessions: RSS %d KiB -> %d KiB, %.0f B/session %s", n, r.RSSBaseKB, r.RSSKB, r.RSSPerSessionB, r.Failed)
	}()
	p, err := dr.startServer("ours")
	if err != nil {
		r.Failed = err.Error()
		return
	}
	defer p.stop()
	base, _ := rssKB(p.pid)
	r.RSSBaseKB = base
	k := (n + 8999) / 9000
	type client struct {
		cmd   *exec.Cmd
		ready chan error
		done  chan struct{}
	}
	var clients []*client
	t0 := time.Now()
	for j := 0; j < k; j++ {
		per := n / k
		if j < n%k {
			per++
		}
		src := fmt.Sprintf("127.0.%d.1-127.0.%d.4", j+1, j+1)
		cmd := exec.Command(filepath.Join(dr.bin, "sockjs-bench"), "-json",
			"-url", fmt.Sprintf("http://127.0.0.1:%d/echo", ports["ours"]),
			"-transport", "websocket", "-workload", "idle", "-n", strconv.Itoa(per),
			"-settle", "0s", "-hold", "2m", "-parallel", "16", "-src", src)
		stderr, _ := cmd.StderrPipe()
		cmd.Stdout = io.Discard
		if err := cmd.Start(); err != nil {
			r.Failed = err.Error()
			return
		}
		c := &client{cmd: cmd, ready: make(chan error, 1), done: make(chan struct{})}
		go func() {
			sc := bufio.NewScanner(stderr)
			var last string
			sent := false
			for sc.Scan() {
				last = sc.Text()
				if strings.HasPrefix(last, "ready ") && !sent {
					c.ready <- nil
					sent = true
				}
			}
			if !sent {
				c.ready <- fmt.Errorf("client ended: %s", last)
			}
			cmd.Wait()
			close(c.done)
		}()
		clients = append(clients, c)
	}
	defer func() {
		for _, c := range clients {
			c.cmd.Process.Kill()
			<-c.done
		}
	}()
	timeout := time.After(3 * time.Minute)
	for _, c := range clients {
		select {
		case err := <-c.ready:
			if err != nil {
				r.Failed = err.Error()
				return
			}
		case <-timeout:
			r.Failed = "clients did not open their sessions in time"
			return
		}
	}
	r.Seconds = time.Since(t0).Seconds()
	r.OpsPerSec = float64(n) / r.Seconds
	time.Sleep(3 * time.Second)
	var vs []int64
	for i := 0; i < 3; i++ {
		v, _ := rssKB(p.pid)
		vs = append(vs, v)
		time.Sleep(500 * time.Millisecond)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	r.RSSKB = vs[1]
	r.RSSPerSessionB = float64(r.RSSKB-base) * 1024 / float64(n)
}

func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func writeJSON(path string, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	os.WriteFile(path, append(b, '\n'), 0o644)
}
