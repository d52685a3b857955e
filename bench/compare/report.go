package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/template"
	"time"
)

type machine struct {
	Date     string
	CPU      string
	Cores    int
	MemGiB   int
	Kernel   string
	Go       string
	Node     string
	Start    string // load averages when the run started
	End      string
	Duration string
	Rounds   int
	D        string
	Warmup   string
	Rev      string // library revision
}

func machineInfo() machine {
	m := machine{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		m.MemGiB = int((kb + 512<<10) >> 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := exec.Command("node", "--version").Output(); err == nil {
		m.Node = strings.TrimSpace(string(b))
	}
	return m
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// stat is the medians of one cell on one server.
type stat struct {
	ok, failed  int
	ops         float64 // median ops/s
	p50, p99    float64
	cpu         float64 // server CPU µs per op
	clientCPU   float64
	rss         float64 // bytes per idle session
	busy        int64
	firstFailed string
	perRound    map[int]float64 // ops/s (or rss) by round, for per-round ratios
	cpuRound    map[int]float64 // server CPU µs per op by round
}

func (dr *driver) load() ([]result, error) {
	f, err := os.Open(filepath.Join(dr.out, "raw.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs []result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err == nil {
			rs = append(rs, r)
		}
	}
	return rs, sc.Err()
}

func summarize(rs []result) map[string]map[string]*stat {
	type acc struct{ ops, p50, p99, cpu, ccpu, rss []float64 }
	accs := map[string]map[string]*acc{}
	out := map[string]map[string]*stat{}
	for _, r := range rs {
		if r.Cell == "scale" {
			continue
		}
		if out[r.Cell] == nil {
			out[r.Cell] = map[string]*stat{}
			accs[r.Cell] = map[string]*acc{}
		}
		st := out[r.Cell][r.Server]
		if st == nil {
			st = &stat{perRound: map[int]float64{}, cpuRound: map[int]float64{}}
			out[r.Cell][r.Server] = st
			accs[r.Cell][r.Server] = &acc{}
		}
		a := accs[r.Cell][r.Server]
		if r.Failed != "" || r.Errors > 0 {
			st.failed++
			if st.firstFailed == "" {
				st.firstFailed = r.Failed
				if st.firstFailed == "" {
					st.firstFailed = r.FirstErr
				}
			}
			continue
		}
		st.ok++
		st.busy += r.Busy
		if r.Workload == "idle" {
			a.rss = append(a.rss, r.RSSPerSessionB)
			st.perRound[r.Round] = r.RSSPerSessionB
			continue
		}
		a.ops = append(a.ops, r.OpsPerSec)
		a.p50 = append(a.p50, r.P50us)
		a.p99 = append(a.p99, r.P99us)
		a.cpu = append(a.cpu, r.ServerCPUus)
		a.ccpu = append(a.ccpu, r.ClientCPUus)
		st.perRound[r.Round] = r.OpsPerSec
		st.cpuRound[r.Round] = r.ServerCPUus
	}
	for c, m := range out {
		for s, st := range m {
			a := accs[c][s]
			st.ops, st.p50, st.p99, st.cpu, st.clientCPU, st.rss =
				median(a.ops), median(a.p50), median(a.p99), median(a.cpu), median(a.ccpu), median(a.rss)
		}
	}
	return out
}

// ratio is ours over other (or other over ours for memory, so that > 1 is
// always better for us), with the range of the per-round ratios.
type ratio struct {
	v, lo, hi float64
}

func cellRatio(st map[string]*stat, other string, idle bool) (ratio, bool) {
	a, b := st["ours"], st[other]
	if a == nil || b == nil || a.ok == 0 || b.ok == 0 {
		return ratio{}, false
	}
	r := ratio{lo: math.Inf(1), hi: math.Inf(-1)}
	if idle {
		r.v = b.rss / a.rss
	} else {
		r.v = a.ops / b.ops
	}
	for round, x := range a.perRound {
		y, ok := b.perRound[round]
		if !ok {
			continue
		}
		q := x / y
		if idle {
			q = y / x
		}
		r.lo, r.hi = math.Min(r.lo, q), math.Max(r.hi, q)
	}
	return r, true
}

// cpuRatio is other's server CPU per message over ours (> 1: we spend
// less), with the range of the per-round ratios.
func cpuRatio(st map[string]*stat, other string) (ratio, bool) {
	a, b := st["ours"], st[other]
	if a == nil || b == nil || a.ok == 0 || b.ok == 0 || a.cpu <= 0 || b.cpu <= 0 {
		return ratio{}, false
	}
	r := ratio{v: b.cpu / a.cpu, lo: math.Inf(1), hi: math.Inf(-1)}
	for round, x := range a.cpuRound {
		if y, ok := b.cpuRound[round]; ok && x > 0 && y > 0 {
			r.lo, r.hi = math.Min(r.lo, y/x), math.Max(r.hi, y/x)
		}
	}
	return r, true
}

// inverse is 1/r: ours over other.
func (r ratio) inverse() ratio {
	return ratio{v: 1 / r.v, lo: 1 / r.hi, hi: 1 / r.lo}
}

func (r ratio) String() string {
	if math.IsInf(r.lo, 0) || r.lo == r.hi {
		return fmt.Sprintf("%.2f×", r.v)
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", r.v, r.lo, r.hi)
}

func human(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 10000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.2fk", v/1000)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

type target struct {
	Name, Goal, Measured, Verdict string
	CPU                           string // the same comparison in server CPU per message
}

type report struct {
	M          machine
	Throughput string
	Latency    string
	Targets    []target
	Targets16  []target // issue 16's goals, on server CPU per message
	Scale      string
	Projection string
	Failures   []string
	Micro      string
}

func (dr *driver) report(cells []cell) error {
	rs, err := dr.load()
	if err != nil {
		return err
	}
	sum := summarize(rs)
	var rep report
	if b, err := os.ReadFile(filepath.Join(dr.out, "machine.json")); err == nil {
		json.Unmarshal(b, &rep.M)
	}

	var tb, lt strings.Builder
	tb.WriteString("| cell | ours | igm | node | gorilla | ours/igm | ours/node | ours/gorilla |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
	lt.WriteString("| cell | server | p50 µs | p99 µs | server CPU µs/op | load tool CPU µs/op |\n|---|---|--:|--:|--:|--:|\n")
	for _, c := range cells {
		st := sum[c.name]
		if st == nil {
			continue
		}
		idle := c.workload == "idle"
		fmt.Fprintf(&tb, "| %s |", c.title)
		for _, s := range allServers {
			x := st[s]
			switch {
			case x == nil:
				tb.WriteString(" n/a |")
			case x.ok == 0:
				tb.WriteString(" failed |")
				rep.Failures = append(rep.Failures, fmt.Sprintf("%s on %s: %.300s", c.title, serverNames[s], x.firstFailed))
			case idle:
				fmt.Fprintf(&tb, " %.1f KB |", x.rss/1000)
			default:
				unit := "/s"
				fmt.Fprintf(&tb, " %s%s |", human(x.ops), unit)
			}
			if x != nil && x.failed > 0 && x.ok > 0 {
				rep.Failures = append(rep.Failures, fmt.Sprintf("%s on %s: %d of %d runs failed: %.300s", c.title, serverNames[s], x.failed, x.failed+x.ok, x.firstFailed))
			}
			if x != nil && x.busy > 0 {
				rep.Failures = append(rep.Failures, fmt.Sprintf("%s on %s: %d receiving requests were answered c[2010,\"Another connection still open\"] and retried by the load tool, over %d runs (sockjs-client would have closed the session)", c.title, serverNames[s], x.busy, x.ok+x.failed))
			}
		}
		for _, s := range []string{"igm", "node", "gorilla"} {
			if r, ok := cellRatio(st, s, idle); ok {
				fmt.Fprintf(&tb, " %s |", r)
			} else {
				tb.WriteString(" |")
			}
		}
		tb.WriteString("\n")
		if !idle {
			for _, s := range allServers {
				if x := st[s]; x != nil && x.ok > 0 {
					fmt.Fprintf(&lt, "| %s | %s | %.0f | %.0f | %.1f | %.1f |\n", c.title, s, x.p50, x.p99, x.cpu, x.clientCPU)
				}
			}
		}
	}
	rep.Throughput, rep.Latency = tb.String(), lt.String()
	rep.Targets = targets(sum)
	rep.Targets16 = targets16(sum)
	rep.Scale, rep.Projection = scaleTable(rs)
	if b, err := os.ReadFile(filepath.Join(dr.out, "micro.txt")); err == nil {
		rep.Micro = strings.TrimSpace(string(b))
	}

	if err := dr.charts(cells, sum, rs); err != nil {
		fmt.Fprintln(os.Stderr, "compare: charts:", err)
	}
	var md bytes.Buffer
	md.WriteString("# Summary\n\n" + rep.Throughput + "\n" + rep.Latency + "\n")
	for _, t := range rep.Targets {
		fmt.Fprintf(&md, "- %s: goal %s, measured %s (server CPU per message: %s): %s\n", t.Name, t.Goal, t.Measured, t.CPU, t.Verdict)
	}
	md.WriteString("\nIssue 16, on server CPU per message:\n\n")
	for _, t := range rep.Targets16 {
		fmt.Fprintf(&md, "- %s: goal %s, measured %s: %s\n", t.Name, t.Goal, t.Measured, t.Verdict)
	}
	md.WriteString("\n" + rep.Scale + "\n" + rep.Projection + "\n")
	for _, f := range rep.Failures {
		md.WriteString("- " + f + "\n")
	}
	os.WriteFile(filepath.Join(dr.out, "summary.md"), md.Bytes(), 0o644)
	os.Stdout.Write(md.Bytes())

	tmpl, err := template.ParseFiles(filepath.Join(dr.root, "bench/BENCHMARKS.md.tmpl"))
	if err != nil {
		return err
	}
	var doc bytes.Buffer
	if err := tmpl.Execute(&doc, rep); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dr.root, "BENCHMARKS.md"), doc.Bytes(), 0o644)
}

func targets(sum map[string]map[string]*stat) []target {
	var ts []target
	speed := func(name, cell, other string, goal float64) {
		t := target{Name: name, Goal: fmt.Sprintf("≥ %.1f× %s", goal, other)}
		r, ok := cellRatio(sum[cell], other, false)
		if a, b := sum[cell]["ours"], sum[cell][other]; ok && a.cpu > 0 && b.cpu > 0 {
			t.CPU = fmt.Sprintf("%.2f×", b.cpu/a.cpu)
		}
		if !ok {
			t.Measured, t.Verdict = "–", "not measured"
		} else {
			t.Measured = r.String()
			if r.v >= goal {
				t.Verdict = "met"
			} else {
				t.Verdict = fmt.Sprintf("missed by %.0f%%", (goal-r.v)/goal*100)
			}
		}
		ts = append(ts, t)
	}
	mem := func(name, cell string, goal float64) {
		t := target{Name: name, Goal: fmt.Sprintf("≤ %.0f KB per session", goal/1000)}
		st := sum[cell]["ours"]
		if st == nil || st.ok == 0 {
			t.Measured, t.Verdict = "–", "not measured"
		} else {
			t.Measured = fmt.Sprintf("%.1f KB", st.rss/1000)
			if st.rss <= goal {
				t.Verdict = "met"
			} else {
				t.Verdict = fmt.Sprintf("missed by %.0f%%", (st.rss-goal)/goal*100)
			}
		}
		ts = append(ts, t)
	}
	speed("websocket echo 32 B, C=10", "ws-echo-32", "igm", 1.5)
	speed("websocket echo 32 B, C=10", "ws-echo-32", "gorilla", 0.9)
	speed("websocket echo 4 KiB, C=10", "ws-echo-4k", "igm", 2.5)
	speed("xhr-streaming echo, C=10", "xs-echo-32", "igm", 2)
	speed("xhr-polling echo, C=10", "xp-echo-32", "igm", 2)
	speed("eventsource echo, C=10", "es-echo-32", "igm", 2)
	mem("idle websocket sessions", "ws-idle", 12000)
	mem("idle xhr-streaming sessions", "xs-idle", 12000)
	speed("websocket session setup, C=10", "ws-setup", "igm", 1.3)
	return ts
}

// targets16 are issue 16's goals, judged on server CPU per message (per
// round ratios in brackets).
func targets16(sum map[string]map[string]*stat) []target {
	var ts []target
	verdict := func(ok bool, miss float64) string {
		if ok {
			return "met"
		}
		return fmt.Sprintf("missed by %.0f%%", miss*100)
	}
	// atLeast: other's CPU per message over ours ≥ goal.
	atLeast := func(name, cell, other string, goal float64) {
		t := target{Name: name, Goal: fmt.Sprintf("≥ %.2g× %s", goal, other)}
		if r, ok := cpuRatio(sum[cell], other); !ok {
			t.Measured, t.Verdict = "–", "not measured"
		} else {
			t.Measured, t.Verdict = r.String(), verdict(r.v >= goal, (goal-r.v)/goal)
		}
		ts = append(ts, t)
	}
	// atMost: ours over the floor's CPU per message ≤ goal.
	atMost := func(name, cell string, goal float64) {
		t := target{Name: name, Goal: fmt.Sprintf("≤ %.2g× the net/http floor", goal)}
		if r, ok := cpuRatio(sum[cell], "gorilla"); !ok {
			t.Measured, t.Verdict = "–", "not measured"
		} else {
			r = r.inverse()
			t.Measured, t.Verdict = r.String(), verdict(r.v <= goal, (r.v-goal)/goal)
		}
		ts = append(ts, t)
	}
	for _, c := range []struct{ name, cell string }{
		{"websocket echo 32 B, C=10", "ws-echo-32"},
		{"websocket echo 32 B, C=1000", "ws-echo-32-c1000"},
		{"raw websocket echo 32 B, C=10", "raw-echo-32"},
		{"raw websocket echo 32 B, C=1000", "raw-echo-32-c1000"},
	} {
		atLeast(c.name, c.cell, "igm", 1.2)
		atLeast(c.name, c.cell, "gorilla", 0.95)
	}
	atMost("xhr-streaming echo 32 B, C=10", "xs-echo-32", 1.1)
	atMost("eventsource echo 32 B, C=10", "es-echo-32", 1.1)
	atMost("xhr-polling echo 32 B, C=10", "xp-echo-32", 1.1)
	atLeast("websocket push 32 B, C=10, window 16", "ws-push-32", "igm", 5)
	atLeast("websocket echo 4 KiB, C=10", "ws-echo-4k", "igm", 2.5)
	atLeast("websocket session setup, C=10", "ws-setup", "igm", 1.3)
	t := target{Name: "idle websocket sessions", Goal: "≤ 11 KB per session (aim 8 KB)"}
	if st := sum["ws-idle"]["ours"]; st == nil || st.ok == 0 {
		t.Measured, t.Verdict = "–", "not measured"
	} else {
		t.Measured, t.Verdict = fmt.Sprintf("%.1f KB", st.rss/1000), verdict(st.rss <= 11000, (st.rss-11000)/11000)
	}
	ts = append(ts, t)
	return ts
}

func scaleTable(rs []result) (string, string) {
	var sc []result
	for _, r := range rs {
		if r.Cell == "scale" {
			sc = append(sc, r)
		}
	}
	if len(sc) == 0 {
		return "", ""
	}
	sort.Slice(sc, func(i, j int) bool { return sc[i].Sessions < sc[j].Sessions })
	var b strings.Builder
	b.WriteString("| websocket sessions | server RSS before | server RSS with the sessions | per session | opened in |\n|--:|--:|--:|--:|--:|\n")
	var last result
	for _, r := range sc {
		if r.Failed != "" {
			fmt.Fprintf(&b, "| %d | failed: %.120s | | | |\n", r.Sessions, r.Failed)
			continue
		}
		fmt.Fprintf(&b, "| %d | %.1f MiB | %.1f MiB | %.1f KB | %.1f s |\n", r.Sessions, float64(r.RSSBaseKB)/1024, float64(r.RSSKB)/1024, r.RSSPerSessionB/1000, r.Seconds)
		last = r
	}
	if last.Sessions == 0 {
		return b.String(), ""
	}
	per := last.RSSPerSessionB
	proj := fmt.Sprintf("At %.1f KB per session (measured at %d sessions), 1 000 000 idle websocket sessions need about %.1f GB of server memory "+
		"(%.1f GiB), plus the kernel's socket buffers (not in RSS: on Linux an idle TCP socket costs a few KB of kernel memory) "+
		"and 1 000 000 file descriptors, which needs a raised `ulimit -n` and, beyond one client address's ~28 000 ephemeral ports, many client addresses.",
		per/1000, last.Sessions, per*1e6/1e9, per*1e6/(1<<30))
	return b.String(), proj
}

// charts writes one gnuplot data file and chart per transport (throughput
// relative to igm/sockjs-go), one for idle memory and one for the scale
// run, and runs gnuplot when it is installed.
func (dr *driver) charts(cells []cell, sum map[string]map[string]*stat, rs []result) error {
	dir := filepath.Join(dr.root, "bench/charts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var gp strings.Builder
	gp.WriteString("set terminal pngcairo size 900,480 font 'DejaVu Sans,11'\nset style data histograms\nset style histogram clustered gap 1\n" +
		"set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\nset key outside right top\nset offsets 0,0,graph 0.08,0\nset datafile missing '?'\nset yrange [0:*]\n" +
		"set xtics noenhanced\nset key noenhanced\nset xrange [-0.6:*]\n")
	groups := []struct{ file, title, transport string }{
		{"websocket", "SockJS websocket", "websocket"},
		{"websocket-raw", "raw websocket", "websocket-raw"},
		{"xhr-streaming", "xhr-streaming", "xhr-streaming"},
		{"xhr-polling", "xhr-polling", "xhr-polling"},
		{"eventsource", "eventsource", "eventsource"},
	}
	for _, g := range groups {
		var dat strings.Builder
		dat.WriteString("# cell ours igm node gorilla\n")
		rows := 0
		for _, c := range cells {
			if c.transport != g.transport || c.workload == "idle" || sum[c.name] == nil {
				continue
			}
			base := sum[c.name]["igm"]
			if base == nil || base.ok == 0 {
				continue // no reference: the table has the numbers
			}
			fmt.Fprintf(&dat, "%q", c.short)
			for _, s := range allServers {
				x := sum[c.name][s]
				if x == nil || x.ok == 0 {
					dat.WriteString(" ?")
				} else {
					fmt.Fprintf(&dat, " %.3f", x.ops/base.ops)
				}
			}
			dat.WriteString("\n")
			rows++
		}
		if rows == 0 {
			continue
		}
		df := filepath.Join(dir, g.file+".dat")
		os.WriteFile(df, []byte(dat.String()), 0o644)
		fmt.Fprintf(&gp, "set output '%s'\nset title \"%s: throughput relative to igm/sockjs-go (= 1), median of %d rounds, C=10\" noenhanced\nset ylabel 'ratio'\n"+
			"plot for [i=2:5] '%s' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '%s' using ($0+(i-3.5)*0.2):i:(sprintf('%%.2f',column(i))) with labels offset 0,0.7 font ',9' notitle\n",
			filepath.Join(dir, g.file+".png"), g.title, rounds(rs), df, df)
	}
	// Idle memory.
	var dat strings.Builder
	dat.WriteString("# cell ours igm node gorilla\n")
	for _, c := range cells {
		if c.workload != "idle" || sum[c.name] == nil {
			continue
		}
		fmt.Fprintf(&dat, "%q", c.short)
		for _, s := range allServers {
			if x := sum[c.name][s]; x != nil && x.ok > 0 {
				fmt.Fprintf(&dat, " %.2f", x.rss/1000)
			} else {
				dat.WriteString(" ?")
			}
		}
		dat.WriteString("\n")
	}
	df := filepath.Join(dir, "idle.dat")
	os.WriteFile(df, []byte(dat.String()), 0o644)
	fmt.Fprintf(&gp, "set output '%s'\nset title 'Server RSS per idle session (KB, lower is better)'\nset ylabel 'KB per session'\n"+
		"plot for [i=2:5] '%s' using i:xtic(1) title word('ours igm node gorilla',i-1), for [i=2:5] '%s' using ($0+(i-3.5)*0.2):i:(sprintf('%%.1f',column(i))) with labels offset 0,0.7 font ',9' notitle\n",
		filepath.Join(dir, "idle.png"), df, df)
	// Scale.
	var sc strings.Builder
	for _, r := range rs {
		if r.Cell == "scale" && r.Failed == "" {
			fmt.Fprintf(&sc, "%d %.2f\n", r.Sessions, r.RSSPerSessionB/1000)
		}
	}
	if sc.Len() > 0 {
		sf := filepath.Join(dir, "scale.dat")
		os.WriteFile(sf, []byte(sc.String()), 0o644)
		fmt.Fprintf(&gp, "unset style\nunset offsets\nset xrange [*:*]\nset style data linespoints\nset output '%s'\nset title 'go-sockjs: server RSS per idle websocket session vs sessions open'\n"+
			"set xlabel 'sessions'\nset ylabel 'KB per session'\nset logscale x\nset xrange [700:30000]\nset yrange [0:*]\nunset xtics\nset xtics\n"+
			"plot '%s' using 1:2 with linespoints lw 2 pt 7 title 'ours', '' using 1:2:(sprintf('%%.1f',$2)) with labels offset 0,1 notitle\n",
			filepath.Join(dir, "scale.png"), sf)
	}
	script := filepath.Join(dir, "charts.gp")
	if err := os.WriteFile(script, []byte(gp.String()), 0o644); err != nil {
		return err
	}
	if _, err := exec.LookPath("gnuplot"); err != nil {
		return fmt.Errorf("gnuplot not installed (apt-get install gnuplot-nox): charts not drawn")
	}
	out, err := exec.Command("gnuplot", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("gnuplot: %v: %s", err, out)
	}
	return nil
}

func rounds(rs []result) int {
	n := 0
	for _, r := range rs {
		n = max(n, r.Round)
	}
	return n
}
