package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-sockjs/sockjs/internal/echoserver"
)

// nodeEnv names the environment variable with the base URL of a running
// sockjs-node test server (tools/sockjs-node), for example
// http://127.0.0.1:8090. client/testdata/run-against-node.sh sets it.
const nodeEnv = "SOCKJS_NODE_URL"

func TestMain(m *testing.M) {
	// Every test shuts down what it started, so no goroutine may remain
	// once they have all run.
	goleak.VerifyTestMain(m)
}

// target is a server with the four standard test services (/echo,
// /disabled_websocket_echo, /cookie_needed_echo, /close).
type target struct {
	name string
	url  string // base URL, without a trailing slash
}

// targets returns the servers available to this test: this module's echo
// server in-process, once it answers (GET /echo is 200), and sockjs-node
// when SOCKJS_NODE_URL is set. It skips the test when there is none.
func targets(t *testing.T) []target {
	t.Helper()
	var ts []target
	if u, stop, ok := inProcess(t); ok {
		t.Cleanup(stop)
		ts = append(ts, target{name: "go", url: u})
	}
	if u := os.Getenv(nodeEnv); u != "" {
		ts = append(ts, target{name: "node", url: strings.TrimRight(u, "/")})
	}
	if len(ts) == 0 {
		t.Skipf("no server: the in-process echo server does not answer GET /echo with 200 yet, and %s is not set (see client/testdata/run-against-node.sh)", nodeEnv)
	}
	return ts
}

// inProcess starts the module's echo services and reports whether they
// work yet. stop shuts them down and waits for their goroutines.
func inProcess(t *testing.T) (url string, stop func(), ok bool) {
	t.Helper()
	es := echoserver.New(&echoserver.Options{DisconnectDelay: time.Second})
	srv := httptest.NewServer(es)
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		es.Shutdown(ctx)
		srv.CloseClientConnections()
		srv.Close()
	}
	hc := srv.Client()
	resp, err := hc.Get(srv.URL + "/echo")
	if err == nil {
		resp.Body.Close()
	}
	hc.CloseIdleConnections()
	if err != nil || resp.StatusCode != http.StatusOK {
		stop()
		t.Logf("in-process echo server not ready (GET /echo: %v); skipping it", statusOrErr(resp, err))
		return "", nil, false
	}
	return srv.URL, stop, true
}

func statusOrErr(resp *http.Response, err error) any {
	if err != nil {
		return err
	}
	return resp.Status
}

// framedTransports are the transports with SockJS framing, which every
// service supports; allTransports adds the raw websocket.
var (
	framedTransports = []Transport{WebSocket, XHRStreaming, EventSource, XHRPolling}
	allTransports    = append(append([]Transport(nil), framedTransports...), WebSocketRaw)
)

// forEach runs f as a parallel subtest for every target and transport.
func forEach(t *testing.T, transports []Transport, f func(t *testing.T, tg target, tr Transport)) {
	t.Helper()
	for _, tg := range targets(t) {
		for _, tr := range transports {
			t.Run(tg.name+"/"+string(tr), func(t *testing.T) {
				t.Parallel()
				f(t, tg, tr)
			})
		}
	}
}

// httpClient returns an HTTP client of its own, with a cookie jar, whose
// idle connections are closed when the test ends, so that goleak sees no
// lingering connection goroutines.
func httpClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Jar: jar}
}

// testCtx returns a context that ends with the test or after d.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// dial connects with a single forced transport and closes the connection
// when the test ends.
func dial(t *testing.T, url string, tr Transport, opts *Options) *Conn {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Transports == nil {
		o.Transports = []Transport{tr}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = httpClient(t)
	}
	c, err := Dial(testCtx(t, 10*time.Second), url, &o)
	if err != nil {
		t.Fatalf("Dial(%s, %s): %v", url, tr, err)
	}
	if got := c.Transport(); got != o.Transports[0] && len(o.Transports) == 1 {
		t.Errorf("Transport() = %s, want %s", got, o.Transports[0])
	}
	t.Cleanup(func() { c.Close(1000, "") })
	return c
}

// echo sends msg and checks that it comes back unchanged.
func echo(t *testing.T, ctx context.Context, c *Conn, msg string) {
	t.Helper()
	if err := c.Send(ctx, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if got != msg {
		t.Fatalf("echo: got %q (%d bytes), want %q (%d bytes)", short(got), len(got), short(msg), len(msg))
	}
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// wantClose checks that err is a *CloseError with code and reason, and
// that it matches ErrClosed.
func wantClose(t *testing.T, err error, code int, reason string) {
	t.Helper()
	var ce *CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *CloseError", err, err)
	}
	if ce.Code != code || ce.Reason != reason {
		t.Fatalf("close %d %q, want %d %q (error %v)", ce.Code, ce.Reason, code, reason, err)
	}
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("errors.Is(%v, ErrClosed) = false", err)
	}
}

// countingTransport counts the requests whose path ends with one of the
// suffixes.
type countingTransport struct {
	base   http.RoundTripper
	suffix string
	n      atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, c.suffix) {
		c.n.Add(1)
	}
	return c.base.RoundTrip(r)
}

// receivePath is the endpoint of a transport's receiving requests.
func receivePath(tr Transport) string {
	switch tr {
	case XHRStreaming:
		return "/xhr_streaming"
	case EventSource:
		return "/eventsource"
	case XHRPolling:
		return "/xhr"
	}
	return "/websocket"
}

func wtf8(u rune) string {
	return string([]byte{0xe0 | byte(u>>12), 0x80 | byte(u>>6)&0x3f, 0x80 | byte(u)&0x3f})
}

func msgN(i int) string { return fmt.Sprintf("message %d", i) }
