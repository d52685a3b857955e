package transports

import (
	"errors"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-sockjs/sockjs/internal/session"
)

// TestTimersOverHTTP drives the SockJS defaults (25 s heartbeat, 5 s
// disconnect delay) through the real handlers in fake time.
func TestTimersOverHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		policy, _ := NewOriginPolicy(nil, nil)
		closed := make(chan error, 3)
		table := session.NewTable(session.Config{
			HeartbeatDelay:  25 * time.Second,
			DisconnectDelay: 5 * time.Second,
			AttachWait:      100 * time.Millisecond,
			MaxQueuedBytes:  1 << 20,
			MaxSessions:     10,
		}, func(s *session.Session) {
			_, err := s.Recv(s.Context())
			closed <- err
		})
		srv := NewServer(Config{ResponseLimit: 4096, MaxMessageBytes: 1 << 20, WriteTimeout: time.Second, Origins: policy, CloseWait: time.Second}, table)
		poll := func(path string) (string, time.Duration) {
			start := time.Now()
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest("POST", path, nil))
			return w.Body.String(), time.Since(start)
		}
		if body, _ := poll("/0/a/xhr"); body != "o\n" {
			t.Fatalf("first poll %q", body)
		}
		if body, d := poll("/0/a/xhr"); body != "h\n" || d != 25*time.Second {
			t.Fatalf("idle poll = %q after %v, want h after 25s", body, d)
		}
		// No poll for 5 s: the session closes with 1002 and is forgotten, so
		// the next poll opens a new one.
		time.Sleep(4900 * time.Millisecond)
		synctest.Wait()
		if _, ok := table.Lookup("a", httptest.NewRequest("GET", "/", nil)); !ok {
			t.Fatal("session a expired before the disconnect delay")
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		var ce *session.CloseError
		if err := <-closed; !errors.As(err, &ce) || ce.Code != 1002 {
			t.Fatalf("expired session a saw %v, want 1002", err)
		}
		if body, _ := poll("/0/a/xhr"); body != "o\n" {
			t.Fatalf("poll after expiry = %q, want a new session", body)
		}
		// Streams get heartbeats too, every 25 s of silence.
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeHTTP(w, httptest.NewRequest("POST", "/0/b/xhr_streaming", nil))
		}()
		time.Sleep(76 * time.Second)
		synctest.Wait()
		table.Shutdown(t.Context(), session.CloseError{Code: 1001, Reason: "Going away"})
		<-done
		want := string(xhrPrelude) + "o\nh\nh\nh\nc[1001,\"Going away\"]\n"
		if got := w.Body.String(); got != want {
			t.Fatalf("stream = %q, want %q", got[2049:], want[2049:])
		}
		<-closed
		<-closed
	})
}
