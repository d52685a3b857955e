package sockjs_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/sockjs"
)

// deliveryMetrics reports every message the server hands to a session.
type deliveryMetrics struct {
	sockjs.Metrics
	received chan struct{}
}

func (m deliveryMetrics) SessionOpened(string)        {}
func (m deliveryMetrics) SessionClosed(string, int)   {}
func (m deliveryMetrics) FramesSent(string, int, int) {}
func (m deliveryMetrics) SendDropped(string)          {}
func (m deliveryMetrics) MessagesReceived(string, int, int) {
	select {
	case m.received <- struct{}{}:
	default:
	}
}

// stallingContext is a context whose first Done call blocks until release
// is closed: it stops a Recv caller at the point where it asks for Done.
type stallingContext struct {
	context.Context
	once    sync.Once
	asked   chan struct{} // closed when Done is first called
	release chan struct{}
}

func (c *stallingContext) Done() <-chan struct{} {
	c.once.Do(func() {
		close(c.asked)
		<-c.release
	})
	return c.Context.Done()
}

// TestRecvMeetsMessageDeliveredMeanwhile: a message that the background
// reader delivers while a Recv caller is on its way to reading the
// connection itself is returned by that Recv, not left in the queue while
// the caller waits on a connection that has nothing more to say.
func TestRecvMeetsMessageDeliveredMeanwhile(t *testing.T) {
	received := make(chan struct{}, 1)
	ready := make(chan struct{})
	ctx := &stallingContext{asked: make(chan struct{}), release: make(chan struct{})}
	got := make(chan string, 1)
	h := sockjs.New(func(s sockjs.Session) {
		<-ready // the background reader has started by now
		base, cancel := context.WithCancel(s.Context())
		defer cancel()
		ctx.Context = base
		m, err := s.Recv(ctx)
		if err != nil {
			m = "error: " + err.Error()
		}
		got <- m
		<-s.Context().Done()
	}, &sockjs.Options{Metrics: deliveryMetrics{received: received}})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())

	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/meanwhile/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "o" {
		t.Fatalf("open frame: %q, %v", m, err)
	}
	// The first heartbeat tick, 50 ms in, starts a background reader when
	// the application is not in Recv.
	time.Sleep(200 * time.Millisecond)
	close(ready)
	select {
	case <-ctx.asked:
	case <-time.After(5 * time.Second):
		t.Fatal("Recv never asked for Done")
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(`["hello"]`)); err != nil {
		t.Fatal(err)
	}
	// Let whoever holds the read role deliver it, if anybody does.
	select {
	case <-received:
	case <-time.After(300 * time.Millisecond):
	}
	close(ctx.release)
	select {
	case m := <-got:
		if m != "hello" {
			t.Fatalf("Recv returned %q; want hello", m)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Recv did not return the message delivered while it was on its way to read")
	}
}
