package transports

import (
	"math"
	"time"

	"github.com/go-sockjs/sockjs/internal/session"
)

// A push session is served over a message connection (msgConn): a
// websocket, or an HTTP stream taken over from net/http (see
// hijackStream). Its receiver is a push receiver: nobody waits in
// Receiver.Next; instead two roles, each held by one goroutine at a time,
// serve the connection:
//   - the read role (connReader): the application's goroutine while it
//     waits in Recv, or a background reader (see session.ReadState);
//   - the write role (connWriter): a writer goroutine that exists while
//     there is something to write, or, for one frame that does not wait
//     for the socket, the goroutine of a Send to a quiet session.
//
// So an idle websocket session whose application waits in Recv costs one
// goroutine, the application's.

// startConn starts a websocket session from the upgrading request's
// goroutine: it attaches the session's receiver, which the session table
// counts (Shutdown waits for it), sets the session up, writes the open frame
// and returns, so that net/http frees the request's goroutine and buffers.
func (s *Server) startConn(conn msgConn, sess *session.Session, framed bool) {
	rcv, err := sess.AttachPush()
	if err != nil { // cannot happen: a detached session has no other receiver
		conn.Close()
		return
	}
	r := s.setupConn(conn, sess, rcv, framed)
	if r.pc == nil {
		go r.background()
	}
	// The open frame is written here: this goroutine ends as soon as the
	// handler returns, so the stack it grows on the write path is not
	// kept, and a session that sends nothing more never starts a writer.
	r.w.flushInline()
}

// serveConn serves a session whose receiver is attached over conn, from a
// goroutine that may stay as its reader (a taken-over stream's).
func (s *Server) serveConn(conn msgConn, sess *session.Session, rcv *session.Receiver, framed bool) {
	r := s.setupConn(conn, sess, rcv, framed)
	// The open frame goes to a writer goroutine: this one may stay as the
	// session's reader, and would keep the stack grown on the write path.
	r.w.kick()
	if r.pc == nil {
		r.background()
	}
}

// setupConn makes the session's reader and writer and installs them on the
// receiver; the caller has the open frame written. Where the connection has
// a Waiter, the application's Recv reads for itself and nobody reads until
// it does, or until a background reader is started (see connReader);
// otherwise the caller must run the reader's background loop.
func (s *Server) setupConn(conn msgConn, sess *session.Session, rcv *session.Receiver, framed bool) *connReader {
	conn.SetReadLimit(s.cfg.MaxMessageBytes)
	w := &connWriter{srv: s, conn: conn, framed: framed, rcv: rcv,
		metrics: s.table.Metrics(), name: sess.Transport(), heartbeat: s.table.HeartbeatDelay(),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	now := monoNow()
	w.lastPing = now // the first ping after one heartbeat delay
	w.lastWrite.Store(int64(now))
	r := &connReader{srv: s, conn: conn, pc: conn.Waiter(), sess: sess, w: w, framed: framed,
		extended: time.Duration(math.MinInt64 / 2)}
	if s.cfg.LivenessTimeout > 0 {
		r.live = conn.KeepAlive(r.alive)
	}
	r.extend(true)
	w.rd = r
	// The first beat comes early, to start a background reader if the
	// application has not called Recv by then. Armed only once assigned:
	// beat reads w.hb.
	w.hb = time.AfterFunc(time.Duration(math.MaxInt64), w.beat)
	w.hb.Reset(min(reapInterval, w.heartbeat))
	if gc, ok := conn.(gorillaConn); ok {
		w.pc = gc.pc // nil over TLS: no socket to try without waiting
		// With permessage-deflate offered, gorilla may compress: it
		// writes the frames.
		w.direct = w.pc != nil && !s.cfg.WebsocketCompression
	}
	rcv.SetPush(w.kick, w.sendPush)
	if r.pc != nil {
		rcv.SetPuller(r)
	}
	return r
}
