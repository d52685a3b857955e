// This file implements the obsolete hixie-76 (draft-ietf-hybi-thewebsocketprotocol-00)
// WebSocket handshake and framing. It exists only so that the SockJS protocol suite's
// Websocket.test_haproxy passes (PROTOCOL.md §6.2): HAProxy-era clients and the suite still
// speak draft-76, which gorilla/websocket does not implement.
//
// Draft-76 is insecure (no masking, a handshake that proxies cannot inspect) and must stay
// opt-in. Everything about it lives in this one file.

package transports

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// hixieHandshakeTimeout bounds the whole server side of the draft-76 handshake after the
// hijack: writing the 101 headers, waiting for the client's 8-byte nonce and writing the
// 16-byte answer. The nonce is the end of the request, which clients send with its headers
// (a proxy such as HAProxy, after one round trip for the 101), so its read is bounded like
// the header read that precedes it, only shorter: by this, or by the http.Server's
// ReadHeaderTimeout when that is shorter. A variable only so that tests can shorten it.
var hixieHandshakeTimeout = 2 * time.Second

// hixieCloseReplyWait bounds how long ReadText waits for a concurrent writer to finish
// before it answers the peer's close frame; if the writer is still busy the answer is skipped.
const hixieCloseReplyWait = time.Second

// Frame bytes of draft-76: a text frame is hixieTextStart, UTF-8 payload, hixieTextEnd;
// a close frame is hixieCloseFrame.
const (
	hixieTextStart byte = 0x00
	hixieTextEnd   byte = 0xFF
)

// hixieCloseFrame is the draft-76 closing frame: 0xFF followed by a zero length.
var hixieCloseFrame = []byte{0xFF, 0x00}

// Errors reported by the hixie-76 code. They are unexported: callers treat any error from
// ReadText or a write method as the end of the connection, and tests use errors.Is.
var (
	// errHixieHandshake is wrapped by every handshake failure returned by acceptHixie76.
	errHixieHandshake = errors.New("hixie76: bad handshake")
	// errHixieReadLimit is returned by ReadText when a frame exceeds the read limit.
	errHixieReadLimit = errors.New("hixie76: frame exceeds read limit")
	// errHixieBadFrame is returned by ReadText for a frame type it does not accept.
	errHixieBadFrame = errors.New("hixie76: malformed frame")
	// errHixieCloseSent is returned by WriteText after a close frame was sent.
	errHixieCloseSent = errors.New("hixie76: close frame already sent")
	// errHixieInvalidUTF8 is returned by WriteText for a payload that is not valid UTF-8
	// (a 0xFF byte would otherwise end the frame early).
	errHixieInvalidUTF8 = errors.New("hixie76: text payload is not valid UTF-8")
)

// isHixie76 reports whether r is a hixie-76 (draft-76) websocket handshake:
// Sec-WebSocket-Key1 and Sec-WebSocket-Key2 present, no Sec-WebSocket-Version,
// Upgrade: websocket (case-insensitive).
//
// RFC 6455 handshakes always carry Sec-WebSocket-Version, so they are never hixie-76.
func isHixie76(r *http.Request) bool {
	if len(r.Header.Values("Sec-WebSocket-Key1")) == 0 ||
		len(r.Header.Values("Sec-WebSocket-Key2")) == 0 ||
		len(r.Header.Values("Sec-WebSocket-Version")) != 0 {
		return false
	}
	return hixieHeaderHasToken(r.Header, "Upgrade", "websocket")
}

// hixieHeaderHasToken reports whether any comma-separated token of header name in h equals
// token, ignoring ASCII case and surrounding spaces.
func hixieHeaderHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// hixieKeyNumber decodes one draft-76 Sec-WebSocket-Key header: the decimal digits of key,
// concatenated, form a number that must fit in 32 bits; it is divided by the number of
// spaces in key, which must be positive and divide the number exactly.
func hixieKeyNumber(key string) (uint32, error) {
	var n uint64
	digits, spaces := 0, 0
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= '0' && c <= '9':
			n = n*10 + uint64(c-'0')
			if n > 0xFFFFFFFF {
				return 0, fmt.Errorf("%w: key number does not fit in 32 bits", errHixieHandshake)
			}
			digits++
		case c == ' ':
			spaces++
		}
	}
	switch {
	case digits == 0:
		return 0, fmt.Errorf("%w: key has no digits", errHixieHandshake)
	case spaces == 0:
		return 0, fmt.Errorf("%w: key has no spaces", errHixieHandshake)
	case n%uint64(spaces) != 0:
		return 0, fmt.Errorf("%w: key number is not a multiple of its spaces", errHixieHandshake)
	}
	return uint32(n / uint64(spaces)), nil
}

// hixieAnswer computes the 16-byte draft-76 handshake answer:
// MD5(BE32(n1) ‖ BE32(n2) ‖ nonce).
func hixieAnswer(n1, n2 uint32, nonce [8]byte) [16]byte {
	var challenge [16]byte
	binary.BigEndian.PutUint32(challenge[0:4], n1)
	binary.BigEndian.PutUint32(challenge[4:8], n2)
	copy(challenge[8:], nonce[:])
	return md5.Sum(challenge[:])
}

// hixieLocation returns the Sec-WebSocket-Location value for r: ws:// (wss:// over TLS),
// the Host header and the request URI exactly as the client sent it. r.RequestURI is used
// rather than r.URL because http.StripPrefix rewrites r.URL.Path but not r.RequestURI.
func hixieLocation(r *http.Request) string {
	scheme := "ws://"
	if r.TLS != nil {
		scheme = "wss://"
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		// Absolute-form request target, or a request built in code without RequestURI.
		if u, err := url.ParseRequestURI(uri); err == nil && u.IsAbs() {
			uri = u.RequestURI()
		} else {
			uri = r.URL.RequestURI()
		}
	}
	return scheme + r.Host + uri
}

// hixieSafeHeaderValue reports whether v can be copied into a response header line:
// net/http already rejects CR and LF in parsed requests, but requests built in code are not
// parsed, so this is checked again to rule out header injection.
func hixieSafeHeaderValue(v string) bool {
	return !strings.ContainsAny(v, "\r\n")
}

// acceptHixie76 hijacks the connection, completes the draft-76 handshake and returns the
// connection.
//
// On a bad handshake before hijacking it writes a 400 and returns an error; after hijacking
// it closes the conn and returns an error. If the ResponseWriter cannot be hijacked it
// writes a 500. The 101 headers are written and flushed before the 8-byte nonce is read,
// because HAProxy forwards the nonce only after it has seen them; the nonce may also have
// arrived with the request headers, in which case it is already buffered.
func acceptHixie76(w http.ResponseWriter, r *http.Request) (*hixieConn, error) {
	n1, n2, err := hixieCheckRequest(r)
	if err != nil {
		http.Error(w, "Not a valid websocket request", http.StatusBadRequest)
		return nil, err
	}

	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket upgrade not supported", http.StatusInternalServerError)
		return nil, fmt.Errorf("hixie76: hijack: %w", err)
	}

	c, err := hixieServerHandshake(conn, brw.Reader, r, n1, n2)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// hixieCheckRequest validates a draft-76 request before anything is written and returns
// the two decoded key numbers.
func hixieCheckRequest(r *http.Request) (n1, n2 uint32, err error) {
	switch {
	case r.Method != http.MethodGet:
		return 0, 0, fmt.Errorf("%w: method %s", errHixieHandshake, r.Method)
	case !isHixie76(r):
		return 0, 0, fmt.Errorf("%w: not a draft-76 upgrade", errHixieHandshake)
	case !hixieHeaderHasToken(r.Header, "Connection", "upgrade"):
		return 0, 0, fmt.Errorf("%w: Connection header lacks upgrade", errHixieHandshake)
	case r.Host == "":
		return 0, 0, fmt.Errorf("%w: no Host header", errHixieHandshake)
	}
	for _, v := range []string{
		r.Host, r.RequestURI, r.Header.Get("Origin"), r.Header.Get("Sec-WebSocket-Protocol"),
	} {
		if !hixieSafeHeaderValue(v) {
			return 0, 0, fmt.Errorf("%w: control character in header", errHixieHandshake)
		}
	}
	if n1, err = hixieKeyNumber(r.Header.Get("Sec-WebSocket-Key1")); err != nil {
		return 0, 0, fmt.Errorf("Sec-WebSocket-Key1: %w", err)
	}
	if n2, err = hixieKeyNumber(r.Header.Get("Sec-WebSocket-Key2")); err != nil {
		return 0, 0, fmt.Errorf("Sec-WebSocket-Key2: %w", err)
	}
	return n1, n2, nil
}

// hixieServerHandshake runs the part of the handshake that follows the hijack: it writes the
// 101 headers, reads the nonce from br and writes the answer, all under
// hixieHandshakeTimeout, then clears the deadlines. It does not close conn on failure.
func hixieServerHandshake(conn net.Conn, br *bufio.Reader, r *http.Request, n1, n2 uint32) (*hixieConn, error) {
	d := hixieHandshakeTimeout
	if hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		if rht := hs.ReadHeaderTimeout; rht > 0 && rht < d {
			d = rht
		}
	}
	if err := conn.SetDeadline(time.Now().Add(d)); err != nil {
		return nil, fmt.Errorf("hixie76: set deadline: %w", err)
	}

	var b strings.Builder
	b.WriteString("HTTP/1.1 101 WebSocket Protocol Handshake\r\n")
	b.WriteString("Upgrade: WebSocket\r\n")
	b.WriteString("Connection: Upgrade\r\n")
	if origin := r.Header.Get("Origin"); origin != "" {
		b.WriteString("Sec-WebSocket-Origin: " + origin + "\r\n")
	}
	b.WriteString("Sec-WebSocket-Location: " + hixieLocation(r) + "\r\n")
	if proto := r.Header.Get("Sec-WebSocket-Protocol"); proto != "" {
		b.WriteString("Sec-WebSocket-Protocol: " + proto + "\r\n")
	}
	b.WriteString("\r\n")
	// A direct write on the net.Conn: the headers reach the client before we wait for the nonce.
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, fmt.Errorf("hixie76: write handshake headers: %w", err)
	}

	var nonce [8]byte
	if _, err := io.ReadFull(br, nonce[:]); err != nil {
		return nil, fmt.Errorf("%w: read nonce: %w", errHixieHandshake, err)
	}
	answer := hixieAnswer(n1, n2, nonce)
	if _, err := conn.Write(answer[:]); err != nil {
		return nil, fmt.Errorf("hixie76: write handshake answer: %w", err)
	}

	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("hixie76: clear deadline: %w", err)
	}
	return newHixieConn(conn, br), nil
}

// hixieConn is a draft-76 websocket: text frames are 0x00 + UTF-8 + 0xFF; close is 0xFF 0x00.
// One goroutine may call ReadText while another calls the write methods (like gorilla: one
// reader, one writer). Close and the deadline setters may be called from any goroutine.
//
// When ReadText receives the peer's close frame it answers with a close frame (unless one
// was already sent) and returns io.EOF; the caller still has to call Close.
type hixieConn struct {
	conn net.Conn
	// br buffers reads from conn; it may hold bytes that arrived with the handshake.
	br *bufio.Reader
	// readLimit is the largest accepted payload in bytes; zero or negative means no limit.
	readLimit atomic.Int64
	// readErr is the sticky error of the read side; only the reading goroutine uses it.
	readErr error

	// wlock is a one-slot semaphore held while writing, so that the reader's close reply
	// can give up instead of waiting behind a stuck writer.
	wlock chan struct{}
	// wbuf is the reusable frame buffer; guarded by wlock.
	wbuf []byte
	// writeErr is the sticky error of the write side (a failed write may have left half a
	// frame on the wire); guarded by wlock.
	writeErr error
	// closeSent records that a close frame was written; guarded by wlock.
	closeSent bool

	// closeOnce makes Close idempotent.
	closeOnce sync.Once
	// closeErr is the result of the first Close.
	closeErr error
}

// newHixieConn returns a hixieConn reading through br (which must read from conn) and writing
// to conn. There is no read limit until SetReadLimit is called.
func newHixieConn(conn net.Conn, br *bufio.Reader) *hixieConn {
	return &hixieConn{conn: conn, br: br, wlock: make(chan struct{}, 1)}
}

// SetReadLimit sets the largest text payload, in bytes, that ReadText accepts; a larger frame
// makes ReadText fail and the connection unusable. Zero or negative means no limit.
func (c *hixieConn) SetReadLimit(n int64) {
	c.readLimit.Store(n)
}

// ReadText returns the payload of the next text frame; it is a new slice owned by the caller.
// The payload is not checked for valid UTF-8 (gorilla does not check either).
//
// After the peer's close frame, or EOF between frames, it returns io.EOF itself; EOF inside
// a frame gives an error wrapping io.ErrUnexpectedEOF. A frame longer than the read limit,
// or any frame type other than text (0x00) and close (0xFF 0x00), gives an error. Errors are
// sticky: every later call returns the same error.
func (c *hixieConn) ReadText() ([]byte, error) {
	if c.readErr != nil {
		return nil, c.readErr
	}
	p, err := c.readFrame()
	if err != nil {
		c.readErr = err
		return nil, err
	}
	return p, nil
}

// readFrame reads one frame; see ReadText.
func (c *hixieConn) readFrame() ([]byte, error) {
	typ, err := c.br.ReadByte()
	if err != nil {
		// EOF here is a clean end between frames and is passed through as io.EOF.
		return nil, err
	}
	switch typ {
	case hixieTextStart:
		return c.readTextPayload()
	case 0xFF:
		length, err := c.br.ReadByte()
		if err != nil {
			return nil, hixieUnexpectedEOF(err)
		}
		if length != 0x00 {
			return nil, fmt.Errorf("%w: 0xFF frame with length byte 0x%02x", errHixieBadFrame, length)
		}
		c.replyClose()
		return nil, io.EOF
	default:
		return nil, fmt.Errorf("%w: frame type 0x%02x", errHixieBadFrame, typ)
	}
}

// readTextPayload reads a text payload up to and excluding its 0xFF terminator, enforcing
// the read limit as it goes.
func (c *hixieConn) readTextPayload() ([]byte, error) {
	limit := c.readLimit.Load()
	p := []byte{}
	for {
		chunk, err := c.br.ReadSlice(hixieTextEnd)
		n := len(chunk)
		if err == nil {
			n-- // drop the terminator
		}
		if limit > 0 && int64(len(p))+int64(n) > limit {
			return nil, fmt.Errorf("%w (%d bytes)", errHixieReadLimit, limit)
		}
		p = append(p, chunk[:n]...)
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, hixieUnexpectedEOF(err)
		}
	}
}

// hixieUnexpectedEOF turns io.EOF met inside a frame into an error wrapping
// io.ErrUnexpectedEOF; other errors are returned unchanged.
func hixieUnexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("hixie76: connection closed inside a frame: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// replyClose answers the peer's close frame with ours, unless one was already sent or the
// writer is busy for longer than hixieCloseReplyWait. Errors are ignored: the connection is
// ending either way.
func (c *hixieConn) replyClose() {
	t := time.NewTimer(hixieCloseReplyWait)
	defer t.Stop()
	select {
	case c.wlock <- struct{}{}:
	case <-t.C:
		return
	}
	defer func() { <-c.wlock }()
	c.writeCloseLocked()
}

// WriteText writes p as one text frame, in a single Write on the connection. p must be valid
// UTF-8; otherwise nothing is written and an error is returned. After a failed write or a
// close frame every call fails.
func (c *hixieConn) WriteText(p []byte) error {
	if !utf8.Valid(p) {
		return errHixieInvalidUTF8
	}
	c.wlock <- struct{}{}
	defer func() { <-c.wlock }()
	switch {
	case c.writeErr != nil:
		return c.writeErr
	case c.closeSent:
		return errHixieCloseSent
	}
	c.wbuf = append(append(append(c.wbuf[:0], hixieTextStart), p...), hixieTextEnd)
	if _, err := c.conn.Write(c.wbuf); err != nil {
		c.writeErr = fmt.Errorf("hixie76: write: %w", err)
		return c.writeErr
	}
	// Do not keep a large buffer alive for the life of the connection.
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil
	}
	return nil
}

// WriteClose sends the draft-76 close frame 0xFF 0x00. Draft-76 has no close codes, so code
// and reason are ignored. Only the first call writes; later calls return nil, unless an
// earlier write failed.
func (c *hixieConn) WriteClose(code int, reason string) error {
	c.wlock <- struct{}{}
	defer func() { <-c.wlock }()
	return c.writeCloseLocked()
}

// writeCloseLocked writes the close frame once; the caller holds wlock.
func (c *hixieConn) writeCloseLocked() error {
	switch {
	case c.writeErr != nil:
		return c.writeErr
	case c.closeSent:
		return nil
	}
	c.closeSent = true
	if _, err := c.conn.Write(hixieCloseFrame); err != nil {
		c.writeErr = fmt.Errorf("hixie76: write close: %w", err)
		return c.writeErr
	}
	return nil
}

// ReadMessage is ReadText, as a push session reads (see msgConn).
func (c *hixieConn) ReadMessage() ([]byte, *[]byte, error) {
	p, err := c.ReadText()
	return p, nil, err
}

// Ping does nothing: draft 76 has no ping.
func (c *hixieConn) Ping() error { return nil }

// KeepAlive reports false: draft 76 has no ping to answer.
func (c *hixieConn) KeepAlive(func()) bool { return false }

// Waiter returns nil: a background reader reads a hixie-76 session.
func (c *hixieConn) Waiter() *pooledReadConn { return nil }

// Ended reports false: a websocket does not complete by itself.
func (c *hixieConn) Ended() bool { return false }

// SetReadDeadline sets the deadline for ReadText on the underlying connection; the zero
// time means none. A read that times out leaves the connection unusable.
func (c *hixieConn) SetReadDeadline(t time.Time) error {
	return c.conn.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for the write methods on the underlying connection;
// the zero time means none. A write that times out leaves the connection unusable.
func (c *hixieConn) SetWriteDeadline(t time.Time) error {
	return c.conn.SetWriteDeadline(t)
}

// Close closes the TCP connection without sending a close frame, unblocking any pending
// ReadText or write. It is idempotent: later calls return the first call's result.
func (c *hixieConn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.conn.Close() })
	return c.closeErr
}
