package transports

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/session"
)

// connWriter writes a push session's frames from one writer goroutine that
// exists only while the session is busy. When there is something to write
// (Send, TrySend, Close, a heartbeat), whoever queued it claims the write
// role; if the session's writer goroutine is parked the role is handed to
// it, otherwise one is started. The writer drains the queue, batching
// whatever was queued meanwhile into one frame, and parks. Parked writers
// are retired by the server's reaper within 100 ms, so an idle session has
// no writer goroutine, while a busy one keeps its writer (and the stack it
// grew on the write path) from message to message. A writer that ends while
// nobody holds the read role becomes the session's background reader (see
// connReader).
//
// The role is a claim, not a lock: nobody waits for it, so a stalled
// client never blocks a sender, and batching survives under load. Whoever
// claims the role while a writer goroutine exists hands it to that writer.
//
// A Send to a quiet websocket session is written by Send's own goroutine
// (sendPush), which saves the hand-off to a writer goroutine that would
// otherwise cost more than the write: it takes the role only if it is
// free, no writer goroutine exists and nothing was written for inlineGap,
// writes one frame without waiting for the socket (see pooledReadConn's
// Write), and gives whatever the socket did not take, and whatever was
// queued meanwhile, to a writer goroutine. A session that writes often
// keeps its writer, which batches.
// internal/session/model/writerole.pml models the role for the Spin model
// checker (one writer at a time, at most one writer goroutine, no frame
// left unwritten, no writer kept from retiring).
type connWriter struct {
	srv       *Server
	conn      msgConn
	pc        *pooledReadConn // where Send may write inline (plain websockets), or nil
	framed    bool
	rcv       *session.Receiver
	rd        *connReader
	metrics   session.Metrics
	name      string
	heartbeat time.Duration
	hb        *time.Timer // fires a heartbeat delay after the last write, or a little later

	writing   atomic.Bool   // the write role
	alive     bool          // a writer goroutine exists; guarded by the role
	wake      chan struct{} // hands the role to the parked writer
	done      chan struct{} // closed by stop: a parked writer ends
	beatDue   atomic.Bool   // the connection has been silent for the heartbeat delay
	lastWrite atomic.Int64  // monoNow of the last frame written
	lastPing  time.Duration // monoNow of the last ping; owned by the role

	mu      sync.Mutex // guards stopped, hb.Reset, closer and wg.Add
	stopped bool
	ended   bool           // done is closed
	wg      sync.WaitGroup // the writer goroutine, or an inline write
	closer  *time.Timer    // after our close frame: cut the connection if the client does not answer
}

// kick is the session's push: it claims the write role if free and gives
// it to the writer goroutine, starting one if there is none.
func (w *connWriter) kick() {
	if !w.writing.CompareAndSwap(false, true) {
		return // the current writer will see the new frame
	}
	if w.alive {
		w.wake <- struct{}{} // never blocks: one token per hand-over
		return
	}
	w.startWriter()
}

// startWriter starts a writer goroutine and gives it the role, which the
// caller holds; there is no writer goroutine.
func (w *connWriter) startWriter() {
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

// inlineGap is how long a session must have written nothing for Send to
// write inline. A session that writes more often is streaming: its writer
// goroutine batches what the application sends meanwhile into one frame,
// which costs less per message than a system call each.
const inlineGap = 20 * time.Microsecond

// sendPush is Send's push: kick, except that a quiet session's frame is
// written by the caller, without waiting for the socket (see connWriter).
// TrySend, Close and heartbeats kick: a broadcaster's goroutine does not
// write to the sessions it reaches.
func (w *connWriter) sendPush() {
	if w.pc == nil {
		w.kick()
		return
	}
	if !w.writing.CompareAndSwap(false, true) {
		return // the current writer will see the new frame
	}
	if w.alive {
		w.wake <- struct{}{}
		return
	}
	if monoNow()-time.Duration(w.lastWrite.Load()) < inlineGap {
		w.startWriter() // busy: batch
		return
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		w.writing.Store(false)
		return
	}
	w.wg.Add(1) // stop waits for this write as for a writer goroutine's
	w.mu.Unlock()
	w.pc.BeginNonblocking()
	ok := w.drain(1)
	carrying := w.pc.EndNonblocking()
	w.wg.Done()
	switch {
	case !ok && carrying:
		w.flushLater() // the close frame, or the end of a frame before it
	case !ok:
		w.rd.adopt(true) // closed or failed: make sure the end is read
	case carrying:
		w.startWriter() // it writes the rest first
	default:
		w.writing.Store(false)
		if w.wanted() {
			w.kick()
		}
	}
}

// flushLater puts carried bytes on the socket from a goroutine of their
// own, after the session's last frame was written inline: the role is
// kept, nothing follows.
func (w *connWriter) flushLater() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return // the connection is closed
	}
	w.wg.Add(1)
	w.mu.Unlock()
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
// request's), not one that lives with the session.
func (w *connWriter) flushInline() {
	if !w.writing.CompareAndSwap(false, true) {
		return // a writer is at work
	}
	if w.alive {
		// A writer goroutine exists (a Send came first): the role goes
		// to it, as kick hands it over. Writing here instead would leave
		// a writer that was retiring waiting for a hand-over that never
		// comes, kept until the session's next frame.
		w.wake <- struct{}{}
		return
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.wg.Add(1) // stop waits for this write as for a writer goroutine's
	w.mu.Unlock()
	ok := w.drain(-1)
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

// run is the session's writer goroutine. It starts holding the role; it
// writes, releases the role and parks until the role is handed back, the
// session ends, or the reaper retires it.
func (w *connWriter) run() {
	for {
		if !w.drain(-1) {
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
		// Retire, unless a kicker has just claimed the role for us (a
		// kicker that finds a writer alive always hands the role over).
		if !w.writing.CompareAndSwap(false, true) {
			select {
			case <-w.wake:
				continue
			case <-w.done:
				return
			}
		}
		if w.wanted() {
			continue // frames came meanwhile: write them
		}
		w.alive = false
		w.writing.Store(false)
		// No longer the writer: frames queued since the release go to the
		// role's next holder, a new writer if need be. Claiming the role
		// back here could leave two writer goroutines, one of them parked.
		if w.wanted() {
			w.kick()
		}
		return
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

// write puts one frame on the wire under the write deadline.
func (w *connWriter) write(f session.Frame, buf *[]byte) error {
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
