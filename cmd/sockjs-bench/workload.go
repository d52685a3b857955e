package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Phases of a measured run: workers count only what completes while the
// phase is measure.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

var idPrefix = func() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var idCounter atomic.Uint64

// newID returns a session id unique to this process run.
func newID() string { return idPrefix + strconv.FormatUint(idCounter.Add(1), 36) }

const hexDigits = "0123456789abcdef"

// fillBody writes the constant part of a message of len(buf) bytes: a
// pattern of letters after a 16-byte header.
func fillBody(buf []byte) {
	for i := 16; i < len(buf); i++ {
		buf[i] = 'a' + byte(i%26)
	}
}

// setHeader writes the 16-byte header that makes every message unique:
// the worker number (4 hex digits) and the sequence number (12).
func setHeader(buf []byte, worker int, seq uint64) {
	for i := 3; i >= 0; i-- {
		buf[i] = hexDigits[worker&0xf]
		worker >>= 4
	}
	for i := 15; i >= 4; i-- {
		buf[i] = hexDigits[seq&0xf]
		seq >>= 4
	}
}

// opener opens sessions of the configured transport.
type opener struct {
	t  *target
	nd *dialer
	ws *wsDialer
	cl *http.Client // nil: raw keep-alive lanes
}

func newOpener(cfg *config, conns int, pooled bool) *opener {
	nd := newDialer(cfg.srcs)
	o := &opener{t: &cfg.target, nd: nd}
	if cfg.transport == "websocket" || cfg.transport == "websocket-raw" {
		o.ws = newWSDialer(&cfg.target, nd, pooled)
	} else if cfg.netHTTP {
		o.cl = newHTTPClient(nd, conns)
	}
	return o
}

func (o *opener) open(ctx context.Context) (session, error) {
	ctx, cancel := context.WithTimeout(ctx, o.t.ioTimeout)
	defer cancel()
	if o.ws != nil {
		s, err := o.ws.dial(ctx, newID())
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := dialHTTP(ctx, o.t, o, newID())
	if err != nil {
		return nil, err
	}
	return s, nil
}

// worker holds what one traffic or setup goroutine measured.
type worker struct {
	h     hist
	ops   int64
	errs  int64
	first error
}

func (w *worker) fail(err error) {
	w.errs++
	if w.first == nil {
		w.first = err
	}
}

// measure runs fn in c workers: warm-up, the measured interval, stop. It
// returns the merged result with CPU times.
func measure(ctx context.Context, cfg *config, c int, fn func(i int, w *worker, phase *atomic.Int32)) *result {
	var phase atomic.Int32
	ws := make([]*worker, c)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i] = &worker{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i, ws[i], &phase)
		}()
	}
	sleepCtx(ctx, cfg.warmup)
	phase.Store(phaseMeasure)
	t0 := time.Now()
	cpu0 := selfCPU()
	var scpu0 time.Duration
	if cfg.pid > 0 {
		scpu0, _ = procCPU(cfg.pid)
	}
	sleepCtx(ctx, cfg.d)
	phase.Store(phaseStop)
	elapsed := time.Since(t0)
	cpu1 := selfCPU()
	var scpu1 time.Duration
	if cfg.pid > 0 {
		scpu1, _ = procCPU(cfg.pid)
	}
	wg.Wait()

	r := &result{Transport: cfg.transport, Workload: cfg.workload, C: c, Seconds: elapsed.Seconds()}
	var h hist
	for _, w := range ws {
		h.merge(&w.h)
		r.Ops += w.ops
		r.Errors += w.errs
		if w.first != nil && r.FirstErr == "" {
			r.FirstErr = w.first.Error()
		}
	}
	r.OpsPerSec = float64(r.Ops) / elapsed.Seconds()
	r.P50us = float64(h.quantile(0.50)) / 1e3
	r.P99us = float64(h.quantile(0.99)) / 1e3
	r.ClientCPUs = (cpu1 - cpu0).Seconds()
	if cfg.pid > 0 {
		r.ServerCPUs = (scpu1 - scpu0).Seconds()
	}
	if r.Ops > 0 {
		r.ClientCPUusPerOp = r.ClientCPUs * 1e6 / float64(r.Ops)
		r.ServerCPUusPerOp = r.ServerCPUs * 1e6 / float64(r.Ops)
	}
	r.ClientRSSKB = selfRSSKB()
	return r
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runTraffic runs the echo and push workloads.
func runTraffic(ctx context.Context, cfg *config) (*result, error) {
	o := newOpener(cfg, 4*cfg.c+16, false)
	sessions := make([]session, cfg.c)
	var wg sync.WaitGroup
	errs := make([]error, cfg.c)
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions[i], errs[i] = o.open(ctx)
		}()
	}
	wg.Wait()
	closeAll := func() {
		var cw sync.WaitGroup
		for _, s := range sessions {
			if s != nil {
				cw.Add(1)
				go func() { defer cw.Done(); s.close() }()
			}
		}
		cw.Wait()
	}
	for _, err := range errs {
		if err != nil {
			closeAll()
			return nil, err
		}
	}
	window := 1
	if cfg.workload == "push" {
		window = cfg.window
	}
	r := measure(ctx, cfg, cfg.c, func(i int, w *worker, phase *atomic.Int32) {
		if cfg.rate > 0 {
			paced(sessions[i], i, cfg.rate, cfg.size, w, phase)
			return
		}
		traffic(sessions[i], i, window, cfg.size, w, phase)
	})
	closeAll()
	r.Size = cfg.size
	r.Rate = cfg.rate
	if cfg.workload == "push" {
		r.Window = cfg.window
	}
	return r, nil
}

// traffic keeps window messages in flight on s until the phase is stop.
// Every message received must be the next one sent, byte for byte. With a
// window of 1 this is the echo workload.
func traffic(s session, idx, window, size int, w *worker, phase *atomic.Int32) {
	bufs := make([][]byte, window)
	for i := range bufs {
		bufs[i] = make([]byte, size)
		fillBody(bufs[i])
	}
	sent := make([]time.Time, window)
	batch := make([][]byte, 0, window)
	var next, expect uint64
	sendN := func(k int) error {
		batch = batch[:0]
		now := time.Now()
		for ; k > 0; k-- {
			slot := next % uint64(window)
			setHeader(bufs[slot], idx, next)
			sent[slot] = now
			batch = append(batch, bufs[slot])
			next++
		}
		return s.send(batch)
	}
	if err := sendN(window); err != nil {
		w.fail(err)
		return
	}
	for {
		msgs, err := s.recv()
		if err != nil {
			if phase.Load() != phaseStop {
				w.fail(err)
			}
			return
		}
		now := time.Now()
		measuring := phase.Load() == phaseMeasure
		for _, m := range msgs {
			if expect == next {
				w.fail(fmt.Errorf("session %d: unexpected extra message %.24q", idx, m))
				return
			}
			slot := expect % uint64(window)
			if !bytes.Equal(m, bufs[slot]) {
				w.fail(fmt.Errorf("session %d: message %d: got %.24q, want %.24q", idx, expect, m, bufs[slot]))
				return
			}
			if measuring {
				w.h.record(now.Sub(sent[slot]))
				w.ops++
			}
			expect++
		}
		if phase.Load() == phaseStop {
			return
		}
		if err := sendN(len(msgs)); err != nil {
			w.fail(err)
			return
		}
	}
}

// runSetup opens and closes websocket sessions in cfg.c workers.
func runSetup(ctx context.Context, cfg *config) (*result, error) {
	o := newOpener(cfg, 0, false)
	// Fail fast if the server is not there.
	s, err := o.open(ctx)
	if err != nil {
		return nil, err
	}
	s.close()
	r := measure(ctx, cfg, cfg.c, func(i int, w *worker, phase *atomic.Int32) {
		for phase.Load() != phaseStop {
			t := time.Now()
			s, err := o.open(ctx)
			if err != nil {
				if phase.Load() == phaseMeasure {
					w.fail(err)
				}
				if ctx.Err() != nil {
					return
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.close()
			if phase.Load() == phaseMeasure {
				w.h.record(time.Since(t))
				w.ops++
			}
		}
	})
	return r, nil
}

// runIdle opens cfg.n sessions, waits, measures the server's RSS, holds,
// and closes them.
func runIdle(ctx context.Context, cfg *config) (*result, error) {
	r := &result{Transport: cfg.transport, Workload: "idle", Sessions: cfg.n}
	if cfg.pid > 0 {
		v, err := rssKB(cfg.pid)
		if err != nil {
			return nil, err
		}
		r.RSSBaseKB = v
	}
	o := newOpener(cfg, cfg.n+16, true)
	sessions := make([]session, cfg.n)
	var alive atomic.Int64
	var next atomic.Int64
	var firstErr atomic.Value
	t0 := time.Now()
	var wg sync.WaitGroup
	for range min(cfg.parallel, cfg.n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.n || ctx.Err() != nil {
					return
				}
				s, err := o.open(ctx)
				if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					next.Store(int64(cfg.n)) // stop opening
					return
				}
				sessions[i] = s
				alive.Add(1)
				switch s := s.(type) {
				case *wsSession:
					go func() { s.discard(); alive.Add(-1) }()
				case *httpSession:
					go func() { <-s.done; alive.Add(-1) }()
				}
			}
		}()
	}
	wg.Wait()
	openTime := time.Since(t0)
	defer func() {
		var cw sync.WaitGroup
		sem := make(chan struct{}, 64)
		for _, s := range sessions {
			if s == nil {
				continue
			}
			cw.Add(1)
			sem <- struct{}{}
			go func() {
				defer cw.Done()
				defer func() { <-sem }()
				switch s := s.(type) {
				case *wsSession:
					s.c.Close()
				default:
					s.close()
				}
			}()
		}
		cw.Wait()
	}()
	if e := firstErr.Load(); e != nil {
		n := 0
		for _, s := range sessions {
			if s != nil {
				n++
			}
		}
		return nil, fmt.Errorf("opened %d of %d sessions: %s", n, cfg.n, e)
	}
	r.Seconds = openTime.Seconds()
	r.Ops = int64(cfg.n)
	r.OpsPerSec = float64(cfg.n) / openTime.Seconds()
	fmt.Fprintf(os.Stderr, "ready %d\n", cfg.n)
	sleepCtx(ctx, cfg.settle)
	if cfg.pid > 0 {
		// The median of three samples, half a second apart.
		var vs []int64
		for i := 0; i < 3; i++ {
			if i > 0 {
				sleepCtx(ctx, 500*time.Millisecond)
			}
			v, err := rssKB(cfg.pid)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
		sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
		r.RSSKB = vs[1]
		r.RSSPerSessionB = float64(r.RSSKB-r.RSSBaseKB) * 1024 / float64(cfg.n)
	}
	r.Alive = int(alive.Load())
	r.ClientRSSKB = selfRSSKB()
	if r.Alive != cfg.n {
		r.Errors = int64(cfg.n - r.Alive)
		r.FirstErr = fmt.Sprintf("%d of %d sessions ended before the measurement", cfg.n-r.Alive, cfg.n)
	}
	sleepCtx(ctx, cfg.hold)
	return r, nil
}

// paced sends one message every 1/rate seconds on s from a goroutine of
// its own, whether or not the previous echo has come (open loop, a random
// phase per session), and checks and times the echoes as they arrive. A
// message reaches a session that has been idle since the last one, unlike
// the closed-loop echo, where each session is always busy. At the stop,
// the sender keeps its pace until the receiver has seen an echo after it.
func paced(s session, idx int, rate float64, size int, w *worker, phase *atomic.Int32) {
	const ring = 4096 // messages in flight at most; more is an error
	period := time.Duration(float64(time.Second) / rate)
	var sentAt [ring]atomic.Int64
	var next, expect atomic.Uint64
	var sendErr atomic.Value
	done := make(chan struct{})
	defer close(done)
	go func() {
		buf := make([]byte, size)
		fillBody(buf)
		one := [][]byte{buf}
		t := time.NewTimer(time.Duration(mrand.Int64N(int64(period) + 1)))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			t.Reset(period)
			seq := next.Load()
			if seq-expect.Load() >= ring {
				sendErr.CompareAndSwap(nil, fmt.Errorf("session %d: %d messages without an echo", idx, ring))
				return
			}
			setHeader(buf, idx, seq)
			sentAt[seq%ring].Store(time.Now().UnixNano())
			next.Store(seq + 1)
			if err := s.send(one); err != nil {
				sendErr.CompareAndSwap(nil, err)
				return
			}
		}
	}()
	want := make([]byte, size)
	fillBody(want)
	for {
		if err, _ := sendErr.Load().(error); err != nil {
			w.fail(err)
			return
		}
		msgs, err := s.recv()
		if err != nil {
			if phase.Load() != phaseStop {
				w.fail(err)
			}
			return
		}
		now := time.Now().UnixNano()
		measuring := phase.Load() == phaseMeasure
		for _, m := range msgs {
			e := expect.Load()
			if e == next.Load() {
				w.fail(fmt.Errorf("session %d: unexpected extra message %.24q", idx, m))
				return
			}
			setHeader(want, idx, e)
			if !bytes.Equal(m, want) {
				w.fail(fmt.Errorf("session %d: message %d: got %.24q, want %.24q", idx, e, m, want))
				return
			}
			if measuring {
				w.h.record(time.Duration(now - sentAt[e%ring].Load()))
				w.ops++
			}
			expect.Store(e + 1)
		}
		if phase.Load() == phaseStop {
			return
		}
	}
}
