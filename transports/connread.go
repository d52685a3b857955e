package transports

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/go-sockjs/sockjs/internal/frame"
	"github.com/go-sockjs/sockjs/internal/session"
)

// connReader reads a push session's connection for whoever holds the
// session's read role (session.ReadState says who, and lists the
// transitions): the application's goroutine in Recv, through Pull, or a
// background reader. A background reader is started whenever nobody holds
// the role: by a writer goroutine that has finished writing, and by the
// heartbeat timer, which first fires shortly after the session opens; so a
// session whose application does not call Recv is still read (its client's
// close noticed) from the start. A Recv caller that finds the background
// reader parked (waiting for data) takes the role over: it interrupts the
// wait with a past read deadline, which the reader, before it lets go, puts
// back as it was. Gorilla never sees that deadline: the parked reader waits
// on the connection's Waiter, outside gorilla's read path.
//
// Without a Waiter (TLS, hixie-76, HTTP streams) there is no read role: a
// background reader reads for the session's whole life.
type connReader struct {
	srv    *Server
	conn   msgConn
	pc     *pooledReadConn // the connection's Waiter; nil: only a background reader reads
	sess   *session.Session
	w      *connWriter
	framed bool
	live   bool // the client answers pings: a read deadline tells a dead peer

	// An interruptible wait for data (see arm); guarded by intr, which is
	// never held across a wait.
	intr        sync.Mutex
	armed       armKind
	interrupted bool // the read deadline was set in the past to cut the wait short

	// Owned by the read role.
	one      [1]string     // a raw websocket's message, as the session takes it
	extended time.Duration // monoNow when the read deadline was last moved
	deadline time.Time     // the read deadline; zero: none
}

// armKind says who may interrupt a wait for data.
type armKind uint8

const (
	armNone armKind = iota
	armPark         // the parked background reader: a Recv caller taking over
	armPull         // a Recv caller with a context of its own: that context's end
)

// Pull implements session.Puller: it waits for data and reads one message
// for a Recv caller.
func (r *connReader) Pull(ctx context.Context) []string {
	// The session's own context ends with the connection, so a read
	// blocked on it ends too. Any other context that can end interrupts
	// the wait for data (never a read under way in gorilla, which a
	// deadline would break). Done is not asked of the session's own
	// context: that would make its channel.
	if ctx != r.sess.Context() && ctx.Done() != nil {
		if !r.waitFor(ctx) {
			return nil
		}
	} else {
		r.pc.wait() // idle here, in as shallow a stack as Recv allows
	}
	msgs, err := r.read()
	if err != nil {
		r.end(err)
		return nil
	}
	return msgs
}

// waitFor waits for data like pc.wait, or until ctx ends; it reports
// whether the wait ended by itself. Out of line: only Recv callers with a
// context of their own pay for its frame.
//
//go:noinline
func (r *connReader) waitFor(ctx context.Context) bool {
	r.arm(armPull)
	stop := context.AfterFunc(ctx, r.interruptPull)
	r.pc.wait()
	stop()
	return !r.disarm()
}

// Interrupt implements session.Puller: a Recv caller takes the role over
// from the parked background reader.
func (r *connReader) Interrupt() { r.interrupt(armPark) }

// interruptPull cuts short a Recv caller's wait when its context ends.
func (r *connReader) interruptPull() { r.interrupt(armPull) }

// arm makes the coming wait for data interruptible by kind. The waiter
// calls disarm once the wait is over.
func (r *connReader) arm(kind armKind) {
	r.intr.Lock()
	r.armed = kind
	r.intr.Unlock()
}

// interrupt cuts short a wait armed for kind by setting the read deadline
// in the past. It does nothing when no such wait is armed: an interrupt
// never outlives the wait it was meant for.
func (r *connReader) interrupt(kind armKind) {
	session.Pause(session.PauseInterrupt)
	r.intr.Lock()
	if r.armed == kind && !r.interrupted {
		r.interrupted = true
		r.conn.SetReadDeadline(time.Unix(1, 0))
	}
	r.intr.Unlock()
}

// disarm ends an interruptible wait and reports whether it was
// interrupted; if so it puts the read deadline back as it was, and forgets
// the timeout the interrupt caused, unless the real deadline has passed
// too (a dead peer is then noticed as it would have been).
func (r *connReader) disarm() bool {
	r.intr.Lock()
	hit := r.interrupted
	r.armed, r.interrupted = armNone, false
	r.intr.Unlock()
	if hit {
		session.Pause(session.PauseRestore)
		if r.deadline.IsZero() || time.Now().Before(r.deadline) {
			r.pc.forgetTimeout()
		}
		r.conn.SetReadDeadline(r.deadline)
	}
	return hit
}

// adopt makes the caller's goroutine, or a new one when spawn is set, the
// background reader if nobody holds the read role.
func (r *connReader) adopt(spawn bool) {
	if r.pc == nil || !r.sess.Adopt() {
		return
	}
	if spawn {
		go r.background()
	} else {
		r.background()
	}
}

// background is the background reader: it reads until the connection ends
// or a Recv caller takes the read role.
func (r *connReader) background() {
	for {
		if r.pc != nil && !r.park() {
			return
		}
		msgs, err := r.read()
		if err != nil {
			r.end(err)
			return
		}
		// Deliver waits for room in the inbound queue; it ends when the
		// session closes, which a failed write does.
		if len(msgs) > 0 {
			r.sess.Deliver(context.Background(), msgs)
		}
	}
}

// park waits for data as the parked background reader. It reports false
// when the reader must let go of the role: a Recv caller waits for it, or
// is taking it over.
func (r *connReader) park() bool {
	for {
		r.arm(armPark) // before Park: once parked, a takeover may interrupt
		session.Pause(session.PausePark)
		if !r.sess.Park() {
			r.disarm() // before the role goes to the Recv caller
			session.Pause(session.PauseLetGo)
			r.sess.LetGo()
			return false
		}
		session.Pause(session.PauseWait)
		r.pc.wait() // idle here, in a shallow stack
		r.disarm()
		session.Pause(session.PauseUnpark)
		if !r.sess.Unpark() {
			return false
		}
		if r.pc.ready() {
			return true
		}
		// Woken by an interrupt meant for an earlier wait: wait again.
	}
}

// read reads one message and decodes it.
func (r *connReader) read() ([]string, error) {
	p, buf, err := r.conn.ReadMessage()
	var msgs []string
	if err == nil {
		msgs, err = r.decode(p)
	}
	if buf != nil {
		putBuf(buf)
	}
	if err != nil {
		return nil, err
	}
	r.extend(false)
	return msgs, nil
}

// decode turns one message into what the session queues; p is not kept.
func (r *connReader) decode(p []byte) ([]string, error) {
	if !r.framed {
		r.one[0] = string(p)
		return r.one[:], nil
	}
	if len(p) == 0 {
		return nil, nil // empty messages are ignored
	}
	// One message (the usual case) lands in r.one: the caller is done
	// with what Pull returned before the next Pull.
	msgs, err := frame.AppendMessagesMax(r.one[:0], p, r.srv.maxMessages())
	if errors.Is(err, frame.ErrTooManyMessages) {
		return nil, errTooManyMessages
	}
	if err != nil {
		return nil, errBrokenFraming
	}
	return msgs, nil
}

// alive is the connection's keep-alive callback: the client sent a control
// frame. It runs on the reading goroutine.
func (r *connReader) alive() { r.extend(false) }

// extend moves the read deadline, which a dead peer's silence runs into. It
// is moved at most every eighth of its span (every move costs a timer
// update), to an eighth beyond it: never nearer than LivenessTimeout after
// a message, and at most an eighth further. now moves it at once.
func (r *connReader) extend(now bool) {
	live := r.srv.cfg.LivenessTimeout
	if !r.live || live <= 0 {
		return
	}
	slack := live / 8
	if t := monoNow(); now || t-r.extended >= slack {
		r.deadline = time.Now().Add(live + slack)
		r.conn.SetReadDeadline(r.deadline)
		r.extended = t
	}
}

// end tears the session down once reading has failed: it runs once, on the
// goroutine that holds the read role.
func (r *connReader) end(readErr error) {
	r.sess.EndRead()
	if l := r.srv.cfg.Logger; l != nil && l.Enabled(context.Background(), slog.LevelDebug) {
		l.Debug("sockjs: connection ended", "session", r.sess.ID(), "transport", r.sess.Transport(), "err", readErr)
	}
	w, conn := r.w, r.conn
	w.quiet()
	if ce := closeCause(readErr); ce == &brokenFraming || ce == &tooMany {
		conn.SetWriteDeadline(time.Now().Add(r.srv.cfg.WriteTimeout))
		if conn.WriteClose(ce.Code, ce.Reason) == nil {
			// Wait briefly for the client's close, so that it sees a clean
			// close rather than a reset.
			conn.SetReadDeadline(time.Now().Add(r.srv.cfg.CloseWait))
			for {
				_, buf, err := conn.ReadMessage()
				if buf != nil {
					putBuf(buf)
				}
				if err != nil {
					break
				}
			}
		}
	}
	conn.Close()
	w.stop()
	cause := closeCause(readErr)
	if conn.Ended() {
		cause = nil // a taken-over HTTP stream completed; the client reads on
	}
	w.rcv.Release(cause)
}
