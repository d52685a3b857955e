package transports

import (
	"errors"
	"io"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/session"
)

// msgConn is a message connection as a push session sees it (see
// serveConn): an RFC 6455 websocket (gorillaConn), a hixie-76 one
// (hixieConn), or a taken-over HTTP stream (streamConn). Like gorilla's
// connections: one goroutine reads (the holder of the session's read role),
// one writes (the holder of its write role); Close, Ping and the deadline
// setters may be called by either.
type msgConn interface {
	// ReadMessage reads the next message. When buf is not nil, p lives in
	// it and buf goes back to the pool (putBuf) once p has been used.
	ReadMessage() (p []byte, buf *[]byte, err error)
	SetReadLimit(n int64)
	WriteText(p []byte) error
	WriteClose(code int, reason string) error
	// Ping writes a ping where the connection has one (RFC 6455); it does
	// nothing elsewhere.
	Ping() error
	// KeepAlive makes the reading goroutine call alive for every control
	// frame the client sends (pings, pongs). It reports whether the client
	// answers pings, so that a read deadline can tell a dead peer.
	KeepAlive(alive func()) bool
	// Waiter returns what the reading goroutine can wait for data on
	// without holding a buffer, or nil when there is none; a Recv caller
	// can then not read for itself, and a background reader reads for the
	// session's whole life.
	Waiter() *pooledReadConn
	// Ended reports whether the connection completed by itself (an HTTP
	// stream at its response limit): the session is then not interrupted.
	Ended() bool
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

// gorillaConn adapts an RFC 6455 *websocket.Conn to msgConn.
type gorillaConn struct {
	*websocket.Conn
	pc           *pooledReadConn // what gorilla reads from, when upgrade could give it one
	writeTimeout time.Duration   // bounds control frames as data frames are bounded
}

func newGorillaConn(c *websocket.Conn, writeTimeout time.Duration) gorillaConn {
	pc, _ := c.NetConn().(*pooledReadConn)
	return gorillaConn{Conn: c, pc: pc, writeTimeout: writeTimeout}
}

// controlDeadline is the deadline of a control frame written now: the
// write timeout, like any frame (zero: none). A shorter one would cut a
// live session whenever the process stalls for that long.
func (c gorillaConn) controlDeadline() time.Time {
	if c.writeTimeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(c.writeTimeout)
}

// ReadMessage reads the next message into a pooled buffer, taken only once
// the message has begun, so that an idle connection holds none.
func (c gorillaConn) ReadMessage() ([]byte, *[]byte, error) {
	_, r, err := c.NextReader()
	if err != nil {
		return nil, nil, err
	}
	buf := getBuf()
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			*buf = b
			if err == io.EOF {
				return b, buf, nil
			}
			return nil, buf, err
		}
	}
}

func (c gorillaConn) WriteText(p []byte) error { return c.WriteMessage(websocket.TextMessage, p) }

// maxCloseReason is what a close frame holds of a reason: a control
// frame's 125 bytes less the 2 of the code.
const maxCloseReason = 123

// WriteClose sends a close frame. A longer reason is cut, on a UTF-8
// boundary, to maxCloseReason bytes: gorilla refuses a longer control
// frame, and the client would get no close frame at all.
func (c gorillaConn) WriteClose(code int, reason string) error {
	if len(reason) > maxCloseReason {
		n := maxCloseReason
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	return c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), c.controlDeadline())
}

func (c gorillaConn) Ping() error {
	return c.WriteControl(websocket.PingMessage, nil, c.controlDeadline())
}

func (c gorillaConn) KeepAlive(alive func()) bool {
	c.SetPongHandler(func(string) error {
		alive()
		return nil
	})
	c.SetPingHandler(func(data string) error {
		alive()
		err := c.WriteControl(websocket.PongMessage, []byte(data), c.controlDeadline())
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	return true
}

func (c gorillaConn) Waiter() *pooledReadConn { return c.pc }

func (gorillaConn) Ended() bool { return false }

// monoNow is a monotonic clock reading, cheap to store in an atomic.
func monoNow() time.Duration { return time.Since(monoEpoch) }

var monoEpoch = time.Now()

// errBrokenFraming: a framed websocket message that is not a JSON array of
// strings. The connection is closed at once, without a SockJS close frame.
var errBrokenFraming = errors.New("sockjs: broken framing")

// brokenFraming is the websocket close sent for errBrokenFraming.
var brokenFraming = session.CloseError{Code: 3000, Reason: "Broken framing."}

// errTooManyMessages: a framed websocket message carrying more than
// MaxMessagesPerBody messages. The connection is closed with tooMany.
var errTooManyMessages = errors.New("sockjs: too many messages in one websocket message")

// tooMany is the websocket close sent for errTooManyMessages.
var tooMany = session.CloseError{Code: websocket.CloseMessageTooBig, Reason: "Too many messages."}

// closeCause turns the reader's final error into the session's close: the
// client's close code and reason when it sent a close frame.
func closeCause(err error) *session.CloseError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &session.CloseError{Code: ce.Code, Reason: ce.Text}
	}
	if errors.Is(err, errBrokenFraming) {
		return &brokenFraming
	}
	if errors.Is(err, errTooManyMessages) {
		return &tooMany
	}
	return &session.Interrupted
}
