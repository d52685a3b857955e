package prometheus_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	sockjsprom "github.com/go-sockjs/sockjs/prometheus"
	"github.com/go-sockjs/sockjs/sockjs"
)

func TestMetrics(t *testing.T) {
	m := sockjsprom.New("test")
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	h := sockjs.New(func(s sockjs.Session) {
		msg, _ := s.Recv(s.Context())
		s.Send(s.Context(), msg)
		s.Close(3000, "Go away!")
	}, &sockjs.Options{Metrics: m})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())

	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/a/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.ReadMessage() // o
	c.WriteMessage(websocket.TextMessage, []byte(`["hello"]`))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			break
		}
	}
	c.Close()
	res, _ := http.Post(ts.URL+"/0/b/xhr", "", nil)
	res.Body.Close()
	h.Shutdown(context.Background())

	want := `
# HELP test_sockjs_sessions_closed_total Sessions closed, by close code.
# TYPE test_sockjs_sessions_closed_total counter
test_sockjs_sessions_closed_total{code="1001",transport="xhr-polling"} 1
test_sockjs_sessions_closed_total{code="3000",transport="websocket"} 1
# HELP test_sockjs_sessions_open Sessions open now.
# TYPE test_sockjs_sessions_open gauge
test_sockjs_sessions_open{transport="websocket"} 0
test_sockjs_sessions_open{transport="xhr-polling"} 0
# HELP test_sockjs_messages_received_total Messages received from clients.
# TYPE test_sockjs_messages_received_total counter
test_sockjs_messages_received_total{transport="websocket"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"test_sockjs_sessions_closed_total", "test_sockjs_sessions_open", "test_sockjs_messages_received_total"); err != nil {
		t.Fatal(err)
	}
}
