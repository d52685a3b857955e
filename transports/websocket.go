package transports

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/frame"
	"github.com/go-sockjs/sockjs/internal/session"
)

// wsConn is what a websocket session loop needs from a connection, so the
// same loop serves gorilla's RFC 6455 connections and hixie-76 ones. Like
// gorilla's: one goroutine reads, one writes; Close may be called by either.
type wsConn interface {
	ReadText() ([]byte, error)
	SetReadLimit(n int64)
	WriteText(p []byte) error
	WriteClose(code int, reason string) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

// upgrader performs RFC 6455 handshakes. Origins are checked before it runs.
type upgrader struct{ websocket.Upgrader }

func newUpgrader(cfg *Config) upgrader {
	return upgrader{websocket.Upgrader{
		ReadBufferSize:    cfg.ReadBufferSize,
		WriteBufferSize:   cfg.WriteBufferSize,
		WriteBufferPool:   &sync.Pool{},
		EnableCompression: cfg.WebsocketCompression,
		CheckOrigin:       func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			fail(w, status, reason.Error()+"\n")
		},
	}}
}

// gorillaConn adapts *websocket.Conn to wsConn.
type gorillaConn struct{ *websocket.Conn }

func (c gorillaConn) ReadText() ([]byte, error) {
	_, p, err := c.ReadMessage()
	return p, err
}

func (c gorillaConn) WriteText(p []byte) error { return c.WriteMessage(websocket.TextMessage, p) }

func (c gorillaConn) WriteClose(code int, reason string) error {
	return c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

func (c gorillaConn) ping() error {
	return c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
}

// keepAlive arms a read deadline that every frame from the client (data,
// pong, ping, close) pushes back by d, so a dead peer is noticed within d
// even when the writer has nothing to send.
func (c gorillaConn) keepAlive(d time.Duration) {
	if d <= 0 {
		return
	}
	c.SetReadDeadline(time.Now().Add(d))
	c.SetPongHandler(func(string) error {
		return c.SetReadDeadline(time.Now().Add(d))
	})
	c.SetPingHandler(func(data string) error {
		c.SetReadDeadline(time.Now().Add(d))
		err := c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
}

// extend pushes the read deadline back after a data frame.
func (c gorillaConn) extend(d time.Duration) {
	if d > 0 {
		c.SetReadDeadline(time.Now().Add(d))
	}
}

// errBrokenFraming: a framed websocket message that is not a JSON array of
// strings. The connection is closed at once, without a SockJS close frame.
var errBrokenFraming = errors.New("sockjs: broken framing")

// brokenFraming is the websocket close sent for errBrokenFraming.
var brokenFraming = session.CloseError{Code: 3000, Reason: "Broken framing."}

// checkUpgrade answers 400 unless r asks for a websocket upgrade.
func checkUpgrade(w http.ResponseWriter, r *http.Request) bool {
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		fail(w, http.StatusBadRequest, `Can "Upgrade" only to "WebSocket".`)
		return false
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		fail(w, http.StatusBadRequest, `"Connection" must be "Upgrade".`)
		return false
	}
	return true
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// websocket serves GET /{server}/{session}/websocket: a SockJS-framed
// session over one websocket. Its session is not in the table: it lives as
// long as the connection, and its id may be reused at any time.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request, id string) {
	if !checkUpgrade(w, r) || !s.checkOrigin(w, r, false) {
		return
	}
	hixie := isHixie76(r)
	if hixie && !s.cfg.Hixie76 {
		fail(w, http.StatusBadRequest, "hixie-76 websockets are not enabled (see Options.Hixie76)\n")
		return
	}
	sess, err := s.table.OpenDetached(id, "websocket", r)
	if err != nil {
		openFailed(w, err)
		return
	}
	var conn wsConn
	if hixie {
		conn, err = acceptHixie76(w, r)
	} else {
		var c *websocket.Conn
		c, err = s.up.Upgrade(w, r, nil)
		if err == nil {
			conn = gorillaConn{c}
		}
	}
	if err != nil {
		s.table.Abandon(sess)
		return
	}
	s.table.Start(sess)
	s.serveWebsocket(conn, sess, true)
}

// serveWebsocket starts a websocket session: it attaches the session's
// receiver, writes the open frame, and hands the connection to a reader
// goroutine of the session's own, which the session table counts (Shutdown
// waits for it). It returns at once, so that net/http frees the request's
// goroutine and buffers: an idle session costs that reader goroutine plus
// the application's.
func (s *Server) serveWebsocket(conn wsConn, sess *session.Session, framed bool) {
	conn.SetReadLimit(s.cfg.MaxMessageBytes)
	gc, isGorilla := conn.(gorillaConn)
	if isGorilla {
		gc.keepAlive(s.cfg.LivenessTimeout)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &wsWriter{srv: s, conn: conn, framed: framed, cancel: cancel,
		metrics: s.table.Metrics(), name: sess.Transport(), heartbeat: s.table.HeartbeatDelay()}
	w.gc, w.isGorilla = gc, isGorilla
	w.lastPing = time.Now() // the first ping after one heartbeat delay, as before
	rcv, err := sess.AttachPush()
	if err != nil { // cannot happen: a detached session has no other receiver
		cancel()
		conn.Close()
		return
	}
	w.rcv = rcv
	w.hb = time.AfterFunc(w.heartbeat, w.beat)
	rcv.SetPush(w.kick)
	w.kick() // the open frame, and whatever the application queued
	go s.readLoop(ctx, conn, sess, framed, w)
}

// readLoop is a websocket session's reader goroutine: it reads until the
// connection ends, then tears the session down.
func (s *Server) readLoop(ctx context.Context, conn wsConn, sess *session.Session, framed bool, w *wsWriter) {
	defer w.cancel()
	rcv := w.rcv
	readErr := s.readWebsocket(ctx, conn, sess, framed)

	w.hb.Stop()
	if errors.Is(readErr, errBrokenFraming) {
		conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if conn.WriteClose(brokenFraming.Code, brokenFraming.Reason) == nil {
			// Wait briefly for the client's close, so that it sees a clean
			// close rather than a reset.
			conn.SetReadDeadline(time.Now().Add(s.cfg.CloseWait))
			for {
				if _, err := conn.ReadText(); err != nil {
					break
				}
			}
		}
	}
	conn.Close()
	w.stop()
	rcv.Release(closeCause(readErr))
}

// wsWriter writes a websocket session's frames without a goroutine waiting
// for them. When there is something to write (Send, TrySend, Close, a
// heartbeat) and nobody is writing, a short-lived writer goroutine starts;
// it drains the queue, batching whatever was queued meanwhile into one
// frame, and ends. The writing flag makes the writer unique; it is a claim,
// not a lock: nobody waits for it, so a stalled client never blocks a
// sender. (Writing inline from Send was measured: it loses the batching
// and made pipelined pushes 6-14x slower.)
type wsWriter struct {
	srv       *Server
	conn      wsConn
	gc        gorillaConn
	isGorilla bool
	framed    bool
	rcv       *session.Receiver
	cancel    context.CancelFunc // unblocks the reader's Deliver when writing fails
	metrics   session.Metrics
	name      string
	heartbeat time.Duration
	hb        *time.Timer

	writing  atomic.Bool // held by the one writer
	beatDue  atomic.Bool // the heartbeat timer fired
	lastPing time.Time   // owned by the writer

	mu      sync.Mutex // guards stopped and wg.Add
	stopped bool
	wg      sync.WaitGroup // writers in flight
	closer  *time.Timer    // after our close frame: cut the connection if the client does not answer
}

// kick is the session's push: it claims the writer role if free and starts
// a writer.
func (w *wsWriter) kick() {
	if !w.writing.CompareAndSwap(false, true) {
		return // the current writer will see the new frame
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		w.writing.Store(false)
		return
	}
	w.wg.Add(1)
	w.mu.Unlock()
	go w.flush()
}

// beat runs when the connection has been silent for the heartbeat delay.
func (w *wsWriter) beat() {
	w.beatDue.Store(true)
	w.kick()
}

// flush writes until there is nothing left, then gives up the writer role.
// The caller holds the role and has counted itself in wg.
func (w *wsWriter) flush() {
	defer w.wg.Done()
	buf := getBuf()
	defer putBuf(buf)
	for {
		for {
			f, ok := w.rcv.Poll()
			if !ok {
				if !w.beatDue.Swap(false) {
					break
				}
				f = session.Frame{Kind: session.HeartbeatFrame}
			}
			err := w.write(f, buf)
			if err == nil && w.isGorilla && f.Kind != session.CloseFrame {
				// Ping at least once per heartbeat delay even while frames
				// flow: heartbeats fall due only on silence, and a client
				// that only listens has nothing else to answer, so its read
				// deadline would pass.
				now := time.Now()
				switch {
				case f.Kind == session.HeartbeatFrame:
					w.lastPing = now // write pinged
				case now.Sub(w.lastPing) >= w.heartbeat:
					err = w.gc.ping()
					w.lastPing = now
				}
			}
			if err != nil {
				w.cancel()
				w.conn.Close()
				return // keeps the role: nothing more is written
			}
			if f.Kind == session.CloseFrame {
				// Keep the role: nothing follows a close. Give the client
				// a moment to answer with its own close, so that it sees a
				// clean close rather than a reset, then cut.
				w.mu.Lock()
				if !w.stopped {
					w.closer = time.AfterFunc(w.srv.cfg.CloseWait, func() { w.conn.Close() })
				}
				w.mu.Unlock()
				return
			}
			w.hb.Reset(w.heartbeat)
		}
		w.writing.Store(false)
		if !(w.rcv.Pending() || w.beatDue.Load()) || !w.writing.CompareAndSwap(false, true) {
			return
		}
	}
}

// write puts one frame on the wire under the write deadline.
func (w *wsWriter) write(f session.Frame, buf *[]byte) error {
	w.conn.SetWriteDeadline(time.Now().Add(w.srv.cfg.WriteTimeout))
	var err error
	switch {
	case f.Kind == session.CloseFrame:
		if w.framed {
			*buf = appendFrame((*buf)[:0], f)
			w.conn.WriteText(*buf)
			return w.conn.WriteClose(websocket.CloseNormalClosure, "")
		}
		return w.conn.WriteClose(f.Close.Code, f.Close.Reason)
	case w.framed:
		*buf = appendFrame((*buf)[:0], f)
		if err = w.conn.WriteText(*buf); err == nil {
			w.metrics.FramesSent(w.name, 1, len(*buf))
			if f.Kind == session.HeartbeatFrame && w.isGorilla {
				err = w.gc.ping()
			}
		}
	case f.Kind == session.MessagesFrame:
		for _, m := range f.Messages {
			*buf = append((*buf)[:0], m.Text...)
			if err = w.conn.WriteText(*buf); err != nil {
				break
			}
			w.metrics.FramesSent(w.name, 1, len(m.Text))
		}
	case f.Kind == session.HeartbeatFrame && w.isGorilla:
		err = w.gc.ping()
	}
	return err
}

// stop forbids new writers and waits for the ones in flight (the connection
// is closed, so they end at once).
func (w *wsWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	if w.closer != nil {
		w.closer.Stop()
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// readWebsocket reads and delivers messages until the connection fails or
// closes, and returns why.
func (s *Server) readWebsocket(ctx context.Context, conn wsConn, sess *session.Session, framed bool) error {
	one := make([]string, 1)
	gc, isGorilla := conn.(gorillaConn)
	for {
		p, err := conn.ReadText()
		if err != nil {
			return err
		}
		if isGorilla {
			gc.extend(s.cfg.LivenessTimeout)
		}
		var msgs []string
		if framed {
			if len(p) == 0 {
				continue // empty messages are ignored
			}
			if msgs, err = frame.DecodeMessages(p); err != nil {
				return errBrokenFraming
			}
			if len(msgs) == 0 {
				continue
			}
		} else {
			one[0] = string(p)
			msgs = one
		}
		if err := sess.Deliver(ctx, msgs); err != nil && !errors.Is(err, session.ErrClosed) {
			return err
		}
	}
}

// closeCause turns the reader's final error into the session's close: the
// client's close code and reason when it sent a close frame.
func closeCause(err error) *session.CloseError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &session.CloseError{Code: ce.Code, Reason: ce.Text}
	}
	if errors.Is(err, errBrokenFraming) {
		c := brokenFraming
		return &c
	}
	return &session.Interrupted
}
