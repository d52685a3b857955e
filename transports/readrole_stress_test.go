package transports

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/session"
)

// TestReadRoleStress runs many websocket sessions whose applications call
// Recv in every way (with the session's context, with short contexts of
// their own that end, after pauses that let a background reader take the
// role), with random delays injected at every hand-over point of the read
// role, and checks that every message is echoed exactly once, in order.
// Heartbeats every 10 ms start background readers all the time. The short
// form runs in CI; READROLE_STRESS=long runs ten times as much.
func TestReadRoleStress(t *testing.T) {
	sessions, messages := 20, 300
	if os.Getenv("READROLE_STRESS") == "long" {
		sessions, messages = 40, 500
	}
	var counts [16]atomic.Int64
	session.SetPause(func(p session.PausePoint) {
		counts[p].Add(1)
		switch n := rand.IntN(10); {
		case n < 5:
		case n < 8:
			runtime.Gosched()
		default:
			time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		}
	})
	t.Cleanup(func() { session.SetPause(nil) })

	policy, err := NewOriginPolicy(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("server log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	table := session.NewTable(session.Config{
		Logger:          logger,
		HeartbeatDelay:  10 * time.Millisecond,
		DisconnectDelay: time.Second,
		AttachWait:      50 * time.Millisecond,
		MaxQueuedBytes:  1 << 20,
		MaxSessions:     1000,
	}, stressApp)
	ts := httptest.NewServer(NewServer(Config{ResponseLimit: 4096, MaxMessageBytes: 1 << 16,
		WriteTimeout: 5 * time.Second, Origins: policy, CloseWait: time.Second,
		LivenessTimeout: time.Minute, Logger: logger}, table))
	shutdownAtCleanup(t, table, ts)
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := stressClient(fmt.Sprintf("%s/0/stress%d/websocket", url, i), i, messages); err != nil {
				t.Errorf("session %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	var seen []string
	for p := range session.PauseLetGo + 1 {
		seen = append(seen, fmt.Sprintf("%d:%d", p, counts[p].Load()))
		if counts[p].Load() == 0 {
			t.Errorf("hand-over point %d never reached", p)
		}
	}
	t.Logf("hand-over points reached: %s", strings.Join(seen, " "))
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stressApp echoes, calling Recv in one of three ways at random.
func stressApp(s *session.Session) {
	for {
		var m string
		var err error
		switch n := rand.IntN(10); {
		case n < 5:
			m, err = s.Recv(s.Context())
		case n < 8: // a context of its own, which often ends first
			ctx, cancel := context.WithTimeout(s.Context(), time.Duration(rand.IntN(2000))*time.Microsecond)
			m, err = s.Recv(ctx)
			cancel()
			if err != nil && s.Err() == nil {
				continue
			}
		default: // busy elsewhere: a background reader may take the role
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
			m, err = s.Recv(s.Context())
		}
		if err != nil {
			return
		}
		if s.Send(s.Context(), m) != nil {
			return
		}
	}
}

// stressClient sends messages in bursts and checks that each comes back
// once, in order.
func stressClient(url string, id, messages int) error {
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	next := 0         // the next echo expected
	var due time.Time // when echo next must have come: heartbeats do not count
	read := func() error {
		c.SetReadDeadline(due)
		_, p, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("waiting for echo %d: %v", next, err)
		}
		f := string(p)
		if f == "o" || f == "h" {
			return nil
		}
		if !strings.HasPrefix(f, `a[`) {
			return fmt.Errorf("unexpected frame %q", f)
		}
		for _, m := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(f, `a[`), `]`), ",") {
			if want := fmt.Sprintf(`"%d.%d"`, id, next); m != want {
				return fmt.Errorf("echo %s; want %s", m, want)
			}
			next++
		}
		return nil
	}
	sent := 0
	for sent < messages {
		burst := min(1+rand.IntN(4), messages-sent)
		for range burst {
			if err := c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`["%d.%d"]`, id, sent))); err != nil {
				return err
			}
			sent++
		}
		due = time.Now().Add(10 * time.Second)
		for next < sent {
			if err := read(); err != nil {
				return err
			}
		}
		if rand.IntN(4) == 0 { // idle a moment: heartbeats start a background reader
			time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
		}
	}
	return nil
}
