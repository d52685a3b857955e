package transports

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-sockjs/sockjs/internal/session"
)

// A streaming response (xhr-streaming, eventsource, htmlfile) over
// HTTP/1.x is taken over from net/http once its session is attached: the
// response head and prelude are written here, and the session is then
// served like a websocket, by serveConn with a streamConn, whose
// frames are HTTP chunks. net/http would otherwise keep, for every idle
// stream, its connection goroutine (parked inside this handler, with a deep
// stack), a background-read goroutine and 10 KiB of buffers; a taken-over
// stream costs one shallow reader goroutine, and a writer only while busy.
// The connection closes when the response ends (Connection: close), so the
// client's next streaming request opens a new one. HTTP/2, and response
// writers that cannot be hijacked, keep the net/http path.

// errStreamEnded is what writing to a complete streamConn returns.
var errStreamEnded = errors.New("sockjs: stream complete")

// hijackStream takes a streaming response over, if it can, and reports
// whether it did; rcv is then owned by the session's goroutine.
func (s *Server) hijackStream(w http.ResponseWriter, r *http.Request, sess *session.Session, rcv *session.Receiver, fr *framing, cb string) bool {
	if r.ProtoMajor != 1 || s.cfg.NoStreamHijack {
		return false
	}
	h := w.Header()
	conn, _, err := http.NewResponseController(w).Hijack() // what the client sends next is ignored
	if err != nil {
		return false
	}
	chunked := r.ProtoAtLeast(1, 1)
	h["Date"] = []string{time.Now().UTC().Format(http.TimeFormat)}
	h["Connection"] = []string{"close"}
	if chunked {
		h["Transfer-Encoding"] = []string{"chunked"}
	}
	sc := &streamConn{Conn: conn, fr: fr, cb: cb, chunked: chunked, limit: s.cfg.ResponseLimit}
	sc.pc = newPooledReadConn(conn)
	buf := getBuf()
	head := &headWriter{b: append((*buf)[:0], "HTTP/1.1 200 OK\r\n"...)}
	h.Write(head)
	head.b = append(head.b, "\r\n"...)
	if fr.prelude != nil {
		head.b = sc.appendChunk(head.b, fr.prelude(cb))
	}
	conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	_, err = conn.Write(head.b)
	*buf = head.b
	putBuf(buf)
	if err != nil {
		conn.Close()
		rcv.Release(&session.Interrupted)
		return true
	}
	go s.serveConn(sc, sess, rcv, true)
	return true
}

// headWriter collects http.Header.Write's output.
type headWriter struct{ b []byte }

func (hw *headWriter) Write(p []byte) (int, error) {
	hw.b = append(hw.b, p...)
	return len(p), nil
}

// streamConn is a taken-over streaming response, seen by the websocket
// session loop as a connection: WriteText writes one frame as one chunk,
// WriteClose ends the response, and ReadMessage waits for the client to go
// away (it sends nothing more on this request). After the response limit
// the response ends by itself and Ended reports true.
type streamConn struct {
	net.Conn
	pc      *pooledReadConn // waits holding no buffer; nil for TLS and the like
	fr      *framing
	cb      string
	chunked bool
	limit   int
	written int // frame bytes; owned by the writer role
	ended   atomic.Bool
}

func (c *streamConn) SetReadLimit(int64) {}

// Ping does nothing: a stream's client cannot answer (heartbeat frames
// keep it alive).
func (c *streamConn) Ping() error { return nil }

// KeepAlive reports false: the client sends nothing on a stream.
func (c *streamConn) KeepAlive(func()) bool { return false }

// Waiter returns nil: the session's messages come from xhr_send requests,
// so Recv never reads a stream; its background reader waits in
// ReadMessage.
func (c *streamConn) Waiter() *pooledReadConn { return nil }

// appendChunk appends p as one chunk of the response body.
func (c *streamConn) appendChunk(dst, p []byte) []byte {
	if !c.chunked { // HTTP/1.0: the body ends when the connection closes
		return append(dst, p...)
	}
	dst = strconv.AppendInt(dst, int64(len(p)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, p...)
	return append(dst, '\r', '\n')
}

// WriteText writes the SockJS frame text p, wrapped for the transport, as
// one chunk; once the response limit is reached it ends the response.
func (c *streamConn) WriteText(p []byte) error {
	if c.ended.Load() {
		return errStreamEnded
	}
	wrapped, out := getBuf(), getBuf()
	defer putBuf(wrapped)
	defer putBuf(out)
	*wrapped = c.fr.wrapText((*wrapped)[:0], p)
	*out = c.appendChunk((*out)[:0], *wrapped)
	c.written += len(*wrapped)
	if c.written >= c.limit {
		return c.end(*out)
	}
	_, err := c.Conn.Write(*out)
	return err
}

// WriteClose ends the response after the close frame (written by
// WriteText); the code and reason are a websocket's.
func (c *streamConn) WriteClose(int, string) error {
	if c.ended.Load() {
		return nil
	}
	return c.end(nil)
}

// end writes the last bytes of the response and closes the connection.
func (c *streamConn) end(last []byte) error {
	if c.chunked {
		last = append(last, "0\r\n\r\n"...)
	}
	_, err := c.Conn.Write(last)
	if err == nil {
		c.ended.Store(true)
	}
	c.Conn.Close()
	return err
}

// Ended reports whether the response is complete, its last bytes written:
// the session's writer stops, leaving what is queued for the client's next
// request, and the receiver is released normally, not as interrupted.
func (c *streamConn) Ended() bool { return c.ended.Load() }

// ReadMessage waits until the client goes away or the response ends,
// discarding anything the client sends.
func (c *streamConn) ReadMessage() ([]byte, *[]byte, error) {
	var discard [64]byte
	var r interface{ Read([]byte) (int, error) } = c.Conn
	if c.pc != nil {
		r = c.pc
	}
	for {
		if c.pc != nil {
			c.pc.wait()
		}
		if _, err := r.Read(discard[:]); err != nil {
			return nil, nil, err
		}
	}
}
