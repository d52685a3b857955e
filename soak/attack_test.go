package soak

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

var attack = flag.Bool("attack", false,
	"run TestAttackMemory: measure the echo server's RSS growth under cheap memory attacks; also SOCKJS_ATTACK=1")

// TestAttackMemory runs cmd/sockjs-echo in a process of its own (or the
// binary SOCKJS_ECHO_BIN names, to measure another build) and reports how
// much its resident set grows under attacks that cost the client little:
// floods of empty and one-byte messages over xhr_send and over a websocket
// that never reads, 32 senders of ~4 MiB parked on a session nobody polls,
// and sessions with long ids or long URLs. Each attack gets a fresh server.
// It is slow (about a minute) and measures the machine, so it runs only when
// asked:
//
//	go test ./soak/ -run TestAttackMemory -attack -v
func TestAttackMemory(t *testing.T) {
	if !*attack && os.Getenv("SOCKJS_ATTACK") == "" {
		t.Skip("run with -attack or SOCKJS_ATTACK=1")
	}
	bin := os.Getenv("SOCKJS_ECHO_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "sockjs-echo")
		out, err := exec.Command("go", "build", "-o", bin, "../cmd/sockjs-echo").CombinedOutput()
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	const limit = 50 << 20
	for _, a := range []struct {
		name string
		run  func(t *testing.T, base string, peak func()) string
	}{
		{"xhr_send empty messages, 1 MiB bodies", func(t *testing.T, base string, peak func()) string {
			return floodXHR(t, base, peak, `""`, 1<<20)
		}},
		{"xhr_send empty messages, 64 KiB bodies", func(t *testing.T, base string, peak func()) string {
			return floodXHR(t, base, peak, `""`, 64<<10)
		}},
		{"xhr_send 1-byte messages, 1 MiB bodies", func(t *testing.T, base string, peak func()) string {
			return floodXHR(t, base, peak, `"x"`, 1<<20)
		}},
		{"xhr_send 1-byte messages, 64 KiB bodies", func(t *testing.T, base string, peak func()) string {
			return floodXHR(t, base, peak, `"x"`, 64<<10)
		}},
		{"websocket never reading, empty messages, 1 MiB messages", func(t *testing.T, base string, peak func()) string {
			return floodWS(t, base, peak, "/0/wsflood/websocket", `""`, 1<<20)
		}},
		{"websocket never reading, empty messages, 64 KiB messages", func(t *testing.T, base string, peak func()) string {
			return floodWS(t, base, peak, "/0/wsflood/websocket", `""`, 64<<10)
		}},
		{"raw websocket never reading, empty messages", func(t *testing.T, base string, peak func()) string {
			return floodWS(t, base, peak, "/websocket", "", 0)
		}},
		{"32 parked senders of 4 MiB", parkedSenders},
		{"2000 sessions with 30 KiB ids", func(t *testing.T, base string, peak func()) string {
			return longRequests(t, base, peak, func(i int) string {
				return fmt.Sprintf("/0/%d%s/xhr", i, strings.Repeat("x", 30<<10))
			})
		}},
		{"2000 sessions with 30 KiB query strings", func(t *testing.T, base string, peak func()) string {
			return longRequests(t, base, peak, func(i int) string {
				return fmt.Sprintf("/0/q%d/xhr?%s", i, strings.Repeat("x", 30<<10))
			})
		}},
	} {
		t.Run(a.name, func(t *testing.T) {
			pid, base, stop := startEcho(t, bin)
			defer stop()
			before := procRSS(t, pid)
			var top int64
			peak := func() { top = max(top, procRSS(t, pid)) }
			note := a.run(t, base, peak)
			peak()
			grown := top - before
			t.Logf("RSS +%.1f MiB (%s)", float64(grown)/(1<<20), note)
			if grown > limit {
				t.Errorf("RSS grew by %.1f MiB, more than %d MiB", float64(grown)/(1<<20), limit>>20)
			}
		})
	}
}

// startEcho starts the echo server binary; it returns the process id, the
// /echo base URL and a function that stops it.
func startEcho(t *testing.T, bin string) (int, string, func()) {
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	addr := ""
	for sc.Scan() {
		if _, a, ok := strings.Cut(sc.Text(), "listening on http://"); ok {
			addr = strings.TrimRight(a, `"`)
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	if addr == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the echo server did not say where it listens")
	}
	time.Sleep(200 * time.Millisecond) // let it settle
	return cmd.Process.Pid, "http://" + addr + "/echo", func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

func procRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// body returns a JSON array of copies of item, about size bytes long.
func body(item string, size int) []byte {
	n := size / (len(item) + 1)
	b := make([]byte, 0, size+2)
	b = append(b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, item...)
	}
	return append(b, ']')
}

// floodXHR opens a session and posts bodies to it for a few seconds, never
// polling; it returns the statuses seen.
func floodXHR(t *testing.T, base string, peak func(), item string, size int) string {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	res, err := c.Post(base+"/0/flood/xhr", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	b := body(item, size)
	statuses := map[string]int{}
	deadline := time.Now().Add(4 * time.Second)
	for n := 0; n < 200 && time.Now().Before(deadline); n++ {
		res, err := c.Post(base+"/0/flood/xhr_send", "text/plain", bytes.NewReader(b))
		if err != nil {
			statuses["error"]++
			continue
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses[strconv.Itoa(res.StatusCode)]++
	}
	time.Sleep(300 * time.Millisecond)
	peak()
	return fmt.Sprint(statuses)
}

// floodWS sends messages on a websocket it never reads until the server
// stops reading it. item "" with size 0 sends empty frames.
func floodWS(t *testing.T, base string, peak func(), path, item string, size int) string {
	u := "ws" + strings.TrimPrefix(base, "http") + path
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var msg []byte
	if size > 0 {
		msg = body(item, size)
	}
	sent := 0
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
			break
		}
		sent++
	}
	time.Sleep(300 * time.Millisecond)
	peak()
	return fmt.Sprintf("%d messages written", sent)
}

// parkedSenders posts 32 bodies of ~4 MiB at once to a session nobody
// polls, measures, then waits for the session to expire and reports the
// answers.
func parkedSenders(t *testing.T, base string, peak func()) string {
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	res, err := c.Post(base+"/0/parked/xhr", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	b := []byte(`["` + strings.Repeat("x", 4<<20-100) + `"]`)
	var mu sync.Mutex
	statuses := map[string]int{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/0/parked/xhr_send", bytes.NewReader(b))
			res, err := c.Do(req)
			s := "error"
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				s = strconv.Itoa(res.StatusCode)
			}
			mu.Lock()
			statuses[s]++
			mu.Unlock()
		}()
	}
	time.Sleep(3 * time.Second) // the bodies are sent; the server holds what it holds
	peak()
	wg.Wait()
	return "answers " + fmt.Sprint(statuses)
}

// longRequests opens 2000 xhr sessions at the URLs path(i) returns.
func longRequests(t *testing.T, base string, peak func(), path func(i int) string) string {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer c.CloseIdleConnections()
	statuses := map[string]int{}
	for i := 0; i < 2000; i++ {
		res, err := c.Post(base+path(i), "text/plain", nil)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				statuses["timeout"]++
				continue
			}
			statuses["error"]++
			continue
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses[strconv.Itoa(res.StatusCode)]++
	}
	peak()
	return "answers " + fmt.Sprint(statuses)
}
