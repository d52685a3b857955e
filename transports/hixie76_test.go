package transports

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"
)

// The suite's Websocket.test_haproxy vector (PROTOCOL.md §6.2).
const (
	hixieTestKey1  = "4 @1  46546xW%0l 1 5"
	hixieTestKey2  = "12998 5 Y3 1  .P00"
	hixieTestNonce = "aaaaaaaa"
)

// hixieTestAnswer is the expected handshake answer for the vector above.
var hixieTestAnswer = []byte{
	0xca, 0x34, 0x00, 0xd8, 0xa5, 0x08, 0x47, 0x97,
	0x2c, 0xd5, 0x71, 0x5a, 0xba, 0xbf, 0x43, 0x7b,
}

// TestHixie76Answer checks the key decoding and the MD5 answer against the suite's vector.
func TestHixie76Answer(t *testing.T) {
	n1, err := hixieKeyNumber(hixieTestKey1)
	if err != nil {
		t.Fatalf("key1: %v", err)
	}
	n2, err := hixieKeyNumber(hixieTestKey2)
	if err != nil {
		t.Fatalf("key2: %v", err)
	}
	// 4146546015 / 5 and 1299853100 / 5.
	if n1 != 829309203 || n2 != 259970620 {
		t.Fatalf("key numbers = %d, %d; want 829309203, 259970620", n1, n2)
	}
	var nonce [8]byte
	copy(nonce[:], hixieTestNonce)
	got := hixieAnswer(n1, n2, nonce)
	if !bytes.Equal(got[:], hixieTestAnswer) {
		t.Fatalf("answer = % x; want % x", got, hixieTestAnswer)
	}
}

// TestHixie76KeyNumber is a table of valid and invalid Sec-WebSocket-Key values.
func TestHixie76KeyNumber(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		want    uint32
		wantErr bool
	}{
		{name: "suite key1", key: hixieTestKey1, want: 829309203},
		{name: "suite key2", key: hixieTestKey2, want: 259970620},
		{name: "one space", key: "1 2", want: 12},
		{name: "zero", key: "0 ", want: 0},
		{name: "leading zeros", key: "000012 x ", want: 6},
		{name: "max uint32", key: "4294967295 ", want: 4294967295},
		{name: "max uint32 over 5 spaces", key: "4 2 9 4 9 67295", want: 858993459},
		{name: "no spaces", key: "12345", wantErr: true},
		{name: "not divisible", key: "1  3", wantErr: true},
		{name: "overflow by one", key: "4294967296 ", wantErr: true},
		{name: "overflow many digits", key: "99999999999999999999999999 ", wantErr: true},
		{name: "no digits", key: "a b c", wantErr: true},
		{name: "only spaces", key: "    ", wantErr: true},
		{name: "empty", key: "", wantErr: true},
		{name: "tabs are not spaces", key: "1\t2", wantErr: true},
		{name: "non-ASCII digits ignored", key: "٣ ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := hixieKeyNumber(tt.key)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("hixieKeyNumber(%q) = %d, want an error", tt.key, got)
				}
				if !errors.Is(err, errHixieHandshake) {
					t.Fatalf("error %v does not wrap errHixieHandshake", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("hixieKeyNumber(%q) = %d, %v; want %d", tt.key, got, err, tt.want)
			}
		})
	}
}

// hixieTestRequest returns a GET request carrying the suite's draft-76 headers.
func hixieTestRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/echo/000/abc/websocket", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "WebSocket")
	r.Header.Set("Origin", "http://example.com")
	r.Header.Set("Sec-WebSocket-Key1", hixieTestKey1)
	r.Header.Set("Sec-WebSocket-Key2", hixieTestKey2)
	return r
}

// TestIsHixie76 checks the detection of draft-76 handshakes.
func TestIsHixie76(t *testing.T) {
	tests := []struct {
		name   string
		modify func(h http.Header)
		want   bool
	}{
		{name: "suite request", modify: func(http.Header) {}, want: true},
		{name: "lower-case upgrade", modify: func(h http.Header) { h.Set("Upgrade", "websocket") }, want: true},
		{name: "upper-case upgrade", modify: func(h http.Header) { h.Set("Upgrade", "WEBSOCKET") }, want: true},
		{name: "upgrade token list", modify: func(h http.Header) { h.Set("Upgrade", "foo, WebSocket") }, want: true},
		{name: "empty key1 value is present", modify: func(h http.Header) { h.Set("Sec-WebSocket-Key1", "") }, want: true},
		{name: "no key1", modify: func(h http.Header) { h.Del("Sec-WebSocket-Key1") }, want: false},
		{name: "no key2", modify: func(h http.Header) { h.Del("Sec-WebSocket-Key2") }, want: false},
		{name: "no upgrade", modify: func(h http.Header) { h.Del("Upgrade") }, want: false},
		{name: "other upgrade", modify: func(h http.Header) { h.Set("Upgrade", "h2c") }, want: false},
		{name: "keys plus version", modify: func(h http.Header) { h.Set("Sec-WebSocket-Version", "13") }, want: false},
		{
			name: "RFC 6455",
			modify: func(h http.Header) {
				h.Del("Sec-WebSocket-Key1")
				h.Del("Sec-WebSocket-Key2")
				h.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
				h.Set("Sec-WebSocket-Version", "13")
			},
			want: false,
		},
		{
			name: "RFC 6455 without version",
			modify: func(h http.Header) {
				h.Del("Sec-WebSocket-Key1")
				h.Del("Sec-WebSocket-Key2")
				h.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			},
			want: false,
		},
		{
			name: "plain GET",
			modify: func(h http.Header) {
				for k := range h {
					delete(h, k)
				}
			},
			want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := hixieTestRequest()
			tt.modify(r.Header)
			if got := isHixie76(r); got != tt.want {
				t.Fatalf("isHixie76 = %v, want %v (headers %v)", got, tt.want, r.Header)
			}
		})
	}
}

// TestHixie76Location checks the Sec-WebSocket-Location value.
func TestHixie76Location(t *testing.T) {
	stripped := hixieTestRequest()
	stripped.URL.Path = "/000/abc/websocket" // as http.StripPrefix("/echo", …) leaves it
	stripped.URL.RawPath = ""

	secure := hixieTestRequest()
	secure.TLS = &tls.ConnectionState{}

	absolute := hixieTestRequest()
	absolute.RequestURI = "http://example.com/echo/000/abc/websocket?x=1"

	built := hixieTestRequest()
	built.RequestURI = ""
	built.URL = &url.URL{Path: "/built/websocket", RawQuery: "a=b"}

	tests := []struct {
		name string
		r    *http.Request
		want string
	}{
		{"plain", hixieTestRequest(), "ws://example.com/echo/000/abc/websocket"},
		{"strip prefix keeps the original URI", stripped, "ws://example.com/echo/000/abc/websocket"},
		{"TLS", secure, "wss://example.com/echo/000/abc/websocket"},
		{"absolute-form target", absolute, "ws://example.com/echo/000/abc/websocket?x=1"},
		{"request built in code", built, "ws://example.com/built/websocket?a=b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hixieLocation(tt.r); got != tt.want {
				t.Fatalf("hixieLocation = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAcceptHixie76Rejects checks the answers given before any hijack.
func TestAcceptHixie76Rejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *http.Request)
		status int
	}{
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, http.StatusBadRequest},
		{"RFC 6455 request", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "13") }, http.StatusBadRequest},
		{"Connection: close", func(r *http.Request) { r.Header.Set("Connection", "close") }, http.StatusBadRequest},
		{"no Host", func(r *http.Request) { r.Host = "" }, http.StatusBadRequest},
		{"key1 without spaces", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key1", "123") }, http.StatusBadRequest},
		{"key2 not divisible", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key2", "1  3") }, http.StatusBadRequest},
		{"key1 overflow", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key1", "4294967296 ") }, http.StatusBadRequest},
		{"key2 no digits", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key2", " x ") }, http.StatusBadRequest},
		{"header injection in Origin", func(r *http.Request) { r.Header.Set("Origin", "http://a\r\nX-Evil: 1") }, http.StatusBadRequest},
		// A valid handshake on a ResponseWriter that cannot be hijacked.
		{"not hijackable", func(*http.Request) {}, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := hixieTestRequest()
			tt.modify(r)
			w := httptest.NewRecorder()
			c, err := acceptHixie76(w, r)
			if err == nil || c != nil {
				t.Fatalf("acceptHixie76 = %v, %v; want an error", c, err)
			}
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			if tt.status == http.StatusBadRequest && !errors.Is(err, errHixieHandshake) {
				t.Fatalf("error %v does not wrap errHixieHandshake", err)
			}
		})
	}
}

// hixieServerResult is what the test server's handler reports when it ends.
type hixieServerResult struct {
	acceptErr error // non-nil if acceptHixie76 failed
	readErr   error // the error that ended the echo loop
}

// startHixieServer starts an httptest server whose handler accepts a draft-76 websocket
// (through wrap, if not nil), sets the read limit when limit > 0, and echoes every text
// frame. Each handler run sends its result on the returned channel. The server is closed
// when the test ends; the caller waits for the results it expects.
func startHixieServer(t *testing.T, limit int64, wrap func(http.Handler) http.Handler) (*httptest.Server, <-chan hixieServerResult) {
	t.Helper()
	results := make(chan hixieServerResult, 4)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := acceptHixie76(w, r)
		if err != nil {
			results <- hixieServerResult{acceptErr: err}
			return
		}
		defer c.Close()
		if limit > 0 {
			c.SetReadLimit(limit)
		}
		for {
			p, err := c.ReadText()
			if err != nil {
				results <- hixieServerResult{readErr: err}
				return
			}
			if err := c.WriteText(p); err != nil {
				results <- hixieServerResult{readErr: fmt.Errorf("echo: %w", err)}
				return
			}
		}
	})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, results
}

// hixieWaitResult waits for the server handler's result.
func hixieWaitResult(t *testing.T, results <-chan hixieServerResult) hixieServerResult {
	t.Helper()
	select {
	case res := <-results:
		return res
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the server handler")
		return hixieServerResult{}
	}
}

// hixieDial opens a raw TCP connection to srv with a test-wide deadline.
func hixieDial(t *testing.T, srv *httptest.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// hixieRequestBytes builds the request test_haproxy sends (RawHttpConnection.request):
// the request line, Connection, Upgrade, Origin, both keys, Host, blank line.
func hixieRequestBytes(host, path string, extra ...string) []byte {
	lines := []string{
		"GET " + path + " HTTP/1.1",
		"Connection: Upgrade",
		"Upgrade: WebSocket",
		"Origin: http://" + host,
		"Sec-WebSocket-Key1: " + hixieTestKey1,
		"Sec-WebSocket-Key2: " + hixieTestKey2,
	}
	lines = append(lines, extra...)
	lines = append(lines, "Host: "+host, "", "")
	return []byte(strings.Join(lines, "\r\n"))
}

// hixieReadHead reads a status line and headers from br, returning the status line without
// its CRLF and the headers keyed by lower-case name.
func hixieReadHead(t *testing.T, br *bufio.Reader) (string, map[string]string) {
	t.Helper()
	status, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read status line: %v", err)
	}
	headers := map[string]string{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read header: %v", err)
		}
		if line == "\r\n" {
			break
		}
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if !ok {
			t.Fatalf("malformed header line %q", line)
		}
		headers[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	return strings.TrimRight(status, "\r\n"), headers
}

// TestHixie76EndToEnd runs the suite's test_haproxy handshake against a real server, then
// echoes frames and closes.
func TestHixie76EndToEnd(t *testing.T) {
	tests := []struct {
		name string
		// nonceWithHeaders sends the nonce in the same write as the request headers
		// (a direct client); otherwise only after reading the 101 headers (HAProxy).
		nonceWithHeaders bool
		// nonceSplit sends the nonce after the headers in two writes, with a pause.
		nonceSplit bool
		// prefix mounts the handler under http.StripPrefix(prefix, …).
		prefix string
		// protocol, if set, is sent as Sec-WebSocket-Protocol and must be echoed.
		protocol string
	}{
		{name: "nonce after headers (haproxy)"},
		{name: "nonce with headers", nonceWithHeaders: true},
		{name: "nonce in two pieces", nonceSplit: true},
		{name: "behind StripPrefix", prefix: "/echo"},
		{name: "with protocol", protocol: "chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

			var wrap func(http.Handler) http.Handler
			if tt.prefix != "" {
				wrap = func(h http.Handler) http.Handler { return http.StripPrefix(tt.prefix, h) }
			}
			srv, results := startHixieServer(t, 0, wrap)
			defer srv.Close()
			conn := hixieDial(t, srv)
			host := srv.Listener.Addr().String()
			path := tt.prefix + "/000/4d5b6e2c/websocket"

			var extra []string
			if tt.protocol != "" {
				extra = append(extra, "Sec-WebSocket-Protocol: "+tt.protocol)
			}
			req := hixieRequestBytes(host, path, extra...)
			if tt.nonceWithHeaders {
				req = append(req, hixieTestNonce...)
			}
			if _, err := conn.Write(req); err != nil {
				t.Fatal(err)
			}

			br := bufio.NewReader(conn)
			status, headers := hixieReadHead(t, br)
			if status != "HTTP/1.1 101 WebSocket Protocol Handshake" {
				t.Errorf("status line = %q", status)
			}
			want := map[string]string{
				"connection":             "Upgrade",
				"upgrade":                "WebSocket",
				"sec-websocket-location": "ws://" + host + path,
				"sec-websocket-origin":   "http://" + host,
			}
			if tt.protocol != "" {
				want["sec-websocket-protocol"] = tt.protocol
			}
			for k, v := range want {
				if headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, headers[k], v)
				}
			}
			for _, k := range []string{"content-length", "transfer-encoding", "sec-websocket-protocol"} {
				if _, ok := headers[k]; ok && want[k] == "" {
					t.Errorf("unexpected header %s: %q", k, headers[k])
				}
			}
			if len(headers) != len(want) {
				t.Errorf("headers = %v, want exactly %v", headers, want)
			}

			switch {
			case tt.nonceSplit:
				if _, err := conn.Write([]byte(hixieTestNonce[:3])); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
				if _, err := conn.Write([]byte(hixieTestNonce[3:])); err != nil {
					t.Fatal(err)
				}
			case !tt.nonceWithHeaders:
				if _, err := conn.Write([]byte(hixieTestNonce)); err != nil {
					t.Fatal(err)
				}
			}

			// The suite reads one packet and checks its first 16 bytes, so the answer
			// must come in one read.
			answer := make([]byte, 64)
			n, err := br.Read(answer)
			if err != nil {
				t.Fatalf("read answer: %v", err)
			}
			if n < 16 || !bytes.Equal(answer[:16], hixieTestAnswer) {
				t.Fatalf("answer = % x, want % x", answer[:n], hixieTestAnswer)
			}
			if n != 16 {
				t.Fatalf("got %d bytes after the answer, want none", n-16)
			}

			for _, msg := range []string{"hello", "", `["a","b"]`, "żółw \u2028 \uffff 🐢", strings.Repeat("x", 10000)} {
				frame := append(append([]byte{0x00}, msg...), 0xFF)
				if _, err := conn.Write(frame); err != nil {
					t.Fatal(err)
				}
				echo := make([]byte, len(frame))
				if _, err := io.ReadFull(br, echo); err != nil {
					t.Fatalf("read echo of %.20q: %v", msg, err)
				}
				if !bytes.Equal(echo, frame) {
					t.Fatalf("echo = %.40q, want %.40q", echo, frame)
				}
			}

			if _, err := conn.Write([]byte{0xFF, 0x00}); err != nil {
				t.Fatal(err)
			}
			rest, err := io.ReadAll(br)
			if err != nil {
				t.Fatalf("read until EOF: %v", err)
			}
			if !bytes.Equal(rest, []byte{0xFF, 0x00}) {
				t.Fatalf("after close got % x, want ff 00 then EOF", rest)
			}
			res := hixieWaitResult(t, results)
			if res.acceptErr != nil {
				t.Fatalf("accept: %v", res.acceptErr)
			}
			if !errors.Is(res.readErr, io.EOF) {
				t.Fatalf("server read error = %v, want io.EOF", res.readErr)
			}
		})
	}
}

// hixieHandshake performs the client side of the handshake on conn and returns a reader
// positioned after the 16-byte answer.
func hixieHandshake(t *testing.T, srv *httptest.Server, conn net.Conn) *bufio.Reader {
	t.Helper()
	host := srv.Listener.Addr().String()
	if _, err := conn.Write(append(hixieRequestBytes(host, "/ws"), hixieTestNonce...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if status, _ := hixieReadHead(t, br); !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("status line = %q", status)
	}
	answer := make([]byte, 16)
	if _, err := io.ReadFull(br, answer); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(answer, hixieTestAnswer) {
		t.Fatalf("answer = % x", answer)
	}
	return br
}

// TestHixie76ServerReadErrors checks that oversize and malformed frames end the server's
// read loop with an error (and no panic), and that the server then closes the connection.
func TestHixie76ServerReadErrors(t *testing.T) {
	tests := []struct {
		name    string
		send    []byte
		echoes  int // frames echoed before the failure
		wantErr error
	}{
		{
			name:    "frame over the read limit",
			send:    []byte("\x0012345678\xff\x00123456789\xff"),
			echoes:  1,
			wantErr: errHixieReadLimit,
		},
		{
			name:    "large frame over the read limit",
			send:    append(append([]byte{0x00}, bytes.Repeat([]byte("y"), 1<<20)...), 0xFF),
			wantErr: errHixieReadLimit,
		},
		{name: "bad frame type", send: []byte("\x00ok\xff\x42junk"), echoes: 1, wantErr: errHixieBadFrame},
		{name: "binary frame", send: []byte("\x80\x03abc"), wantErr: errHixieBadFrame},
		{name: "0xFF with a length", send: []byte("\xff\x05hello"), wantErr: errHixieBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv, results := startHixieServer(t, 8, nil)
			defer srv.Close()
			conn := hixieDial(t, srv)
			br := hixieHandshake(t, srv, conn)

			// The server may close before reading everything; a write error is fine.
			go conn.Write(tt.send)
			res := hixieWaitResult(t, results)
			if !errors.Is(res.readErr, tt.wantErr) {
				t.Fatalf("server read error = %v, want %v", res.readErr, tt.wantErr)
			}
			echoed, _ := io.ReadAll(br) // the server closed the connection: EOF or reset
			if got := bytes.Count(echoed, []byte{0xFF}); got != tt.echoes {
				t.Fatalf("server echoed %q (%d frames), want %d frames", echoed, got, tt.echoes)
			}
			conn.Close()
		})
	}
}

// TestHixie76HandshakeAborts checks failures after the hijack: a client that never sends
// the nonce, or leaves halfway through it, is disconnected and acceptHixie76 fails.
func TestHixie76HandshakeAborts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	old := hixieHandshakeTimeout
	hixieHandshakeTimeout = 200 * time.Millisecond
	defer func() { hixieHandshakeTimeout = old }()

	srv, results := startHixieServer(t, 0, nil)
	defer srv.Close()
	host := srv.Listener.Addr().String()

	t.Run("no nonce", func(t *testing.T) {
		conn := hixieDial(t, srv)
		if _, err := conn.Write(hixieRequestBytes(host, "/ws")); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		if status, _ := hixieReadHead(t, br); !strings.HasPrefix(status, "HTTP/1.1 101 ") {
			t.Fatalf("status line = %q", status)
		}
		start := time.Now()
		res := hixieWaitResult(t, results)
		if !errors.Is(res.acceptErr, errHixieHandshake) {
			t.Fatalf("accept error = %v, want a handshake error", res.acceptErr)
		}
		var ne net.Error
		if !errors.As(res.acceptErr, &ne) || !ne.Timeout() {
			t.Fatalf("accept error = %v, want a timeout", res.acceptErr)
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Fatalf("after timeout read %q, %v; want EOF", rest, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("server took %v to drop the client", d)
		}
	})

	t.Run("half a nonce then hang up", func(t *testing.T) {
		conn := hixieDial(t, srv)
		if _, err := conn.Write(append(hixieRequestBytes(host, "/ws"), "aaaa"...)); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		hixieReadHead(t, br)
		conn.Close()
		res := hixieWaitResult(t, results)
		if !errors.Is(res.acceptErr, io.ErrUnexpectedEOF) {
			t.Fatalf("accept error = %v, want io.ErrUnexpectedEOF", res.acceptErr)
		}
	})
}

// TestHixie76NonceBound: a client that never sends its nonce is dropped as
// a slow header would be: within hixieHandshakeTimeout (2 s), or the
// server's ReadHeaderTimeout when that is shorter.
func TestHixie76NonceBound(t *testing.T) {
	for _, tt := range []struct {
		name       string
		readHeader time.Duration
		within     time.Duration
	}{
		{"default", 0, 3 * time.Second},
		{"ReadHeaderTimeout", 300 * time.Millisecond, time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			accepted := make(chan error, 1)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := acceptHixie76(w, r)
				if err == nil {
					c.Close()
				}
				accepted <- err
			}))
			srv.Config.ReadHeaderTimeout = tt.readHeader
			srv.Start()
			defer srv.Close()
			conn := hixieDial(t, srv)
			defer conn.Close()
			if _, err := conn.Write(hixieRequestBytes(srv.Listener.Addr().String(), "/ws")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			hixieReadHead(t, bufio.NewReader(conn))
			select {
			case err := <-accepted:
				if err == nil {
					t.Fatal("accepted without a nonce")
				}
			case <-time.After(15 * time.Second):
				t.Fatal("never dropped")
			}
			if d := time.Since(start); d > tt.within {
				t.Fatalf("a handshake without its nonce held the connection %v", d)
			}
		})
	}
}

// hixieFakeConn is a net.Conn that records writes and closes; reads go through the
// bufio.Reader given to newHixieConn instead.
type hixieFakeConn struct {
	net.Conn // nil: methods not overridden must not be called

	mu       sync.Mutex
	writes   [][]byte
	writeErr error
	closes   int
}

// Write records a copy of p as one write, or fails with writeErr.
func (f *hixieFakeConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writeErr != nil {
		return 0, f.writeErr
	}
	f.writes = append(f.writes, bytes.Clone(p))
	return len(p), nil
}

// Close counts the calls.
func (f *hixieFakeConn) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	return nil
}

// SetReadDeadline does nothing.
func (f *hixieFakeConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline does nothing.
func (f *hixieFakeConn) SetWriteDeadline(time.Time) error { return nil }

// written returns the recorded writes.
func (f *hixieFakeConn) written() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// hixieReadAll reads text frames from c until an error and returns them with that error.
func hixieReadAll(c *hixieConn) ([]string, error) {
	var got []string
	for {
		p, err := c.ReadText()
		if err != nil {
			return got, err
		}
		if p == nil {
			return got, errors.New("ReadText returned a nil payload without an error")
		}
		got = append(got, string(p))
	}
}

// TestHixie76ReadText is a table test of frame decoding, with each input also fed one byte
// and half a read at a time through the smallest bufio buffer, so that payloads span reads
// and overflow the buffer.
func TestHixie76ReadText(t *testing.T) {
	long := strings.Repeat("0123456789", 10)
	tests := []struct {
		name    string
		in      string
		limit   int64
		want    []string
		wantErr error
		// closeReply reports whether the peer's close frame must be answered.
		closeReply bool
	}{
		{name: "EOF at once", in: "", wantErr: io.EOF},
		{name: "one frame then EOF", in: "\x00hi\xff", want: []string{"hi"}, wantErr: io.EOF},
		{name: "empty frame", in: "\x00\xff", want: []string{""}, wantErr: io.EOF},
		{name: "frames then close", in: "\x00a\xff\x00bc\xff\xff\x00\x00never\xff", want: []string{"a", "bc"}, wantErr: io.EOF, closeReply: true},
		{name: "close only", in: "\xff\x00", wantErr: io.EOF, closeReply: true},
		{name: "NUL inside payload", in: "\x00a\x00b\xff", want: []string{"a\x00b"}, wantErr: io.EOF},
		{name: "UTF-8 payload", in: "\x00żółw 🐢\xff", want: []string{"żółw 🐢"}, wantErr: io.EOF},
		{name: "long payload", in: "\x00" + long + "\xff", want: []string{long}, wantErr: io.EOF},
		{name: "at the limit", in: "\x001234\xff", limit: 4, want: []string{"1234"}, wantErr: io.EOF},
		{name: "over the limit", in: "\x0012\xff\x0012345\xff", limit: 4, want: []string{"12"}, wantErr: errHixieReadLimit},
		{name: "long over the limit", in: "\x00" + long + "\xff", limit: 50, wantErr: errHixieReadLimit},
		{name: "unterminated over the limit", in: "\x00" + long, limit: 50, wantErr: errHixieReadLimit},
		{name: "EOF inside payload", in: "\x00abc", wantErr: io.ErrUnexpectedEOF},
		{name: "EOF inside long payload", in: "\x00" + long, wantErr: io.ErrUnexpectedEOF},
		{name: "EOF after 0xFF", in: "\xff", wantErr: io.ErrUnexpectedEOF},
		{name: "bad frame type", in: "\x01abc\xff", wantErr: errHixieBadFrame},
		{name: "length-prefixed binary frame", in: "\x80\x01a", wantErr: errHixieBadFrame},
		{name: "0xFF with a length", in: "\xff\x01a", wantErr: errHixieBadFrame},
		{name: "text then garbage", in: "\x00ok\xff{", want: []string{"ok"}, wantErr: errHixieBadFrame},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				t.Parallel()
				fc := &hixieFakeConn{}
				c := newHixieConn(fc, bufio.NewReaderSize(rd.wrap(strings.NewReader(tt.in)), 16))
				c.SetReadLimit(tt.limit)
				got, err := hixieReadAll(c)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr == io.EOF && err != io.EOF { // a clean end is io.EOF itself
					t.Fatalf("error = %#v, want io.EOF itself", err)
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Fatalf("frames = %q, want %q", got, tt.want)
				}
				// Errors are sticky.
				if p, err2 := c.ReadText(); p != nil || err2 != err { // the same error value
					t.Fatalf("second ReadText = %q, %v; want nil, %v", p, err2, err)
				}
				writes := fc.written()
				if tt.closeReply {
					if len(writes) != 1 || !bytes.Equal(writes[0], []byte{0xFF, 0x00}) {
						t.Fatalf("writes = %q, want one close frame", writes)
					}
				} else if len(writes) != 0 {
					t.Fatalf("writes = %q, want none", writes)
				}
			})
		}
	}
}

// TestHixie76Write checks the write side: one Write per frame, the close frame sent once,
// writes refused after close or after a failed write, and invalid UTF-8 refused.
func TestHixie76Write(t *testing.T) {
	t.Parallel()
	fc := &hixieFakeConn{}
	c := newHixieConn(fc, bufio.NewReader(strings.NewReader("\xff\x00")))

	for _, msg := range []string{"o", "", "a[\"żółw\"]", strings.Repeat("z", 70000)} {
		if err := c.WriteText([]byte(msg)); err != nil {
			t.Fatalf("WriteText(%.10q): %v", msg, err)
		}
	}
	for _, bad := range [][]byte{{0xFF}, []byte("a\xffb"), {0xC3}, {0xED, 0xA0, 0x80}} {
		if err := c.WriteText(bad); !errors.Is(err, errHixieInvalidUTF8) {
			t.Fatalf("WriteText(% x) = %v, want errHixieInvalidUTF8", bad, err)
		}
	}
	if err := c.WriteClose(3000, "Go away!"); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteClose(3000, "again"); err != nil {
		t.Fatalf("second WriteClose: %v", err)
	}
	if err := c.WriteText([]byte("late")); !errors.Is(err, errHixieCloseSent) {
		t.Fatalf("WriteText after close = %v, want errHixieCloseSent", err)
	}
	// The peer's close is not answered twice.
	if _, err := c.ReadText(); err != io.EOF { // a clean end is io.EOF itself
		t.Fatalf("ReadText = %v, want io.EOF", err)
	}

	want := [][]byte{
		[]byte("\x00o\xff"),
		[]byte("\x00\xff"),
		[]byte("\x00a[\"żółw\"]\xff"),
		append(append([]byte{0x00}, strings.Repeat("z", 70000)...), 0xFF),
		{0xFF, 0x00},
	}
	got := fc.written()
	if len(got) != len(want) {
		t.Fatalf("%d writes, want %d: %.30q", len(got), len(want), got)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("write %d = %.30q, want %.30q", i, got[i], want[i])
		}
	}
}

// TestHixie76WriteErrorSticky checks that after a failed write every write fails.
func TestHixie76WriteErrorSticky(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	fc := &hixieFakeConn{writeErr: boom}
	c := newHixieConn(fc, bufio.NewReader(strings.NewReader("")))
	if err := c.WriteText([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("WriteText = %v, want boom", err)
	}
	fc.mu.Lock()
	fc.writeErr = nil
	fc.mu.Unlock()
	if err := c.WriteText([]byte("y")); !errors.Is(err, boom) {
		t.Fatalf("second WriteText = %v, want the first error", err)
	}
	if err := c.WriteClose(1000, ""); !errors.Is(err, boom) {
		t.Fatalf("WriteClose = %v, want the first error", err)
	}
	if n := len(fc.written()); n != 0 {
		t.Fatalf("%d writes reached the conn after a failure", n)
	}
}

// TestHixie76Close checks that Close is idempotent and closes the conn once.
func TestHixie76Close(t *testing.T) {
	t.Parallel()
	fc := &hixieFakeConn{}
	c := newHixieConn(fc, bufio.NewReader(strings.NewReader("")))
	for i := 0; i < 3; i++ {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if fc.closes != 1 {
		t.Fatalf("conn closed %d times, want 1", fc.closes)
	}
}

// TestHixie76Concurrent runs one reader and one writer on a real connection under -race,
// then checks that Close from a third goroutine unblocks a pending ReadText and that
// deadlines are applied.
func TestHixie76Concurrent(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	server, client := net.Pipe()
	defer client.Close()
	c := newHixieConn(server, bufio.NewReader(server))
	defer c.Close()

	const n = 100
	var wg sync.WaitGroup
	wg.Add(3)
	// Server writer.
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := c.WriteText([]byte(fmt.Sprintf("s%d", i))); err != nil {
				t.Errorf("WriteText: %v", err)
				return
			}
		}
	}()
	// Client: reads the server's frames.
	go func() {
		defer wg.Done()
		br := bufio.NewReader(client)
		for i := 0; i < n; i++ {
			b, err := br.ReadBytes(0xFF)
			if err != nil {
				t.Errorf("client read: %v", err)
				return
			}
			if want := fmt.Sprintf("\x00s%d\xff", i); string(b) != want {
				t.Errorf("client got %q, want %q", b, want)
				return
			}
		}
	}()
	// Client writer.
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if _, err := fmt.Fprintf(client, "\x00c%d\xff", i); err != nil {
				t.Errorf("client write: %v", err)
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		p, err := c.ReadText()
		if err != nil {
			t.Fatalf("ReadText %d: %v", i, err)
		}
		if want := fmt.Sprintf("c%d", i); string(p) != want {
			t.Fatalf("ReadText = %q, want %q", p, want)
		}
	}
	wg.Wait()

	// A read deadline in the past makes ReadText time out.
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := c.ReadText(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("ReadText with an expired deadline = %v, want a timeout", err)
	}
	if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteText([]byte("x")); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("WriteText with an expired deadline = %v, want a timeout", err)
	}

	// Close unblocks a pending ReadText on a fresh connection.
	server2, client2 := net.Pipe()
	defer client2.Close()
	c2 := newHixieConn(server2, bufio.NewReader(server2))
	done := make(chan error, 1)
	go func() {
		_, err := c2.ReadText()
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadText after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadText")
	}
}

// FuzzHixie76ReadText feeds arbitrary bytes to ReadText: it must not panic, must end with an
// error, and every payload must be re-encodable as a frame of the input.
func FuzzHixie76ReadText(f *testing.F) {
	for _, s := range []string{"", "\x00hi\xff", "\xff\x00", "\x00a\xff\x00\xff\xff\x00", "\x80\x01a", "\x00abc", "\xff\x07"} {
		f.Add([]byte(s), int64(0))
		f.Add([]byte(s), int64(2))
	}
	f.Fuzz(func(t *testing.T, in []byte, limit int64) {
		c := newHixieConn(&hixieFakeConn{}, bufio.NewReaderSize(bytes.NewReader(in), 16))
		c.SetReadLimit(limit)
		var consumed []byte
		for i := 0; ; i++ {
			if i > len(in) {
				t.Fatalf("more frames than input bytes")
			}
			p, err := c.ReadText()
			if err != nil {
				break
			}
			if limit > 0 && int64(len(p)) > limit {
				t.Fatalf("payload of %d bytes over limit %d", len(p), limit)
			}
			if bytes.IndexByte(p, 0xFF) >= 0 {
				t.Fatalf("payload %q contains 0xFF", p)
			}
			consumed = append(append(append(consumed, 0x00), p...), 0xFF)
		}
		if !bytes.HasPrefix(in, consumed) {
			t.Fatalf("frames %q are not a prefix of the input %q", consumed, in)
		}
	})
}

// FuzzHixie76KeyNumber checks hixieKeyNumber against its definition on arbitrary keys.
func FuzzHixie76KeyNumber(f *testing.F) {
	for _, s := range []string{hixieTestKey1, hixieTestKey2, "", "1 2", "4294967296 ", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got, err := hixieKeyNumber(key)
		var digits strings.Builder
		for _, r := range key {
			if r >= '0' && r <= '9' {
				digits.WriteRune(r)
			}
		}
		spaces := uint64(strings.Count(key, " "))
		var num uint64
		fits := digits.Len() > 0
		for _, d := range digits.String() {
			num = num*10 + uint64(d-'0')
			if num > 0xFFFFFFFF {
				fits = false
				break
			}
		}
		ok := fits && spaces > 0 && num%spaces == 0
		if ok != (err == nil) {
			t.Fatalf("hixieKeyNumber(%q) error = %v, want ok=%v", key, err, ok)
		}
		if ok && uint64(got)*spaces != num {
			t.Fatalf("hixieKeyNumber(%q) = %d; %d*%d != %d", key, got, got, spaces, num)
		}
	})
}
