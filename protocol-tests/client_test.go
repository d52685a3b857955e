package protocoltests

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A transport is one SockJS receiving transport as a client uses it.
type transport struct {
	name      string // last path segment of the receiving URL
	method    string // method of the receiving request
	query     string // query of the receiving URL
	streaming bool   // one response carries many frames
	ws        bool   // the framed websocket
	sender    string // path segment the client posts messages to
}

// The transports, in the order tests run over them.
var (
	tXHR          = &transport{name: "xhr", method: http.MethodPost, sender: "xhr_send"}
	tXHRStreaming = &transport{name: "xhr_streaming", method: http.MethodPost, streaming: true, sender: "xhr_send"}
	tEventSource  = &transport{name: "eventsource", method: http.MethodGet, streaming: true, sender: "xhr_send"}
	tHTMLFile     = &transport{name: "htmlfile", method: http.MethodGet, query: "?c=callback", streaming: true, sender: "xhr_send"}
	tJSONP        = &transport{name: "jsonp", method: http.MethodGet, query: "?c=callback", sender: "jsonp_send"}
	tWebsocket    = &transport{name: "websocket", method: http.MethodGet, streaming: true, ws: true}

	httpTransports      = []*transport{tXHR, tXHRStreaming, tEventSource, tHTMLFile, tJSONP}
	streamingTransports = []*transport{tXHRStreaming, tEventSource, tHTMLFile}
	allTransports       = []*transport{tXHR, tXHRStreaming, tEventSource, tHTMLFile, tJSONP, tWebsocket}
)

// newID returns a random session id.
func newID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// newSession returns the URL of a fresh session of a service, e.g.
// http://host/echo/000/<id>.
func newSession(serviceURL string) string {
	return serviceURL + "/000/" + newID()
}

// A receiver is one receiving request of an HTTP transport.
type receiver struct {
	tr   *transport
	resp *rawResponse
	dec  frameDecoder
}

// openReceiver starts a receiving request on a session and checks it is
// answered with 200.
func openReceiver(tr *transport, sessURL string, h hdrs) (*receiver, error) {
	conn, err := dialRaw(sessURL)
	if err != nil {
		return nil, err
	}
	return openReceiverOn(conn, tr, sessURL, h)
}

// openReceiverOn is openReceiver on a connection the caller dialled; the
// connection is closed on error.
func openReceiverOn(conn *rawConn, tr *transport, sessURL string, h hdrs) (*receiver, error) {
	u := sessURL + "/" + tr.name + tr.query
	req := rawRequest{method: tr.method, url: u, header: h}
	err := conn.write(req)
	var resp *rawResponse
	if err == nil {
		resp, err = conn.readResponse(req.method, req.proto)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s %s: %w", tr.method, u, err)
	}
	if resp.status != http.StatusOK {
		resp.conn.setTimeout(time.Second)
		_ = resp.readBody()
		resp.conn.Close()
		return nil, fmt.Errorf("%s %s: status %d, body %q", tr.method, u, resp.status, clip(string(resp.body)))
	}
	return &receiver{tr: tr, resp: resp, dec: newDecoder(tr.name, resp.conn.mode.wrap(resp.bodyReader()))}, nil
}

// next returns the next frame; io.EOF when the response ended.
func (r *receiver) next() (frame, error) {
	text, err := r.dec.next()
	if err != nil {
		return frame{}, err
	}
	return parseFrame(text)
}

// close aborts the request.
func (r *receiver) close() { r.resp.conn.Close() }

// A sender posts messages to one session, reusing a keep-alive connection.
type sender struct {
	tr      *transport
	sessURL string
	conn    *rawConn
}

// post sends one body (a JSON array) with the transport's sender.
func (s *sender) post(body string) error {
	req := rawRequest{method: http.MethodPost, url: s.sessURL + "/" + s.tr.sender}
	if s.tr.sender == "jsonp_send" {
		req.header = hdrs{{"Content-Type", "application/x-www-form-urlencoded"}}
		req.body = []byte("d=" + url.QueryEscape(body))
	} else {
		req.header = hdrs{{"Content-Type", "text/plain;charset=UTF-8"}}
		req.body = []byte(body)
	}
	resp, err := s.roundTrip(req)
	if err != nil {
		return err
	}
	switch {
	case s.tr.sender == "jsonp_send" && (resp.status != http.StatusOK || string(resp.body) != "ok"):
		return fmt.Errorf("jsonp_send: status %d, body %q; want 200 \"ok\"", resp.status, clip(string(resp.body)))
	case s.tr.sender == "xhr_send" && resp.status != http.StatusNoContent:
		return fmt.Errorf("xhr_send: status %d, body %q; want 204", resp.status, clip(string(resp.body)))
	}
	return nil
}

// roundTrip sends req on the kept connection, dialling when needed. A
// reused connection that the server closed while idle is retried once.
func (s *sender) roundTrip(req rawRequest) (*rawResponse, error) {
	for attempt := 0; ; attempt++ {
		reused := s.conn != nil
		if s.conn == nil {
			c, err := dialRaw(req.url)
			if err != nil {
				return nil, err
			}
			s.conn = c
		}
		err := s.conn.write(req)
		var resp *rawResponse
		if err == nil {
			resp, err = s.conn.readResponse(req.method, req.proto)
		}
		if err == nil {
			err = resp.readBody()
		}
		if err != nil {
			s.close()
			if reused && attempt == 0 && (errors.Is(err, io.EOF) || isReset(err) || strings.Contains(err.Error(), "broken pipe")) {
				continue
			}
			return nil, fmt.Errorf("POST %s: %w", req.url, err)
		}
		if hasToken(resp.get("Connection"), "close") || resp.kind == bodyEOF {
			s.close()
		}
		return resp, nil
	}
}

// send posts messages as one JSON array.
func (s *sender) send(msgs ...string) error { return s.post(encodeMessages(false, msgs...)) }

// close drops the kept connection.
func (s *sender) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// wsURL turns an http(s) URL into a ws(s) URL.
func wsURL(u string) string { return "ws" + strings.TrimPrefix(u, "http") }

// dialWS opens a websocket to an http(s) URL.
func dialWS(u string, h http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{
		HandshakeTimeout: cfg.ioTimeout,
		TLSClientConfig:  &tls.Config{InsecureSkipVerify: os.Getenv("SOCKJS_INSECURE") != ""},
	}
	c, resp, err := d.Dial(wsURL(u), h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return c, resp, err
}

// A result is one frame, or the error that ended a client's receive loop.
type result struct {
	f   frame
	err error
	at  time.Time
}

// A client is a SockJS session seen from the browser's side: it keeps a
// receiving request open at all times, reopening it at once when the server
// ends it (as sockjs-client does), and posts messages with a sender.
type client struct {
	tr      *transport
	sessURL string
	frames  chan result
	stop    chan struct{}
	done    chan struct{}
	cur     atomic.Pointer[rawConn] // the receiving request's connection
	opens   atomic.Int64            // receiving requests made
	pings   chan time.Time          // websocket pings received
	ws      *websocket.Conn
	wmu     sync.Mutex // serialises websocket writes
	smu     sync.Mutex // serialises posts
	snd     sender
	once    sync.Once
}

// openClient opens a session on a service with a transport and reads its
// open frame. The client is closed when the test ends.
func openClient(t testing.TB, tr *transport, serviceURL string) *client {
	t.Helper()
	c, err := startClient(tr, serviceURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	f, err := c.next(cfg.ioTimeout)
	if err != nil {
		t.Fatalf("%s: waiting for the open frame: %v", tr.name, err)
	}
	if f.text != openFrame {
		t.Fatalf("%s: first frame %q, want %q", tr.name, clip(f.text), openFrame)
	}
	return c
}

// startClient starts a client's receive loop.
func startClient(tr *transport, serviceURL string) (*client, error) {
	c := &client{
		tr:      tr,
		sessURL: newSession(serviceURL),
		frames:  make(chan result, 256),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		pings:   make(chan time.Time, 16),
	}
	c.snd = sender{tr: tr, sessURL: c.sessURL}
	if !tr.ws {
		go c.httpLoop()
		return c, nil
	}
	ws, _, err := dialWS(c.sessURL+"/websocket", nil)
	if err != nil {
		return nil, fmt.Errorf("websocket %s: %w", c.sessURL, err)
	}
	c.ws = ws
	ws.SetPingHandler(func(data string) error {
		select {
		case c.pings <- time.Now():
		default:
		}
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(cfg.ioTimeout))
	})
	go c.wsLoop()
	return c, nil
}

// push hands a result to the test; false once the client is closed.
func (c *client) push(r result) bool {
	r.at = time.Now()
	select {
	case c.frames <- r:
		return true
	case <-c.stop:
		return false
	}
}

// stopped reports whether close was called.
func (c *client) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// httpLoop keeps one receiving request open until a close frame, an error
// or close.
func (c *client) httpLoop() {
	defer close(c.done)
	for {
		conn, err := dialRaw(c.sessURL)
		if err != nil {
			c.push(result{err: err})
			return
		}
		// A receiving request may be held for a whole heartbeat delay.
		conn.setTimeout(receiveTimeout())
		c.cur.Store(conn)
		if c.stopped() {
			conn.Close()
			return
		}
		rcv, err := openReceiverOn(conn, c.tr, c.sessURL, nil)
		if err != nil {
			if !c.stopped() {
				c.push(result{err: err})
			}
			return
		}
		c.opens.Add(1)
		for {
			f, err := rcv.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rcv.close()
				if !c.stopped() {
					c.push(result{err: fmt.Errorf("%s: %w", c.tr.name, err)})
				}
				return
			}
			if !c.push(result{f: f}) || f.kind == 'c' {
				rcv.close()
				return
			}
		}
		rcv.close()
	}
}

// wsLoop reads websocket messages until the connection ends.
func (c *client) wsLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if !c.stopped() {
				c.push(result{err: fmt.Errorf("websocket: %w", err)})
			}
			return
		}
		f, err := parseFrame(string(data))
		if err != nil {
			c.push(result{err: err})
			return
		}
		if !c.push(result{f: f}) {
			return
		}
	}
}

// next waits up to d for the next frame.
func (c *client) next(d time.Duration) (frame, error) {
	r, err := c.nextResult(d)
	if err != nil {
		return frame{}, err
	}
	return r.f, r.err
}

// nextResult waits up to d for the next frame or error, with its arrival time.
func (c *client) nextResult(d time.Duration) (result, error) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case r := <-c.frames:
		return r, nil
	case <-tm.C:
		return result{}, fmt.Errorf("%s: no frame within %v", c.tr.name, d)
	}
}

// send posts msgs as one JSON array (one websocket message on websockets).
func (c *client) send(msgs ...string) error {
	return c.sendRaw(encodeMessages(false, msgs...))
}

// sendRaw sends a JSON array text as it is.
func (c *client) sendRaw(body string) error {
	if c.ws != nil {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if err := c.ws.SetWriteDeadline(time.Now().Add(cfg.ioTimeout + time.Duration(len(body)>>20)*time.Second)); err != nil {
			return err
		}
		return c.ws.WriteMessage(websocket.TextMessage, []byte(body))
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.snd.post(body)
}

// messages reads frames until n messages arrived, skipping heartbeats. It
// fails on a close frame, a new open frame (the session was lost) or when
// no frame arrives for idle.
func (c *client) messages(n int, idle time.Duration) ([]string, error) {
	var got []string
	for len(got) < n {
		f, err := c.next(idle)
		if err != nil {
			return got, fmt.Errorf("after %d of %d messages: %w", len(got), n, err)
		}
		switch f.kind {
		case 'a':
			got = append(got, f.msgs...)
		case 'h':
		default:
			return got, fmt.Errorf("after %d of %d messages: unexpected frame %q", len(got), n, clip(f.text))
		}
	}
	if len(got) > n {
		return got, fmt.Errorf("got %d messages, want %d", len(got), n)
	}
	return got, nil
}

// close ends the client: it aborts the receiving request or closes the
// websocket, and waits for the receive loop.
func (c *client) close() {
	c.once.Do(func() {
		close(c.stop)
		if c.ws != nil {
			c.wmu.Lock()
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			c.wmu.Unlock()
			c.ws.Close()
		} else if conn := c.cur.Load(); conn != nil {
			conn.Close()
		}
		<-c.done
		c.smu.Lock()
		c.snd.close()
		c.smu.Unlock()
	})
}
