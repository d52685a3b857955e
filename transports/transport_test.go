package transports

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/go-sockjs/sockjs/internal/session"
)

// testServer runs an echo service over the transports.
func testServer(t *testing.T, mod func(*Config)) (*httptest.Server, *session.Table) {
	return testServerHB(t, mod, time.Minute)
}

func testServerHB(t *testing.T, mod func(*Config), heartbeat time.Duration) (*httptest.Server, *session.Table) {
	t.Helper()
	policy, err := NewOriginPolicy(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		ResponseLimit:   4096,
		MaxMessageBytes: 1024,
		WriteTimeout:    5 * time.Second,
		ClientURL:       "/sockjs.js",
		Origins:         policy,
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		CloseWait:       time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	table := session.NewTable(session.Config{
		HeartbeatDelay:  heartbeat,
		DisconnectDelay: time.Second,
		AttachWait:      50 * time.Millisecond,
		MaxQueuedBytes:  1 << 20,
		MaxSessions:     100,
	}, func(s *session.Session) {
		for {
			m, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			s.Send(s.Context(), m)
		}
	})
	ts := httptest.NewServer(NewServer(cfg, table))
	shutdownAtCleanup(t, table, ts)
	return ts, table
}

// shutdownAtCleanup shuts the table down, which must finish within 10 s,
// then closes ts, when the test ends. A session closes within the write
// timeout (a client that does not read) plus the close wait (a client that
// does not answer the close), 6 s in these tests. A shutdown that takes
// longer shows where every goroutine waits.
func shutdownAtCleanup(t *testing.T, table *session.Table, ts *httptest.Server) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := table.Shutdown(ctx, session.CloseError{Code: 1001, Reason: "Going away"}); err != nil {
			buf := make([]byte, 4<<20)
			t.Errorf("Shutdown: %v; goroutines:\n%s", err, buf[:runtime.Stack(buf, true)])
		}
		ts.Close()
	})
}

func do(t *testing.T, method, url string, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMethodNotAllowedShape(t *testing.T) {
	ts, _ := testServer(t, nil)
	for _, tt := range []struct{ method, path, allow string }{
		{"POST", "/0/0/websocket", "GET"},
		{"GET", "/0/0/xhr", "POST, OPTIONS"},
		{"GET", "/0/0/xhr_send", "POST, OPTIONS"},
		{"GET", "/0/0/jsonp_send", "POST"},
		{"POST", "/0/0/eventsource", "GET"},
		{"POST", "/info", "GET, OPTIONS"},
		{"DELETE", "/iframe.html", "GET"},
	} {
		res, body := do(t, tt.method, ts.URL+tt.path, "")
		if res.StatusCode != 405 || res.Header.Get("Allow") != tt.allow || body != "" || res.Header.Get("Content-Type") != "" {
			t.Errorf("%s %s = %d Allow=%q Content-Type=%q body=%q; want 405, Allow %q, no type, no body",
				tt.method, tt.path, res.StatusCode, res.Header.Get("Allow"), res.Header.Get("Content-Type"), body, tt.allow)
		}
	}
}

func TestUpgradeOnPlainURL(t *testing.T) {
	ts, _ := testServer(t, nil)
	for _, p := range []string{"/info", "/", "/iframe.html", "/0/0/xhr", "/0/0/eventsource"} {
		res, _ := do(t, "GET", ts.URL+p, "", "Upgrade", "websocket", "Connection", "Upgrade")
		if res.StatusCode != 400 {
			t.Errorf("upgrade to %s = %d, want 400", p, res.StatusCode)
		}
	}
}

func TestSenderErrors(t *testing.T) {
	ts, _ := testServer(t, nil)
	base := ts.URL + "/0/s1"
	if res, body := do(t, "POST", base+"/xhr", ""); body != "o\n" {
		t.Fatalf("open: %d %q", res.StatusCode, body)
	}
	for _, tt := range []struct {
		name, path, body, ctype string
		status                  int
		text                    string
	}{
		{"broken json", "/xhr_send", `["x`, "", 500, "Broken JSON encoding."},
		{"empty", "/xhr_send", "", "", 500, "Payload expected."},
		{"too large", "/xhr_send", `["` + strings.Repeat("x", 2000) + `"]`, "", 413, "MaxMessageBytes"},
		{"jsonp empty d", "/jsonp_send", "d=", "application/x-www-form-urlencoded", 500, "Payload expected."},
		{"jsonp raw not url-decoded", "/jsonp_send", `["%61bc"]`, "text/plain", 200, "ok"},
		{"jsonp too large", "/jsonp_send", "d=" + strings.Repeat("x", 2000), "application/x-www-form-urlencoded", 413, "MaxMessageBytes"},
		{"unknown session", "/../s2/xhr_send", `["x"]`, "", 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := base + tt.path
			if strings.HasPrefix(tt.path, "/..") {
				url = ts.URL + "/0/nosuch/xhr_send"
			}
			res, body := do(t, "POST", url, tt.body, "Content-Type", tt.ctype)
			if res.StatusCode != tt.status || !strings.Contains(body, tt.text) {
				t.Errorf("= %d %q, want %d containing %q", res.StatusCode, body, tt.status, tt.text)
			}
		})
	}
	if _, body := do(t, "POST", base+"/xhr", ""); body != `a["%61bc"]`+"\n" {
		t.Errorf("jsonp_send raw body delivered as %q", body)
	}
}

func TestCallbackValidation(t *testing.T) {
	ts, _ := testServer(t, nil)
	for _, tr := range []string{"htmlfile", "jsonp"} {
		for _, tt := range []struct{ query, text string }{
			{"", `"callback" parameter required`},
			{"?c=", `invalid "callback" parameter`},
			{"?c=%20", `invalid "callback" parameter`},
			{"?c=abc(", `invalid "callback" parameter`},
			{"?c=" + strings.Repeat("a", 33), `invalid "callback" parameter`},
		} {
			res, body := do(t, "GET", ts.URL+"/0/cb/"+tr+tt.query, "")
			if res.StatusCode != 500 || body != tt.text {
				t.Errorf("%s%s = %d %q, want 500 %q", tr, tt.query, res.StatusCode, body, tt.text)
			}
		}
	}
	if _, ok := ts.Config.Handler.(*Server).table.Lookup("cb", httptest.NewRequest("GET", "/", nil)); ok {
		t.Error("a request with a bad callback created a session")
	}
}

// TestHTMLSafe checks that a message cannot end the script element of
// htmlfile or break out of jsonp's string.
func TestHTMLSafe(t *testing.T) {
	ts, _ := testServer(t, nil)
	evil := `</script><script>alert(1)</script><!-- -->` + "\u2028\u2029"
	for _, tr := range []string{"htmlfile", "jsonp"} {
		t.Run(tr, func(t *testing.T) {
			sid := "html-" + tr
			u := ts.URL + "/0/" + sid
			if tr == "jsonp" {
				do(t, "GET", u+"/jsonp?c=cb", "")
			} else {
				// Open with xhr, then read the messages over htmlfile.
				do(t, "POST", u+"/xhr", "")
			}
			if res, _ := do(t, "POST", u+"/xhr_send", `["`+strings.ReplaceAll(evil, `"`, `\"`)+`"]`); res.StatusCode != 204 {
				t.Fatalf("xhr_send: %d", res.StatusCode)
			}
			time.Sleep(50 * time.Millisecond)
			var body string
			if tr == "jsonp" {
				_, body = do(t, "GET", u+"/jsonp?c=cb", "")
			} else {
				res, err := http.Get(u + "/htmlfile?c=cb")
				if err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(res.Body)
				var sb strings.Builder
				for !strings.Contains(sb.String(), "p(\"a[") {
					line, err := br.ReadString('\n')
					sb.WriteString(line)
					if err != nil {
						break
					}
				}
				line, _ := br.ReadString('\n')
				sb.WriteString(line)
				res.Body.Close()
				body = sb.String()
				body = body[strings.Index(body, "<script>\np(\"a["):]
			}
			payload := body
			if tr == "htmlfile" {
				payload = strings.TrimPrefix(payload, "<script>\np(")
				payload = strings.TrimSuffix(payload, ");\n</script>\r\n")
			}
			for _, bad := range []string{"</script", "<!--", "-->", "\u2028", "\u2029", "<", ">"} {
				if strings.Contains(payload, bad) {
					t.Errorf("%s output contains %q: %q", tr, bad, payload)
				}
			}
			if !strings.Contains(payload, `\\u003c/script\\u003e`) {
				t.Errorf("%s output lacks the escaped message: %q", tr, payload)
			}
		})
	}
}

func TestWebsocketLimits(t *testing.T) {
	ts, table := testServer(t, nil)
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http")
	c, _, err := websocket.DefaultDialer.Dial(wsURL+"/0/w/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, m, _ := c.ReadMessage(); string(m) != "o" {
		t.Fatalf("first frame %q", m)
	}
	c.WriteMessage(websocket.TextMessage, []byte(`["`+strings.Repeat("x", 2000)+`"]`))
	_, _, err = c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("oversized message: %v, want close 1009", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for table.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := table.Len(); n != 0 {
		t.Fatalf("%d sessions left after the websocket closed", n)
	}
}

func TestOriginPolicy(t *testing.T) {
	ts, _ := testServer(t, func(c *Config) {
		c.Origins, _ = NewOriginPolicy([]string{"https://good.example", "*.friends.example"}, nil)
	})
	host := strings.TrimPrefix(ts.URL, "http://")
	i := 0
	for _, tt := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + host, true}, // same origin
		{"https://good.example", true},
		{"https://a.friends.example:8443", true},
		{"https://evil.example", false},
		{"https://friends.example.evil", false},
		{"null", false},
	} {
		i++
		res, _ := do(t, "GET", ts.URL+"/info", "", "Origin", tt.origin)
		if (res.StatusCode == 200) != tt.ok {
			t.Errorf("/info from %q = %d, want allowed=%v", tt.origin, res.StatusCode, tt.ok)
		}
		// The websocket answer is the same as the CORS answer.
		h := http.Header{}
		if tt.origin != "" {
			h.Set("Origin", tt.origin)
		}
		c, wres, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/o/websocket", h)
		if (err == nil) != tt.ok {
			t.Errorf("websocket from %q: err=%v, want allowed=%v", tt.origin, err, tt.ok)
		}
		if err != nil && wres != nil && wres.StatusCode != 403 {
			t.Errorf("refused websocket status = %d, want 403", wres.StatusCode)
		}
		if c != nil {
			c.Close()
		}
		// jsonp judges the Referer when there is no Origin.
		if tt.origin != "" && tt.origin != "null" {
			res, _ := do(t, "GET", ts.URL+"/0/j"+strconv.Itoa(i)+"/jsonp?c=x", "", "Referer", tt.origin+"/page.html")
			if (res.StatusCode == 200) != tt.ok {
				t.Errorf("jsonp with Referer %q = %d, want allowed=%v", tt.origin, res.StatusCode, tt.ok)
			}
		}
	}
	res, _ := do(t, "GET", ts.URL+"/iframe.html", "")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "frame-ancestors 'self'") || !strings.Contains(csp, "https://good.example") {
		t.Errorf("iframe CSP = %q", csp)
	}
}

// TestWebsocketDeadPeer: a client that stops answering (no pong, nothing
// read) is closed within heartbeat + liveness timeout, and its session ends.
func TestWebsocketDeadPeer(t *testing.T) {
	for _, path := range []string{"/0/dead/websocket", "/websocket"} {
		t.Run(path, func(t *testing.T) {
			ts, table := testServerHB(t, func(c *Config) { c.LivenessTimeout = 300 * time.Millisecond }, 100*time.Millisecond)
			c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Read nothing from now on: pings go unanswered.
			start := time.Now()
			for table.Len() != 0 {
				if time.Since(start) > 3*time.Second {
					t.Fatal("a silent client was not closed")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Fatalf("closed after %v, before the liveness timeout", d)
			}
		})
	}
}

// TestWebsocketLivePeer: a client that answers pings stays connected past
// many heartbeats.
func TestWebsocketLivePeer(t *testing.T) {
	ts, table := testServerHB(t, func(c *Config) { c.LivenessTimeout = 150 * time.Millisecond }, 50*time.Millisecond)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/live/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hb := 0
	c.SetReadDeadline(time.Now().Add(600 * time.Millisecond))
	for {
		_, m, err := c.ReadMessage() // answers pings
		if err != nil {
			break
		}
		if string(m) == "h" {
			hb++
		}
	}
	if hb < 5 || table.Len() != 1 {
		t.Fatalf("%d heartbeats, %d sessions; want >= 5 heartbeats and the session alive", hb, table.Len())
	}
}

// TestWebsocketPushOnlyPeer: a client that only listens (it never sends,
// but its library answers pings) stays connected while the server pushes
// without pause, so that heartbeats never fall due.
func TestWebsocketPushOnlyPeer(t *testing.T) {
	policy, _ := NewOriginPolicy(nil, nil)
	table := session.NewTable(session.Config{
		HeartbeatDelay:  100 * time.Millisecond,
		DisconnectDelay: time.Second,
		AttachWait:      50 * time.Millisecond,
		MaxQueuedBytes:  1 << 20,
		MaxSessions:     10,
	}, func(s *session.Session) {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-s.Context().Done():
				return
			case <-tk.C:
				s.Send(s.Context(), "tick")
			}
		}
	})
	ts := httptest.NewServer(NewServer(Config{ResponseLimit: 4096, MaxMessageBytes: 1024, WriteTimeout: time.Second,
		Origins: policy, CloseWait: time.Second, LivenessTimeout: 300 * time.Millisecond}, table))
	defer ts.Close()
	defer table.Shutdown(context.Background(), session.CloseError{Code: 1001, Reason: "Going away"})
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/feed/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(1200 * time.Millisecond))
	ticks := 0
	for {
		_, m, err := c.ReadMessage() // answers pings, sends nothing else
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Fatalf("after %d ticks the connection ended: %v", ticks, err)
				}
			}
			break
		}
		ticks += strings.Count(string(m), "tick")
	}
	if ticks < 20 || table.Len() != 1 {
		t.Fatalf("%d ticks, %d sessions: a listening client was cut", ticks, table.Len())
	}
}

// TestWebsocketWriterRetires: a websocket session's writer goroutine is
// kept while the session is busy and retired once it is idle, and a new
// one serves the next message.
func TestWebsocketWriterRetires(t *testing.T) {
	ts, _ := testServer(t, nil)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/0/retire/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	writers := func() int { return goroutinesIn((*connWriter).run) }
	expect := func(want string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, m, err := c.ReadMessage()
		if err != nil || string(m) != want {
			t.Fatalf("read %q, %v; want %q", m, err, want)
		}
	}
	expect("o")
	for round := range 3 {
		msg := fmt.Sprintf("m%d", round)
		if err := c.WriteMessage(websocket.TextMessage, []byte(`["`+msg+`"]`)); err != nil {
			t.Fatal(err)
		}
		expect(`a["` + msg + `"]`)
		deadline := time.Now().Add(20 * reapInterval)
		for writers() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d writer goroutines still running after %v idle", round, writers(), 20*reapInterval)
			}
			time.Sleep(reapInterval / 5)
		}
	}
}

// TestWebsocketOpenFrame: what an application queues at once follows the
// open frame, in order, then its close.
func TestWebsocketOpenFrame(t *testing.T) {
	policy, _ := NewOriginPolicy(nil, nil)
	table := session.NewTable(session.Config{
		HeartbeatDelay:  time.Minute,
		DisconnectDelay: time.Second,
		AttachWait:      50 * time.Millisecond,
		MaxQueuedBytes:  1 << 20,
		MaxSessions:     10,
	}, func(s *session.Session) {
		for i := range 100 {
			s.Send(s.Context(), fmt.Sprint(i))
		}
		s.Close(3000, "bye")
	})
	ts2 := httptest.NewServer(NewServer(Config{ResponseLimit: 4096, MaxMessageBytes: 1024, WriteTimeout: time.Second,
		Origins: policy, CloseWait: time.Second}, table))
	defer ts2.Close()
	defer table.Shutdown(context.Background(), session.CloseError{Code: 1001, Reason: "Going away"})
	c2, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts2.URL, "http")+"/0/eager/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []string
	next := 0
	for {
		_, m, err := c2.ReadMessage()
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		f := string(m)
		got = append(got, f)
		switch {
		case len(got) == 1:
			if f != "o" {
				t.Fatalf("first frame %q, want o", f)
			}
		case strings.HasPrefix(f, "a"):
			var msgs []string
			if err := json.Unmarshal(m[1:], &msgs); err != nil {
				t.Fatalf("frame %q: %v", f, err)
			}
			for _, s := range msgs {
				if s != fmt.Sprint(next) {
					t.Fatalf("message %q, want %d", s, next)
				}
				next++
			}
		case f == `c[3000,"bye"]`:
			if next != 100 {
				t.Fatalf("close after %d messages, want 100", next)
			}
			return
		default:
			t.Fatalf("unexpected frame %q", f)
		}
	}
}
