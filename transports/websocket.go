package transports

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
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

// readPooled reads the next message into a pooled buffer, taken only once
// the message has begun, so that an idle connection holds none. The caller
// returns the buffer with putBuf.
func (c gorillaConn) readPooled() ([]byte, *[]byte, error) {
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

// monoNow is a monotonic clock reading, cheap to store in an atomic.
func monoNow() time.Duration { return time.Since(monoEpoch) }

var monoEpoch = time.Now()

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
		c, err = s.up.upgrade(w, r)
		if err == nil {
			conn = gorillaConn{c}
		}
	}
	if err != nil {
		s.table.Abandon(sess)
		return
	}
	s.table.Start(sess)
	s.startWebsocket(conn, sess, true)
}

// startWebsocket starts a websocket session: it attaches the session's
// receiver, which the session table counts (Shutdown waits for it), sets
// the session up and returns, so that net/http frees the request's
// goroutine and buffers: an idle session whose application waits in Recv
// costs only the application's goroutine (see wsReader). Where Recv cannot
// read the connection, a reader goroutine is started.
func (s *Server) startWebsocket(conn wsConn, sess *session.Session, framed bool) {
	rcv, err := sess.AttachPush()
	if err != nil { // cannot happen: a detached session has no other receiver
		conn.Close()
		return
	}
	r := s.setupWebsocket(conn, sess, rcv, framed)
	if r.pc == nil {
		go r.background()
	}
	// The open frame is written here: this goroutine ends as soon as the
	// handler returns, so the stack it grows on gorilla's write path is
	// not kept, and a session that sends nothing more never starts a
	// writer goroutine.
	r.w.flushInline()
}

// serveWebsocket sets a session up over conn and reads it until it ends.
func (s *Server) serveWebsocket(conn wsConn, sess *session.Session, rcv *session.Receiver, framed bool) {
	r := s.setupWebsocket(conn, sess, rcv, framed)
	// The open frame goes to a writer goroutine: this one may stay as the
	// session's reader, and would keep the stack grown on the write path.
	r.w.kick()
	if r.pc == nil {
		r.background()
	}
}

// setupWebsocket sets a websocket session up; the caller has the open
// frame written. Where the application's Recv can read the
// connection itself (a gorilla connection with a file descriptor to wait
// on), nobody reads until it does, or until the writer, retiring after the
// open frame, finds that it has not (see wsReader); otherwise the caller
// must run the returned reader's background loop.
func (s *Server) setupWebsocket(conn wsConn, sess *session.Session, rcv *session.Receiver, framed bool) *wsReader {
	conn.SetReadLimit(s.cfg.MaxMessageBytes)
	gc, isGorilla := conn.(gorillaConn)
	if isGorilla {
		gc.keepAlive(s.cfg.LivenessTimeout)
	}
	w := &wsWriter{srv: s, conn: conn, framed: framed,
		metrics: s.table.Metrics(), name: sess.Transport(), heartbeat: s.table.HeartbeatDelay(),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.gc, w.isGorilla = gc, isGorilla
	w.ender, _ = conn.(interface{ Ended() bool })
	now := monoNow()
	w.lastPing = now // the first ping after one heartbeat delay
	w.lastWrite.Store(int64(now))
	w.rcv = rcv
	r := &wsReader{srv: s, conn: conn, gc: gc, isGorilla: isGorilla, sess: sess, w: w,
		framed:   framed,
		extended: time.Duration(math.MinInt64 / 2)} // the first message moves the deadline
	if isGorilla {
		r.pc, _ = gc.NetConn().(*pooledReadConn)
	}
	w.rd = r
	// The first beat comes early, to start a background reader if the
	// application has not called Recv by then (see wsReader).
	// Armed only once assigned: beat reads w.hb.
	w.hb = time.AfterFunc(time.Duration(math.MaxInt64), w.beat)
	w.hb.Reset(min(reapInterval, w.heartbeat))
	rcv.SetPush(w.kick)
	if r.pc != nil {
		rcv.SetPuller(r)
	} else {
		r.state.Store(readBackground)
	}
	return r
}

// Read role states: who reads a websocket session's connection.
const (
	readFree       int32 = iota // nobody: the next Recv, or a retiring writer, takes the role
	readPull                    // a Recv caller, through Pull
	readWaiting                 // the background reader, waiting for data (it can be taken over)
	readBackground              // the background reader, reading or delivering
	readTakeover                // a Recv caller asked the waiting background reader to hand over
	readDone                    // the connection has ended
)

// States of pullWait.
const (
	pullIdle int32 = iota
	pullWaiting
	pullInterrupted
)

// wsReader reads a websocket session's connection. One goroutine at a time
// holds the read role (state): the application's goroutine while it waits in
// Recv (Pull), or a background reader while nobody does, which Recv takes
// over when it finds it waiting for data. So an idle session whose
// application waits in Recv has one goroutine, the application's, and an
// echo is read, handed over and answered without a goroutine switch on the
// read side. Whenever nobody holds the role, a background reader is
// started: by a writer goroutine that has finished writing turning into
// it, and by the heartbeat timer, which first fires shortly after the
// session opens; so a session whose application does not call Recv is
// still read (its client's close noticed) within a heartbeat delay, and
// from the start.
type wsReader struct {
	srv       *Server
	conn      wsConn
	gc        gorillaConn
	isGorilla bool
	pc        *pooledReadConn // nil: only a background reader reads
	sess      *session.Session
	w         *wsWriter
	framed    bool

	state atomic.Int32
	// waiting is held by the background reader while it waits for data
	// (readWaiting): a Recv caller that takes the role over interrupts the
	// wait, then acquires it to know that the reader has let go. Nobody
	// else takes it, and the wait it covers is cut short by whoever would
	// block on it.
	waiting sync.Mutex
	// pullWait tells whether a Recv caller with a context of its own is
	// waiting for data (not reading), so that the end of its context may
	// interrupt the wait; interrupting is held while an interrupt sets the
	// deadline.
	pullWait     atomic.Int32
	interrupting sync.Mutex

	// Owned by the read role.
	one      [1]string     // a raw websocket's message, as Deliver takes it
	extended time.Duration // monoNow when the read deadline was last moved
}

// Pull implements session.Puller.
func (r *wsReader) Pull(ctx context.Context) bool {
	// The session's own context ends with the connection, so a read
	// blocked on it ends too. Any other context that can end is watched
	// while waiting for data: its end interrupts the wait (never a read
	// under way in gorilla, which a deadline would break).
	other := ctx != r.sess.Context() && ctx.Done() != nil // not Done on the session's own: that would make its channel
	if other && ctx.Err() != nil {
		return false // Recv returns ctx.Err()
	}
	for {
		switch r.state.Load() {
		case readFree:
			if !r.state.CompareAndSwap(readFree, readPull) {
				continue
			}
		case readWaiting:
			if !r.state.CompareAndSwap(readWaiting, readTakeover) {
				continue
			}
			r.conn.SetReadDeadline(time.Unix(1, 0)) // wakes the reader's wait
			r.waiting.Lock()                        // held until it has let go
			r.waiting.Unlock()
			r.extend(true)
		default:
			return false
		}
		break
	}
	if other {
		if !r.waitFor(ctx) {
			r.state.Store(readFree)
			return ctx.Err() == nil // false: Recv returns ctx.Err()
		}
	} else {
		r.pc.wait() // idle here, in as shallow a stack as Recv allows
	}
	if err := r.read(true); err != nil {
		r.end(err)
		return true
	}
	r.state.Store(readFree)
	return true
}

// waitFor waits for data like pc.wait, or until ctx ends; it reports
// whether the wait ended by itself. Out of line: only Recv callers with a
// context of their own pay for its frame.
//
//go:noinline
func (r *wsReader) waitFor(ctx context.Context) bool {
	r.pullWait.Store(pullWaiting)
	stop := context.AfterFunc(ctx, r.interrupt)
	r.pc.wait()
	stop()
	if r.pullWait.CompareAndSwap(pullWaiting, pullIdle) {
		return true
	}
	// Interrupted (or, late, by an earlier Recv's context): wait for the
	// interrupter to have set its deadline, then put the real one back.
	r.interrupting.Lock()
	r.pullWait.Store(pullIdle)
	r.interrupting.Unlock()
	if errors.Is(r.pc.later, os.ErrDeadlineExceeded) {
		r.pc.later = nil
	}
	r.extend(true)
	return false
}

// interrupt cuts short a Recv caller's wait for data when its context ends.
func (r *wsReader) interrupt() {
	r.interrupting.Lock()
	if r.pullWait.CompareAndSwap(pullWaiting, pullInterrupted) {
		r.conn.SetReadDeadline(time.Unix(1, 0))
	}
	r.interrupting.Unlock()
}

// adopt makes the caller's goroutine, or a new one when spawn is set, the
// background reader if nobody holds the read role.
func (r *wsReader) adopt(spawn bool) {
	if r.pc == nil || !r.state.CompareAndSwap(readFree, readBackground) {
		return
	}
	if spawn {
		go r.background()
	} else {
		r.background()
	}
}

// background is the background reader: it holds the read role until the
// connection ends or a Recv caller takes the role over.
func (r *wsReader) background() {
	for {
		if r.pc != nil {
			r.waiting.Lock()
			r.state.Store(readWaiting)
			r.pc.wait() // idle here, in a shallow stack
			if !r.state.CompareAndSwap(readWaiting, readBackground) {
				// Taken over: forget the deadline that woke us, hand over.
				if errors.Is(r.pc.later, os.ErrDeadlineExceeded) {
					r.pc.later = nil
				}
				r.state.Store(readPull)
				r.waiting.Unlock()
				return
			}
			r.waiting.Unlock()
		}
		if err := r.read(false); err != nil {
			r.end(err)
			return
		}
	}
}

// read reads one message and hands it to the session: appended for a Recv
// caller (pull), delivered, waiting for queue space, by the background
// reader.
func (r *wsReader) read(pull bool) error {
	var p []byte
	var buf *[]byte
	var err error
	if r.isGorilla {
		p, buf, err = r.gc.readPooled()
	} else {
		p, err = r.conn.ReadText()
	}
	if err == nil {
		err = r.deliver(p, pull)
	}
	if buf != nil {
		putBuf(buf)
	}
	if err == nil {
		r.extend(false)
	}
	return err
}

// extend moves the read deadline, which a dead peer's silence runs into. It
// is moved at most every eighth of its span (every move costs a timer
// update), to an eighth beyond it: never nearer than LivenessTimeout after
// a message, and at most an eighth further. A takeover moves it at once, to
// replace the deadline that woke the background reader.
func (r *wsReader) extend(now bool) {
	live := r.srv.cfg.LivenessTimeout
	if !r.isGorilla || live <= 0 {
		if now {
			r.conn.SetReadDeadline(time.Time{})
		}
		return
	}
	slack := live / 8
	if t := monoNow(); now || t-r.extended >= slack {
		r.gc.SetReadDeadline(time.Now().Add(live + slack))
		r.extended = t
	}
}

// deliver decodes one websocket message and hands it to the session; p is
// not kept.
func (r *wsReader) deliver(p []byte, pull bool) error {
	var msgs []string
	if r.framed {
		if len(p) == 0 {
			return nil // empty messages are ignored
		}
		var err error
		if msgs, err = frame.DecodeMessages(p); err != nil {
			return errBrokenFraming
		}
		if len(msgs) == 0 {
			return nil
		}
	} else {
		r.one[0] = string(p)
		msgs = r.one[:]
	}
	if pull {
		r.sess.Append(msgs)
		return nil
	}
	// Deliver ends when the session closes, which a failed write does.
	if err := r.sess.Deliver(context.Background(), msgs); err != nil && !errors.Is(err, session.ErrClosed) {
		return err
	}
	return nil
}

// end tears the session down once reading has failed: it runs once, on the
// goroutine that holds the read role.
func (r *wsReader) end(readErr error) {
	r.state.Store(readDone)
	w, conn := r.w, r.conn
	w.hb.Stop()
	if errors.Is(readErr, errBrokenFraming) {
		conn.SetWriteDeadline(time.Now().Add(r.srv.cfg.WriteTimeout))
		if conn.WriteClose(brokenFraming.Code, brokenFraming.Reason) == nil {
			// Wait briefly for the client's close, so that it sees a clean
			// close rather than a reset.
			conn.SetReadDeadline(time.Now().Add(r.srv.cfg.CloseWait))
			for {
				if _, err := conn.ReadText(); err != nil {
					break
				}
			}
		}
	}
	conn.Close()
	w.stop()
	cause := closeCause(readErr)
	if w.ender != nil && w.ender.Ended() {
		cause = nil // a taken-over HTTP stream completed; the client reads on
	}
	w.rcv.Release(cause)
}

// wsWriter writes a websocket session's frames from one writer goroutine
// that exists only while the session is busy. When there is something to
// write (Send, TrySend, Close, a heartbeat), whoever queued it claims the
// writer role; if the session's writer goroutine is parked the role is
// handed to it, otherwise one is started. The writer drains the queue,
// batching whatever was queued meanwhile into one frame, and parks. Parked
// writers are retired by the server's reaper within 100 ms, so an
// idle session has no writer goroutine, while a busy one keeps its writer
// (and the stack it grew on the write path) from message to message. A
// writer that ends while nobody reads the connection becomes the session's
// background reader (see wsReader).
//
// The role is a claim, not a lock: nobody waits for it, so a stalled
// client never blocks a sender. (Writing inline from Send was measured: it
// loses the batching and made pipelined pushes 6-14x slower.)
type wsWriter struct {
	srv       *Server
	conn      wsConn
	gc        gorillaConn
	isGorilla bool
	framed    bool
	rcv       *session.Receiver
	rd        *wsReader
	metrics   session.Metrics
	name      string
	heartbeat time.Duration
	ender     interface{ Ended() bool } // a streamConn: its response may end
	hb        *time.Timer               // fires a heartbeat delay after the last write, or a little later

	writing   atomic.Bool   // the writer role
	alive     bool          // a writer goroutine exists; guarded by the role
	wake      chan struct{} // hands the role to the parked writer
	done      chan struct{} // closed by stop: a parked writer ends
	beatDue   atomic.Bool   // the connection has been silent for the heartbeat delay
	lastWrite atomic.Int64  // monoNow of the last frame written
	lastPing  time.Duration // monoNow of the last ping; owned by the role

	mu      sync.Mutex // guards stopped and wg.Add
	stopped bool
	wg      sync.WaitGroup // the writer goroutine
	closer  *time.Timer    // after our close frame: cut the connection if the client does not answer
}

// kick is the session's push: it claims the writer role if free and gives
// it to the writer goroutine, starting one if there is none.
func (w *wsWriter) kick() {
	if !w.writing.CompareAndSwap(false, true) {
		return // the current writer will see the new frame
	}
	if w.alive {
		w.wake <- struct{}{} // never blocks: one token per hand-over
		return
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		w.writing.Store(false)
		return
	}
	w.wg.Add(1)
	w.mu.Unlock()
	w.alive = true
	go w.runThenRead()
}

// flushInline takes the writer role, if it is free, and writes what is
// pending from the calling goroutine, which must be one that ends soon (a
// request's), not one that lives with the session.
func (w *wsWriter) flushInline() {
	if !w.writing.CompareAndSwap(false, true) {
		return // a writer is at work
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.wg.Add(1) // stop waits for this write as for a writer goroutine's
	w.mu.Unlock()
	ok := w.drain()
	w.wg.Done()
	if !ok {
		w.rd.adopt(true) // closed or failed: make sure the end is read
		return
	}
	w.writing.Store(false)
	if w.wanted() {
		w.kick()
	}
}

// runThenRead is a writer goroutine. Once it has stopped writing it becomes
// the session's background reader if nobody reads the connection.
func (w *wsWriter) runThenRead() {
	w.run()
	w.wg.Done()
	w.rd.adopt(false)
}

// beat runs when the heartbeat timer fires. The timer is not reset on every
// write (that costs a timer update per frame); instead it re-arms itself
// for the rest of the delay when something was written meanwhile. Each beat
// also makes sure that somebody reads the connection.
func (w *wsWriter) beat() {
	select {
	case <-w.done:
		return
	default:
	}
	w.rd.adopt(true) // nobody reads: start a background reader
	if idle := monoNow() - time.Duration(w.lastWrite.Load()); idle < w.heartbeat {
		w.hb.Reset(w.heartbeat - idle)
		return
	}
	w.hb.Reset(w.heartbeat)
	w.beatDue.Store(true)
	w.kick()
}

// wanted reports whether there is something to write.
func (w *wsWriter) wanted() bool { return w.rcv.Pending() || w.beatDue.Load() }

// run is the session's writer goroutine. It starts holding the role; it
// writes, releases the role and parks until the role is handed back, the
// session ends, or the reaper retires it.
func (w *wsWriter) run() {
	for {
		if !w.drain() {
			return // closed or failed: the role is kept, nothing more is written
		}
		w.writing.Store(false)
		if w.wanted() && w.writing.CompareAndSwap(false, true) {
			continue
		}
		select {
		case <-w.wake:
			continue
		case <-w.done:
			return
		case <-w.srv.reaper.wait():
		}
		// Retire, unless a kicker has just claimed the role for us.
		if !w.writing.CompareAndSwap(false, true) {
			select {
			case <-w.wake:
				continue
			case <-w.done:
				return
			}
		}
		w.alive = false
		w.writing.Store(false)
		if w.wanted() && w.writing.CompareAndSwap(false, true) {
			w.alive = true
			continue
		}
		return
	}
}

// drain writes until there is nothing left. It reports false when the
// session's writing is over (a close frame was written, or a write failed).
func (w *wsWriter) drain() bool {
	buf := getBuf()
	defer putBuf(buf)
	for {
		f, ok := w.rcv.Poll()
		if !ok {
			if !w.beatDue.Swap(false) {
				return true
			}
			f = session.Frame{Kind: session.HeartbeatFrame}
		}
		err := w.write(f, buf)
		now := monoNow()
		if err == nil && w.isGorilla && f.Kind != session.CloseFrame {
			// Ping at least once per heartbeat delay even while frames
			// flow: heartbeats fall due only on silence, and a client that
			// only listens has nothing else to answer, so its read
			// deadline would pass.
			switch {
			case f.Kind == session.HeartbeatFrame:
				w.lastPing = now // write pinged
			case now-w.lastPing >= w.heartbeat:
				err = w.gc.ping()
				w.lastPing = now
			}
		}
		if err != nil {
			w.conn.Close()
			// Closing the session also frees a background reader waiting
			// in Deliver for the application to make room.
			w.rd.sess.Close(session.Interrupted.Code, session.Interrupted.Reason)
			return false
		}
		if f.Kind == session.CloseFrame {
			// Nothing follows a close. Give the client a moment to answer
			// with its own close, so that it sees a clean close rather
			// than a reset, then cut.
			w.mu.Lock()
			if !w.stopped {
				w.closer = time.AfterFunc(w.srv.cfg.CloseWait, func() { w.conn.Close() })
			}
			w.mu.Unlock()
			return false
		}
		if w.ender != nil && w.ender.Ended() {
			return false // an HTTP stream reached its response limit
		}
		w.lastWrite.Store(int64(now))
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

// stop forbids new writers, ends a parked one and waits for one in flight
// (the connection is closed, so it ends at once).
func (w *wsWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	close(w.done)
	if w.closer != nil {
		w.closer.Stop()
	}
	w.mu.Unlock()
	w.wg.Wait()
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
