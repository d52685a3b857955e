package sockjs_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/sockjs"
)

// TestSlowConsumer: a client that stops reading its stream fills its
// socket, its writes hit the write deadline and its session closes; all
// the while, other clients echo at full speed.
func TestSlowConsumer(t *testing.T) {
	closed := make(chan error, 1)
	h := sockjs.New(func(s sockjs.Session) {
		if s.ID() != "stalled" {
			for {
				m, err := s.Recv(s.Context())
				if err != nil {
					return
				}
				s.Send(s.Context(), m)
			}
		}
		big := strings.Repeat("x", 64<<10)
		for {
			if err := s.Send(context.Background(), big); err != nil {
				closed <- err
				return
			}
		}
	}, &sockjs.Options{WriteTimeout: 2 * time.Second, ResponseLimit: 1 << 30})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())

	// The stalled client: sends its request, never reads a byte.
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "POST /0/stalled/xhr_streaming HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")

	// Meanwhile, others echo.
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http")
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("%s/0/fast%d/websocket", wsURL, i), nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.ReadMessage() // o
			for j := 0; j < 200; j++ {
				c.WriteMessage(websocket.TextMessage, []byte(`["ping"]`))
				if _, m, err := c.ReadMessage(); err != nil || string(m) != `a["ping"]` {
					t.Errorf("echo %d: %q %v", j, m, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("800 echoes beside a stalled client took %v", d)
	}
	select {
	case err := <-closed:
		var ce *sockjs.CloseError
		if !errors.As(err, &ce) || ce.Code != sockjs.CodeInterrupted {
			t.Errorf("stalled session closed with %v, want CodeInterrupted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a client that stopped reading was never disconnected")
	}
}

// TestSessionCap: beyond MaxSessions, a new session is answered 503 with
// nothing else written, on HTTP and websocket alike.
func TestSessionCap(t *testing.T) {
	h := sockjs.New(func(s sockjs.Session) { <-s.Context().Done() }, &sockjs.Options{MaxSessions: 2})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	for _, id := range []string{"a", "b"} {
		res, err := http.Post(ts.URL+"/0/"+id+"/xhr", "", nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("session %s: %v %v", id, res.StatusCode, err)
		}
		res.Body.Close()
	}
	res, _ := http.Post(ts.URL+"/0/c/xhr", "", nil)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 || !strings.Contains(string(b), "MaxSessions") {
		t.Errorf("third session = %d %q, want 503 naming MaxSessions", res.StatusCode, b)
	}
	_, wres, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/d/websocket", nil)
	if err == nil || wres == nil || wres.StatusCode != 503 {
		t.Errorf("websocket over the cap: %v, want 503", err)
	}
	// An existing session still works.
	res, _ = http.Post(ts.URL+"/0/a/xhr_send", "", strings.NewReader(`["x"]`))
	res.Body.Close()
	if res.StatusCode != 204 {
		t.Errorf("send to an existing session = %d", res.StatusCode)
	}
}

// TestSafetyHeaders: streams are not buffered by proxies, jsonp is not
// sniffed, CORS answers vary by Origin.
func TestSafetyHeaders(t *testing.T) {
	h := sockjs.New(func(s sockjs.Session) { s.Close(3000, "bye") }, &sockjs.Options{AllowedOrigins: []string{"*"}})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	head := func(method, path string) http.Header {
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		req.Header.Set("Origin", "https://a.example")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, bufio.NewReader(res.Body))
		res.Body.Close()
		return res.Header
	}
	for _, p := range []string{"/0/s1/xhr_streaming", "/0/s2/eventsource", "/0/s3/htmlfile?c=cb"} {
		m := "GET"
		if strings.Contains(p, "xhr") {
			m = "POST"
		}
		if v := head(m, p).Get("X-Accel-Buffering"); v != "no" {
			t.Errorf("%s: X-Accel-Buffering = %q", p, v)
		}
	}
	// A cross-origin EventSource is a CORS request (sockjs-client's
	// eventsource transport fails without this).
	if v := head("GET", "/0/s6/eventsource").Get("Access-Control-Allow-Origin"); v != "https://a.example" {
		t.Errorf("eventsource: Access-Control-Allow-Origin = %q", v)
	}
	if v := head("GET", "/0/s4/jsonp?c=cb").Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("jsonp: X-Content-Type-Options = %q", v)
	}
	for _, p := range []string{"/info", "/0/s5/xhr"} {
		m := "GET"
		if p != "/info" {
			m = "POST"
		}
		if v := head(m, p).Values("Vary"); len(v) == 0 || v[0] != "Origin" {
			t.Errorf("%s: Vary = %q", p, v)
		}
	}
}

// TestSlowBody: a sender that trickles its body in is cut off after the
// write timeout instead of holding its request forever.
func TestSlowBody(t *testing.T) {
	h := sockjs.New(func(s sockjs.Session) { <-s.Context().Done() }, &sockjs.Options{WriteTimeout: 200 * time.Millisecond})
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer h.Shutdown(context.Background())
	res, _ := http.Post(ts.URL+"/0/s/xhr", "", nil)
	res.Body.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /0/s/xhr_send HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[\"")
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a trickled body held the request for %v", d)
	}
	if resp.StatusCode != 400 {
		t.Errorf("answer %d", resp.StatusCode)
	}
}
