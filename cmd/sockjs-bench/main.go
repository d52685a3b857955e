// Command sockjs-bench is a load generator for SockJS servers: echo round
// trips, pipelined (windowed) echo, idle sessions and session setup, over
// the websocket, raw websocket, xhr-streaming, xhr-polling and eventsource
// transports. It talks to loopback addresses only, and every run stops by
// itself.
//
//	go run ./cmd/sockjs-bench -url http://127.0.0.1:8081/echo -transport websocket -workload echo -c 10 -size 32 -d 5s
//
// An https:// URL runs the websocket transports over TLS (wss://), without
// checking the server's certificate (the target is loopback anyway).
//
// Workloads:
//
//	echo   C sessions, each sends one message of -size bytes and waits for
//	       its echo; msgs/s, p50 and p99 round-trip latency. Every echo is
//	       compared with what was sent. With -rate R (websockets), each
//	       session instead sends R messages per second on a timer, whether
//	       or not the echo has come (open loop, as load tools that pace
//	       do): every message then finds its session idle.
//	push   C sessions, each keeps -window messages in flight: the server
//	       pushes batches as fast as it can; msgs/s and latency.
//	idle   opens -n sessions and holds them; with -pid, the server's RSS
//	       per session (VmRSS from /proc/PID/status, before and after).
//	setup  C workers open a session (the open frame received) and close it
//	       (websocket close handshake), again and again; sessions/s.
//
// With -pid the server's CPU time over the measured interval is reported
// too (CPU µs per message), next to the tool's own.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// target is where and how to connect.
type target struct {
	transport string
	httpBase  string // http://host:port/prefix
	wsBase    string // ws://host:port/prefix
	pathBase  string // /prefix
	host      string // Host header
	hostport  string // address to dial
	retryBusy bool
	ioTimeout time.Duration
	tls       bool // wss:// (websocket transports only); the certificate is not checked: loopback only
}

type config struct {
	target
	workload   string
	c          int
	size       int
	window     int
	rate       float64
	n          int
	d          time.Duration
	warmup     time.Duration
	settle     time.Duration
	hold       time.Duration
	parallel   int
	pid        int
	srcs       []net.IP
	json       bool
	label      string
	cpuprofile string
	netHTTP    bool
}

// result is what one run reports; -json prints it as one line.
type result struct {
	Label     string  `json:"label,omitempty"`
	Transport string  `json:"transport"`
	Workload  string  `json:"workload"`
	C         int     `json:"c,omitempty"`
	Size      int     `json:"size,omitempty"`
	Window    int     `json:"window,omitempty"`
	Rate      float64 `json:"rate,omitempty"` // paced echo: messages per second per session
	Seconds   float64 `json:"seconds,omitempty"`
	Ops       int64   `json:"ops,omitempty"` // messages, or sessions for setup
	OpsPerSec float64 `json:"ops_per_s,omitempty"`
	P50us     float64 `json:"p50_us,omitempty"`
	P99us     float64 `json:"p99_us,omitempty"`
	Errors    int64   `json:"errors"`
	FirstErr  string  `json:"first_error,omitempty"`
	Busy      int64   `json:"busy_retries,omitempty"`

	Sessions       int     `json:"sessions,omitempty"`
	Alive          int     `json:"alive,omitempty"`
	RSSBaseKB      int64   `json:"rss_base_kb,omitempty"`
	RSSKB          int64   `json:"rss_kb,omitempty"`
	RSSPerSessionB float64 `json:"rss_per_session_b,omitempty"`
	ClientRSSKB    int64   `json:"client_rss_kb,omitempty"`

	ServerCPUs       float64 `json:"server_cpu_s,omitempty"`
	ClientCPUs       float64 `json:"client_cpu_s,omitempty"`
	ServerCPUusPerOp float64 `json:"server_cpu_us_per_op,omitempty"`
	ClientCPUusPerOp float64 `json:"client_cpu_us_per_op,omitempty"`
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockjs-bench:", err)
		os.Exit(2)
	}
	// Every run is bounded: a watchdog ends the process if the workload
	// overruns its budget by much.
	budget := cfg.warmup + cfg.d + cfg.hold + cfg.settle + 2*cfg.ioTimeout + 30*time.Second
	if cfg.workload == "idle" {
		budget += time.Duration(cfg.n) * 5 * time.Millisecond
	}
	time.AfterFunc(budget, func() {
		fmt.Fprintf(os.Stderr, "sockjs-bench: still running after %v, giving up\n", budget)
		os.Exit(3)
	})
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()

	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sockjs-bench:", err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	var res *result
	switch cfg.workload {
	case "echo", "push":
		res, err = runTraffic(ctx, cfg)
	case "idle":
		res, err = runIdle(ctx, cfg)
	case "setup":
		res, err = runSetup(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockjs-bench:", err)
		os.Exit(1)
	}
	res.Label = cfg.label
	res.Busy = busyRetries.Load()
	if cfg.json {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	} else {
		printResult(res)
	}
	if res.Errors > 0 {
		fmt.Fprintf(os.Stderr, "sockjs-bench: %d errors, first: %s\n", res.Errors, res.FirstErr)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("sockjs-bench", flag.ContinueOnError)
	cfg := &config{}
	rawURL := fs.String("url", "http://127.0.0.1:8081/echo", "base URL of the SockJS service (loopback only)")
	fs.StringVar(&cfg.transport, "transport", "websocket", "websocket, websocket-raw, xhr-streaming, xhr-polling or eventsource")
	fs.StringVar(&cfg.workload, "workload", "echo", "echo, push, idle or setup")
	fs.IntVar(&cfg.c, "c", 10, "concurrent sessions (echo, push) or workers (setup)")
	fs.IntVar(&cfg.size, "size", 32, "message size in bytes (at least 16)")
	fs.IntVar(&cfg.window, "window", 16, "messages in flight per session (push)")
	fs.Float64Var(&cfg.rate, "rate", 0, "echo: send this many messages per second per session on a timer (open loop, as load tools that pace do), instead of the next one as soon as the echo arrives; websocket transports only")
	fs.IntVar(&cfg.n, "n", 1000, "sessions to hold (idle)")
	fs.DurationVar(&cfg.d, "d", 5*time.Second, "measured duration (echo, push, setup)")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured run before the measured one")
	fs.DurationVar(&cfg.settle, "settle", 3*time.Second, "idle: wait after the last open before reading RSS")
	fs.DurationVar(&cfg.hold, "hold", 0, "idle: keep the sessions open this long after measuring")
	fs.IntVar(&cfg.parallel, "parallel", 32, "idle: sessions opened concurrently")
	fs.IntVar(&cfg.pid, "pid", 0, "server process id, for RSS and CPU time (0: not measured)")
	src := fs.String("src", "127.0.0.1", "comma-separated loopback source addresses, or a range 127.0.0.1-127.0.0.8")
	fs.DurationVar(&cfg.ioTimeout, "io-timeout", 10*time.Second, "bound on every network operation")
	fs.BoolVar(&cfg.netHTTP, "nethttp", false, "HTTP transports: use net/http's client (pooled Transport) instead of one raw keep-alive connection per lane")
	fs.BoolVar(&cfg.retryBusy, "retry-busy", false, "HTTP transports: reopen the receiving request after c[2010,\"Another connection still open\"] instead of failing (counted as busy_retries)")
	fs.BoolVar(&cfg.json, "json", false, "print the result as one JSON line")
	fs.StringVar(&cfg.label, "label", "", "label copied into the result")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write this tool's own CPU profile here")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch cfg.transport {
	case "websocket", "websocket-raw", "xhr-streaming", "xhr-polling", "eventsource":
	default:
		return nil, fmt.Errorf("unknown transport %q", cfg.transport)
	}
	switch cfg.workload {
	case "echo", "push", "idle":
	case "setup":
		if !strings.HasPrefix(cfg.transport, "websocket") {
			return nil, fmt.Errorf("setup is measured on websocket transports only (an HTTP session cannot be closed by its client)")
		}
	default:
		return nil, fmt.Errorf("unknown workload %q", cfg.workload)
	}
	if cfg.rate < 0 || cfg.rate > 0 && (cfg.workload != "echo" || !strings.HasPrefix(cfg.transport, "websocket")) {
		return nil, fmt.Errorf("-rate is for the echo workload on websocket transports")
	}
	if cfg.c < 1 || cfg.n < 1 || cfg.window < 1 || cfg.size < 16 {
		return nil, fmt.Errorf("-c, -n, -window must be positive and -size at least 16")
	}
	if cfg.d <= 0 || cfg.d > 10*time.Minute || cfg.warmup < 0 || cfg.hold > 10*time.Minute {
		return nil, fmt.Errorf("-d must be in (0, 10m], -hold at most 10m")
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-url must be http://host:port/prefix (or https:// for the websocket transports)")
	}
	if u.Scheme == "https" && !strings.HasPrefix(cfg.transport, "websocket") {
		return nil, fmt.Errorf("https:// URLs are measured on websocket transports only")
	}
	cfg.tls = u.Scheme == "https"
	if err := checkLoopback(u.Hostname()); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(u.Host+u.Path, "/")
	cfg.httpBase = "http://" + base
	cfg.wsBase = "ws://" + base
	if cfg.tls {
		cfg.httpBase, cfg.wsBase = "https://"+base, "wss://"+base
	}
	cfg.pathBase = strings.TrimSuffix(u.Path, "/")
	cfg.host = u.Host
	cfg.hostport = u.Host
	if u.Port() == "" {
		cfg.hostport = net.JoinHostPort(u.Hostname(), map[bool]string{false: "80", true: "443"}[cfg.tls])
	}
	if cfg.srcs, err = parseSources(*src); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkLoopback refuses any host that is not a loopback address: this tool
// generates load, and load only goes to this machine.
func checkLoopback(host string) error {
	ips, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("resolve %s: %v", host, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is not a loopback address: sockjs-bench only targets this machine", host)
		}
	}
	return nil
}

func parseSources(s string) ([]net.IP, error) {
	var out []net.IP
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a := net.ParseIP(lo).To4()
		if a == nil || !a.IsLoopback() {
			return nil, fmt.Errorf("source %q is not a loopback IPv4 address", lo)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b := net.ParseIP(hi).To4()
		if b == nil || !b.IsLoopback() || b[0] != a[0] || b[1] != a[1] || b[2] != a[2] || b[3] < a[3] {
			return nil, fmt.Errorf("bad source range %q", part)
		}
		for i := int(a[3]); i <= int(b[3]); i++ {
			out = append(out, net.IPv4(a[0], a[1], a[2], byte(i)).To4())
		}
	}
	return out, nil
}

func printResult(r *result) {
	fmt.Printf("%s %s", r.Transport, r.Workload)
	if r.C > 0 {
		fmt.Printf(" c=%d", r.C)
	}
	if r.Size > 0 {
		fmt.Printf(" size=%d", r.Size)
	}
	if r.Window > 0 {
		fmt.Printf(" window=%d", r.Window)
	}
	if r.Rate > 0 {
		fmt.Printf(" rate=%g/s per session", r.Rate)
	}
	fmt.Println()
	if r.Ops > 0 {
		unit := "msgs"
		if r.Workload == "setup" {
			unit = "sessions"
		}
		fmt.Printf("  %d %s in %.2fs: %.0f %s/s, p50 %.0fµs, p99 %.0fµs, %d errors",
			r.Ops, unit, r.Seconds, r.OpsPerSec, unit, r.P50us, r.P99us, r.Errors)
		if r.Busy > 0 {
			fmt.Printf(", %d polls answered c[2010] and retried", r.Busy)
		}
		fmt.Println()
	}
	if r.Sessions > 0 {
		fmt.Printf("  %d sessions (%d alive); server RSS %d KiB -> %d KiB: %.0f B per session; client RSS %d KiB\n",
			r.Sessions, r.Alive, r.RSSBaseKB, r.RSSKB, r.RSSPerSessionB, r.ClientRSSKB)
	}
	if r.ServerCPUs > 0 || r.ClientCPUs > 0 {
		fmt.Printf("  CPU: server %.2fs (%.1f µs/op), this tool %.2fs (%.1f µs/op)\n",
			r.ServerCPUs, r.ServerCPUusPerOp, r.ClientCPUs, r.ClientCPUusPerOp)
	}
}
