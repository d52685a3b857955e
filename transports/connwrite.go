package transports

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/session"
)

// connWriter writes a push session's frames. Whoever has something to
// write (Send, TrySend, Close, a heartbeat) claims the write role, if it
// is free, and either writes itself or hands the role to a writer
// goroutine, which drains the queue, batching whatever was queued
// meanwhile into one frame, and parks. A parked writer is retired by the
// server's reaper within 100 ms, so an idle session has no writer
// goroutine, while a busy one keeps its writer (and the stack it grew on
// the write path) from message to message. A writer that ends while nobody
// holds the read role becomes the session's background reader (see
// connReader).
//
// The role is a claim, not a lock: nobody waits for it, so a stalled
// client never blocks a sender, and batching survives under load. A
// writer parks by setting parked before it releases the role; a claimant
// that clears parked (which it may do only while holding the role) owes
// that writer the role and sends it through wake, which never blocks (one
// token per clear). A parked writer retires by clearing parked itself; if
// a claimant cleared it first, the role is on its way and the writer takes
// it. So the role is handed only to a writer that will take it, and a
// writer waits only for a role that is coming; an inline writer leaves
// parked alone, and a parked writer simply goes on waiting or retires.
// There is at most one writer goroutine: one is started only by a
// claimant that found none parked, and only the role's holder parks.
// Whoever ends the session's writing (a close frame, a failed write) keeps
// the role, so nothing is written after it.
//
// Who writes:
//   - Send to a quiet plain websocket session (sendPush): Send's own
//     goroutine, one frame, without waiting for the socket (see
//     pooledReadConn's Write); whatever the socket did not take, and
//     whatever was queued meanwhile, goes to a writer goroutine. This
//     spares a goroutine hand-off per message, which costs more than the
//     write. Quiet means nothing was written for inlineGap (a session
//     that writes more often is streaming) and no message of the client's
//     waits for Recv (the application is answering a burst): otherwise
//     the writer batches.
//   - The open frame: the upgrading request's goroutine (flushInline).
//   - Everything else: a writer goroutine.
//
// internal/session/model/writerole.pml models the role for the Spin model
// checker (one writer at a time, a hand-over never blocks, no frame left
// unwritten, every parked writer can retire).
type connWriter struct {
	srv       *Server
	conn      msgConn
	pc        *pooledReadConn // where Send may write inline (plain websockets), or nil
	direct    bool            // messages go to pc as frames built here (no compression to apply)
	framed    bool
	rcv       *session.Receiver
	rd        *connReader
	metrics   session.Metrics
	name      string
	heartbeat time.Duration
	hb        *time.Timer // fires a heartbeat delay after the last write, or a little later

	writing   atomic.Bool   // the write role
	parked    atomic.Bool   // a writer goroutine waits for the role
	wake      chan struct{} // one slot: hands the role to the parked writer
	done      chan struct{} // closed by stop: a parked writer ends
	beatDue   atomic.Bool   // the connection has been silent for the heartbeat delay
	lastWrite atomic.Int64  // monoNow of the last frame written
	lastPing  time.Duration // monoNow of the last ping; owned by the role
	inline    bool          // the role's holder writes without waiting (sendPush); owned by the role

	mu      sync.Mutex // guards stopped, hb.Reset, closer and wg.Add
	stopped bool
	ended   bool           // done is closed
	wg      sync.WaitGroup // writer goroutines and inline writes
	closer  *time.Timer    // after our close frame: cut the connection if the client does not answer
}

// kick is the session's push: it claims the write role if free and hands
// it to the parked writer, or starts one.
func (w *connWriter) kick() {
	if !w.writing.CompareAndSwap(false, true) {
		return // the current writer will see the new frame
	}
	w.handOver()
}

// handOver gives the role, which the caller holds, to the parked writer,
// or to a new one when none is parked.
func (w *connWriter) handOver() {
	if w.parked.CompareAndSwap(true, false) {
		w.wake <- struct{}{} // never blocks: one token per clear
		return
	}
	w.startWriter()
}

// startWriter starts a writer goroutine holding the role, which the
// caller holds.
func (w *connWriter) startWriter() {
	if !w.enter() {
		return // stopped: the role is kept, nothing more is written
	}
	go w.runThenRead()
}

// enter counts a writer (a goroutine, or an inline write) for stop to
// wait for, unless the writer is stopped.
func (w *connWriter) enter() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false
	}
	w.wg.Add(1)
	return true
}

// inlineGap is how long a session must have written nothing for Send to
// write inline. A session that writes more often is streaming: its writer
// goroutine batches what the application sends meanwhile into one frame,
// which costs less per message than a system call each. The gap is
// shorter than any round trip through a client.
const inlineGap = 5 * time.Microsecond

// sendPush is Send's push: kick, except that a quiet session's frame is
// written by the caller, without waiting for the socket (see connWriter).
// more reports that the client's messages wait for Recv: the application
// is answering a burst, and will Send again at once. TrySend, Close and
// heartbeats kick: a broadcaster's goroutine does not write to the
// sessions it reaches.
func (w *connWriter) sendPush(more bool) {
	if w.pc == nil {
		w.kick()
		return
	}
	if !w.writing.CompareAndSwap(false, true) {
		return // the current writer will see the new frame
	}
	if more || monoNow()-time.Duration(w.lastWrite.Load()) < inlineGap {
		w.handOver() // a burst, or streaming: batch
		return
	}
	if !w.enter() {
		return
	}
	w.pc.BeginNonblocking()
	w.inline = true
	ok := w.drain(1)
	w.inline = false
	carrying := w.pc.EndNonblocking()
	w.wg.Done()
	switch {
	case !ok && carrying:
		w.flushLater() // the close frame, or the end of a frame before it
	case !ok:
		w.rd.adopt(true) // closed or failed: make sure the end is read
	case carrying:
		w.handOver() // the writer writes the rest first
	default:
		w.release()
	}
}

// release gives the role up, and claims it back for a writer if frames
// were queued meanwhile: their queuer may have found the role held.
func (w *connWriter) release() {
	w.writing.Store(false)
	if w.wanted() {
		w.kick()
	}
}

// flushLater puts carried bytes on the socket from a goroutine of their
// own, after the session's last frame was written inline: the role is
// kept, nothing follows.
func (w *connWriter) flushLater() {
	if !w.enter() {
		return // the connection is closed
	}
	go func() {
		defer w.wg.Done()
		if w.pc.Flush(w.srv.cfg.WriteTimeout) != nil {
			w.conn.Close()
		}
		w.rd.adopt(true)
	}()
}

// flushInline takes the write role, if it is free, and writes what is
// pending from the calling goroutine, which must be one that ends soon (a
// request's, whose stack is not kept), not one that lives with the
// session. The write may wait for the socket, up to WriteTimeout.
func (w *connWriter) flushInline() {
	if !w.writing.CompareAndSwap(false, true) {
		return // a writer is at work
	}
	if !w.enter() {
		return
	}
	ok := w.drain(-1)
	w.wg.Done()
	if !ok {
		w.rd.adopt(true) // closed or failed: make sure the end is read
		return
	}
	w.release()
}

// runThenRead is a writer goroutine. Once it has stopped writing it becomes
// the session's background reader if nobody reads the connection.
func (w *connWriter) runThenRead() {
	w.run()
	w.wg.Done()
	w.rd.adopt(false)
}

// beat runs when the heartbeat timer fires. The timer is not reset on every
// write (that costs a timer update per frame); instead it re-arms itself
// for the rest of the delay when something was written meanwhile. Each beat
// also makes sure that somebody reads the connection.
func (w *connWriter) beat() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	due := true
	if idle := monoNow() - time.Duration(w.lastWrite.Load()); idle < w.heartbeat {
		w.hb.Reset(w.heartbeat - idle)
		due = false
	} else {
		w.hb.Reset(w.heartbeat)
	}
	w.mu.Unlock()
	w.rd.adopt(true) // nobody reads: start a background reader
	if due {
		w.beatDue.Store(true)
		w.kick()
	}
}

// wanted reports whether there is something to write.
func (w *connWriter) wanted() bool { return w.rcv.Pending() || w.beatDue.Load() }

// run is a writer goroutine. It starts holding the role; it writes,
// parks, releases the role and waits until the role is handed back, the
// session ends, or the reaper retires it.
func (w *connWriter) run() {
	for {
		if !w.drain(-1) {
			return // closed or failed: the role is kept, nothing more is written
		}
		w.parked.Store(true)
		w.writing.Store(false)
		if w.wanted() && w.writing.CompareAndSwap(false, true) {
			// Only the role's holder clears parked: it is still set.
			w.parked.Store(false)
			continue
		}
		select {
		case <-w.wake:
			continue
		case <-w.done:
			return
		case <-w.srv.reaper.wait():
		}
		if w.parked.CompareAndSwap(true, false) {
			return // retired: no claimant owes it the role
		}
		select { // a claimant cleared parked: the role is on its way
		case <-w.wake:
		case <-w.done:
			return
		}
	}
}

// drain writes until there is nothing left, or max frames (max < 0: no
// limit), after any bytes an inline write left. It reports false when the
// session's writing is over (a close frame was written, or a write failed).
func (w *connWriter) drain(max int) bool {
	if w.pc != nil && w.pc.Flush(w.srv.cfg.WriteTimeout) != nil {
		w.fail()
		return false
	}
	buf := getBuf()
	defer putBuf(buf)
	for ; max != 0; max-- {
		f, ok := w.rcv.Poll()
		if !ok {
			if !w.beatDue.Swap(false) {
				return true
			}
			f = session.Frame{Kind: session.HeartbeatFrame}
		}
		err := w.write(f, buf)
		now := monoNow()
		if err == nil && f.Kind != session.CloseFrame {
			// Ping at least once per heartbeat delay even while frames
			// flow: heartbeats fall due only on silence, and a client that
			// only listens has nothing else to answer, so its read
			// deadline would pass.
			switch {
			case f.Kind == session.HeartbeatFrame:
				w.lastPing = now // write pinged
			case now-w.lastPing >= w.heartbeat:
				err = w.conn.Ping()
				w.lastPing = now
			}
		}
		if err != nil {
			w.fail()
			return false
		}
		if f.Kind == session.CloseFrame {
			// Nothing follows a close. Give the client a moment to answer
			// with its own close, so that it sees a clean close rather
			// than a reset, then cut.
			w.mu.Lock()
			if !w.ended {
				w.closer = time.AfterFunc(w.srv.cfg.CloseWait, func() { w.conn.Close() })
			}
			w.mu.Unlock()
			return false
		}
		if w.conn.Ended() {
			return false // an HTTP stream reached its response limit
		}
		w.lastWrite.Store(int64(now))
	}
	return true
}

// fail ends the session after a failed write.
func (w *connWriter) fail() {
	w.conn.Close()
	// Closing the session also frees a background reader waiting in
	// Deliver for the application to make room.
	w.rd.sess.Close(session.Interrupted.Code, session.Interrupted.Reason)
}

// write puts one frame on the wire under the write deadline (an inline
// write does not wait: it needs none).
func (w *connWriter) write(f session.Frame, buf *[]byte) error {
	if !w.inline {
		t := time.Now().Add(w.srv.cfg.WriteTimeout)
		w.conn.SetWriteDeadline(t)
		if w.pc != nil {
			w.pc.SetWriteDeadline(t) // for the frames written directly
		}
	}
	if w.direct && f.Kind == session.MessagesFrame {
		return w.writeDirect(f, buf)
	}
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
			if f.Kind == session.HeartbeatFrame {
				err = w.conn.Ping()
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
	case f.Kind == session.HeartbeatFrame:
		err = w.conn.Ping()
	}
	return err
}

// writeDirect writes a frame of messages on a plain websocket with one
// Write to its connection, as websocket frames it builds itself: one
// frame, or one per message on a raw websocket. gorilla would copy each
// payload into its own buffer and write each frame with a Write of its
// own (see wsframe.go for why frames cannot interleave).
func (w *connWriter) writeDirect(f session.Frame, buf *[]byte) error {
	if w.framed {
		*buf = appendFrame((*buf)[:wsHeadroom], f)
		start := putTextHeader(*buf, wsHeadroom)
		if _, err := w.pc.Write((*buf)[start:]); err != nil {
			return err
		}
		w.metrics.FramesSent(w.name, 1, len(*buf)-wsHeadroom)
		return nil
	}
	b := (*buf)[:0]
	n := 0
	for _, m := range f.Messages {
		b = appendTextFrame(b, m.Text)
		n += len(m.Text)
	}
	*buf = b
	if _, err := w.pc.Write(b); err != nil {
		return err
	}
	w.metrics.FramesSent(w.name, len(f.Messages), n)
	return nil
}

// quiet forbids new writers and beats; a writer at work finishes.
func (w *connWriter) quiet() {
	w.mu.Lock()
	w.stopped = true
	w.hb.Stop()
	w.mu.Unlock()
}

// stop forbids new writers and beats, ends a parked writer and waits for
// one in flight (the connection is closed, so it ends at once).
func (w *connWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.hb.Stop()
	if !w.ended {
		w.ended = true
		close(w.done)
	}
	if w.closer != nil {
		w.closer.Stop()
	}
	w.mu.Unlock()
	w.wg.Wait()
}
