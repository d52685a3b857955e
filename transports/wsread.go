package transports

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

// idleReadBufferSize is gorilla's read buffer on connections read through
// a pooledReadConn: enough for any frame header and control frame (125
// bytes), where the default would hold 4 KiB for the life of the session.
// It must stay above 256: gorilla adopts a hijacked reader only above that
// size, and would otherwise allocate its 4 KiB default.
const idleReadBufferSize = 320

// upgrade performs the websocket handshake. When the upgrader has no read
// buffer size of its own (the default) and the connection allows it, the
// connection gorilla reads from is a pooledReadConn, so that an idle
// websocket holds a 320-byte read buffer instead of net/http's 4 KiB one.
func (u *upgrader) upgrade(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	if u.ReadBufferSize == 0 {
		w = pooledHijacker{w}
	}
	return u.Upgrade(w, r, nil)
}

// pooledHijacker hands gorilla a pooledReadConn, with a small reader that
// gorilla then keeps as its own buffer (it reuses a hijacked reader larger
// than 256 bytes when its ReadBufferSize is 0).
type pooledHijacker struct{ http.ResponseWriter }

func (h pooledHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return conn, brw, err // gorilla refuses early data itself
	}
	pc := newPooledReadConn(conn)
	if pc == nil {
		return conn, brw, nil
	}
	pc.br = bufio.NewReaderSize(pc, idleReadBufferSize)
	return pc, bufio.NewReadWriter(pc.br, brw.Writer), nil
}

// Unwrap lets http.ResponseController reach the original writer.
func (h pooledHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
