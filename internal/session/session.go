// Package session is the SockJS session core shared by every transport: the
// state of one session, its two bounded queues, its timers and the table of
// sessions. It does no I/O. Request goroutines block in it (on channels, so
// testing/synctest can drive the timers); it never blocks while holding a
// lock.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// Close codes and reasons the core itself uses.
var (
	// Interrupted is how a session ends when its receiving request went away
	// before finishing, or when no receiver came back within the disconnect
	// delay.
	Interrupted = CloseError{Code: 1002, Reason: "Connection interrupted"}
	// Busy is the frame sent to a second concurrent receiver.
	Busy = CloseError{Code: 2010, Reason: "Another connection still open"}
	// Normal is how a session ends when the application's handler returns
	// without closing it.
	Normal = CloseError{Code: 1000, Reason: "Normal closure"}
	// InternalError is how a session ends when the application's handler
	// panics (1011, as a websocket server reports an unexpected condition).
	InternalError = CloseError{Code: 1011, Reason: "Internal server error"}
)

// MessageOverhead is what every queued message is charged beyond its text,
// in both queues: its slot in the queue and the bookkeeping of its string,
// so that a flood of empty or one-byte messages is bounded like any other.
const MessageOverhead = 64

// cost is what a message of n bytes counts towards MaxQueuedBytes.
func cost(n int) int { return n + MessageOverhead }

// Kind tells what a Frame carries.
type Kind uint8

// Frame kinds, in the order a receiver can meet them.
const (
	OpenFrame Kind = iota + 1
	MessagesFrame
	HeartbeatFrame
	CloseFrame
)

// Frame is one unit a receiver writes: the open frame, a batch of messages,
// a heartbeat, or the close frame.
type Frame struct {
	Kind     Kind
	Messages []Message   // MessagesFrame: every message queued, in order
	Close    *CloseError // CloseFrame
}

// Message is one queued outbound message: its text and, when it was
// prepared for many sessions, its JSON string encoding (so that a broadcast
// encodes once).
type Message struct {
	Text string
	JSON []byte // nil: encode Text when writing
}

// Session is one SockJS session. All methods are safe for concurrent use.
type Session struct {
	id        string
	req       *http.Request
	table     *Table
	detached  bool   // a websocket session: not in the table, lives as long as its connection
	transport string // the transport that opened it, for metrics and logs
	client    string // client key, for Config.MaxPerClient
	bind      string // binding value, for Config.Bind

	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	out         []Message // messages waiting for a receiver
	outBytes    int
	outWake     chan struct{} // one slot: wakes a pulling receiver; made when one first waits
	outSpace    broadcast     // wakes Send callers waiting for queue space
	in          []string      // messages waiting for Recv
	inOne       [1]string     // in's array while it holds at most one
	inBytes     int
	inWake      broadcast // wakes Recv callers
	inSpace     broadcast // wakes Deliver callers waiting for queue space
	detachEv    broadcast // wakes Attach callers waiting for the receiver slot
	sendTurn    broadcast // wakes senders waiting for their turn (see EnterSend)
	sending     bool      // a sender holds the turn
	sendQueue   uint8     // senders waiting for the turn
	openSent    bool
	accepting   bool // Config.Accept is running: no open frame yet, Recv does not wait
	closed      *CloseError
	receiver    *Receiver
	push        func()      // the attached push receiver's kick, if any
	sendPush    func(bool)  // the same receiver's kick for Send: true while messages wait for Recv
	puller      Puller      // the attached push receiver's reader, if Recv may read
	read        ReadState   // who reads the connection, when there is a puller
	recvWaiters int         // Recv callers waiting on inWake
	timer       *time.Timer // disconnect delay; nil for detached sessions
	// heartbeat is the heartbeat timer of pulling receivers (Next), made
	// by the first and reused by the next ones (one per poll otherwise).
	// Only the attached receiver's owner touches it: attachments are
	// exclusive, and Release (under mu) precedes the next Attach.
	heartbeat *time.Timer
	finalized bool

	ext any // Config.Wrap's value
}

// broadcast wakes every goroutine waiting on it; it allocates only when
// somebody waits. Guarded by the session's mutex.
type broadcast struct{ ch chan struct{} }

func (b *broadcast) wait() <-chan struct{} {
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) notify() {
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

func newSession(t *Table, id string, r *http.Request, detached bool) *Session {
	s := &Session{id: id, table: t, detached: detached}
	s.in = s.inOne[:0]
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// A shallow copy: net/http does not touch a request once its handler
	// has returned, so the headers and URL can be shared rather than
	// cloned, which is half a kilobyte per session (a kilobyte of heap
	// once the garbage collector's headroom is counted).
	s.req = r.WithContext(s.ctx)
	s.req.Body = http.NoBody
	s.req.GetBody = nil
	return s
}

// Transport returns the name of the transport that opened the session.
func (s *Session) Transport() string { return s.transport }

// Ext returns the value Config.Wrap made for the session (nil without
// Wrap).
func (s *Session) Ext() any { return s.ext }

// ErrNotOpen is returned by Recv while Config.Accept runs and nothing is
// queued: no message is read before the session is open, so waiting there
// would block the opening request for good.
var ErrNotOpen = errors.New("sockjs: Recv before the session is open (in Accept)")

// accept runs fn, the table's Config.Accept, for a new session. Until it
// returns, receivers get no open frame. It reports whether the session
// opened: false when fn refused it, or when the session was closed while
// fn ran (by fn itself, or by Shutdown). A refused session's receivers get
// its close frame in place of the open frame, and what fn queued is
// dropped. A panic in fn is recovered, logged (Config.PanicLogger) and
// refuses the session with InternalError: the session must still end
// normally, whatever goroutine runs this (a hijacked websocket's, which
// net/http would not clean up).
func (s *Session) accept(fn func(*Session) *CloseError) (opened bool) {
	ce := s.callAccept(fn)
	if ce != nil {
		s.closeWith(ce)
	}
	s.mu.Lock()
	s.accepting = false
	opened = s.closed == nil
	if !opened {
		s.openSent = true // the close frame comes first
		s.out, s.outBytes = nil, 0
		s.outSpace.notify()
	}
	push, ow := s.push, s.outWake
	s.mu.Unlock()
	s.wake(push, ow)
	return opened
}

// callAccept calls fn, turning a panic into an InternalError refusal,
// logged as a panic in the session function is.
func (s *Session) callAccept(fn func(*Session) *CloseError) (ce *CloseError) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				s.table.cfg.PanicLogger.Error("sockjs: panic in Options.Accept", "transport", s.transport,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			ce = &InternalError
		}
	}()
	return fn(s)
}

// ID returns the session id chosen by the client.
func (s *Session) ID() string { return s.id }

// Request returns a copy of the request that opened the session. Its body is
// empty and its context is the session's.
func (s *Session) Request() *http.Request { return s.req }

// Context returns a context that is done when the session closes.
func (s *Session) Context() context.Context { return s.ctx }

// Send queues msg for the client. It blocks while the outbound queue holds
// MaxQueuedBytes or more, until space frees, the session closes (the close
// error is returned) or ctx ends (ctx.Err() is returned). A message larger
// than the whole bound is accepted when the queue is empty. While
// Config.Accept runs, nothing drains the queue, so Send does not wait: it
// returns ErrQueueFull.
func (s *Session) Send(ctx context.Context, msg string) error {
	for {
		s.mu.Lock()
		if s.closed != nil {
			err := s.closed
			s.mu.Unlock()
			return err
		}
		if s.outBytes == 0 || s.outBytes+cost(len(msg)) <= s.table.cfg.MaxQueuedBytes {
			s.out = append(s.out, Message{Text: msg})
			s.outBytes += cost(len(msg))
			if sp := s.sendPush; sp != nil {
				more := len(s.in) > 0
				s.mu.Unlock()
				sp(more)
				return nil
			}
			push, ow := s.push, s.outWake
			s.mu.Unlock()
			s.wake(push, ow)
			return nil
		}
		if s.accepting {
			// Nothing drains the queue before Accept returns: waiting
			// would block it for good (a websocket has no disconnect
			// timer to end the wait).
			s.mu.Unlock()
			return ErrQueueFull
		}
		space := s.outSpace.wait()
		s.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ErrQueueFull is returned by TrySend when the outbound queue has no room.
var ErrQueueFull = errors.New("sockjs: send queue full")

// TrySend queues msg if the outbound queue has room and returns at once:
// ErrQueueFull (counted as a drop) when it has none, the close error when
// the session has closed.
func (s *Session) TrySend(msg string) error {
	return s.TrySendMessage(Message{Text: msg})
}

// TrySendMessage is TrySend for a prepared message.
func (s *Session) TrySendMessage(m Message) error {
	msg := m.Text
	s.mu.Lock()
	if s.closed != nil {
		err := s.closed
		s.mu.Unlock()
		return err
	}
	if s.outBytes != 0 && s.outBytes+cost(len(msg)) > s.table.cfg.MaxQueuedBytes {
		s.mu.Unlock()
		s.table.cfg.Metrics.SendDropped(s.transport)
		return ErrQueueFull
	}
	s.out = append(s.out, m)
	s.outBytes += cost(len(msg))
	push, ow := s.push, s.outWake
	s.mu.Unlock()
	s.wake(push, ow)
	return nil
}

// wake tells the receiver that there is something to write: a push
// receiver through its kick, a pulling one through outWake (ow, read under
// the lock; nil while no pulling receiver has attached).
func (s *Session) wake(push func(), ow chan struct{}) {
	if push != nil {
		push()
		return
	}
	select {
	case ow <- struct{}{}:
	default:
	}
}

// Recv returns the next message from the client. Messages that arrived before
// the session closed are still returned; after them Recv returns the close
// error (a *CloseError, which matches ErrClosed). If ctx ends first it returns
// ctx.Err().
//
// When the receiver has installed a Puller and nothing is queued, Recv takes
// the read role and reads the connection itself (see ReadState).
func (s *Session) Recv(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		if len(s.in) > 0 {
			m := s.in[0]
			s.in[0] = ""
			s.in = s.in[1:]
			if len(s.in) == 0 {
				s.in = s.inOne[:0] // a message at a time needs no array
			}
			s.inBytes -= cost(len(m))
			s.inSpace.notify()
			s.mu.Unlock()
			return m, nil
		}
		if s.closed != nil {
			err := s.closed
			s.mu.Unlock()
			return "", err
		}
		if p := s.puller; p != nil && (s.read == ReadFree || s.read == ReadParked) {
			// The session's own context ends only once s.closed is set,
			// checked above: asking it costs a lock per message for nothing.
			if ctx != s.ctx {
				if err := ctx.Err(); err != nil {
					s.mu.Unlock()
					return "", err
				}
			}
			if s.read == ReadFree {
				s.setRead(ReadPulling)
				s.mu.Unlock()
				s.pull(ctx, p)
			} else {
				s.setRead(ReadHandover)
				s.mu.Unlock()
				s.takeOver(p)
			}
			continue
		}
		if s.accepting {
			s.mu.Unlock()
			return "", ErrNotOpen
		}
		s.recvWaiters++
		wake := s.inWake.wait()
		s.mu.Unlock()
		pause(PauseRecvWait)
		if err := s.waitFor(ctx, wake); err != nil {
			s.mu.Lock()
			if s.inWake.ch == wake { // not woken: no longer waiting
				s.recvWaiters--
			}
			s.mu.Unlock()
			return "", err
		}
	}
}

// wakeRecv wakes every Recv caller waiting. The session's lock is held.
func (s *Session) wakeRecv() {
	s.recvWaiters = 0
	s.inWake.notify()
}

// waitFor waits for wake or the end of ctx. It is out of line so that Recv's
// own frame stays small on the path that reads (see Table.run).
//
//go:noinline
func (s *Session) waitFor(ctx context.Context, wake <-chan struct{}) error {
	if ctx == s.ctx {
		// The session's context ends when it closes, which wakes Recv
		// anyway; not asking for its Done channel spares allocating one.
		<-wake
		return nil
	}
	select {
	case <-wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Deliver hands messages from the client to the application. It blocks while
// the inbound queue holds MaxQueuedBytes or more, which pushes back on the
// sender (an xhr_send request waits; a websocket stops being read). It
// returns ErrClosed wrapped in the close error if the session has closed,
// and ctx.Err() if ctx ends first.
func (s *Session) Deliver(ctx context.Context, msgs []string) error {
	for i := 0; i < len(msgs); {
		s.mu.Lock()
		if s.closed != nil {
			err := s.closed
			s.mu.Unlock()
			return err
		}
		if s.inBytes > 0 && s.inBytes+cost(len(msgs[i])) > s.table.cfg.MaxQueuedBytes {
			space := s.inSpace.wait()
			s.mu.Unlock()
			select {
			case <-space:
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		for ; i < len(msgs); i++ {
			if s.inBytes > 0 && s.inBytes+cost(len(msgs[i])) > s.table.cfg.MaxQueuedBytes {
				break
			}
			s.in = append(s.in, msgs[i])
			s.inBytes += cost(len(msgs[i]))
		}
		s.wakeRecv()
		s.mu.Unlock()
	}
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	s.table.cfg.Metrics.MessagesReceived(s.transport, len(msgs), n)
	return nil
}

// Close closes the session with a SockJS close frame c[code,"reason"]. The
// attached receiver, if any, writes the frame and ends; later receivers get
// the same frame until the disconnect delay passes. Close is idempotent: only
// the first call has an effect. It never blocks.
func (s *Session) Close(code int, reason string) error {
	s.closeWith(&CloseError{Code: code, Reason: reason})
	return nil
}

// closeWith records the close and wakes every waiter. It reports whether this
// call closed the session.
func (s *Session) closeWith(ce *CloseError) bool {
	s.mu.Lock()
	if s.closed != nil {
		s.mu.Unlock()
		return false
	}
	s.closed = ce
	s.outSpace.notify()
	s.wakeRecv()
	s.inSpace.notify()
	s.sendTurn.notify()
	push, ow := s.push, s.outWake
	s.mu.Unlock()
	s.cancel()
	s.wake(push, ow)
	t := s.table
	t.cfg.Metrics.SessionClosed(s.transport, ce.Code)
	if t.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		t.cfg.Logger.Debug("sockjs: session closed", "session", s.id, "transport", s.transport, "code", ce.Code, "reason", ce.Reason)
	}
	return true
}

// Err returns the close error once the session has closed, nil before.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == nil {
		return nil
	}
	return s.closed
}

// Attach makes the caller the session's one receiver. ctx is the receiving
// request's context. If another receiver is attached, Attach waits a short,
// bounded time for it to be released (a client's next request can arrive
// before the server has noticed that the previous one was aborted), then
// returns ErrBusy.
func (s *Session) Attach(ctx context.Context) (*Receiver, error) {
	s.mu.Lock()
	if s.receiver != nil {
		deadline := time.NewTimer(s.table.cfg.AttachWait)
		defer deadline.Stop()
		for s.receiver != nil {
			ev := s.detachEv.wait()
			s.mu.Unlock()
			select {
			case <-ev:
			case <-deadline.C:
				return nil, ErrBusy
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			s.mu.Lock()
		}
	}
	r := &Receiver{s: s}
	s.receiver = r
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.table.enter()
	return r, nil
}

// Receiver is the attached receiver of a session. A pulling receiver (an
// HTTP request) is used only by its request goroutine: Next, then Release.
// A push receiver (a websocket, see AttachPush) is used by whichever
// goroutine holds its transport's writer role (Poll, Pending) and by its
// reader goroutine (Release); the transport makes those exclusive.
type Receiver struct {
	s        *Session
	released bool
	one      [1]Message // the batch Poll returns when one message is queued
}

// Next returns the next frame to write: the open frame first, then every
// queued message as one batch, then the close frame once the session has
// closed. When nothing happens for the heartbeat delay it returns a heartbeat
// frame. It returns ctx.Err() when ctx ends first.
func (r *Receiver) Next(ctx context.Context) (Frame, error) {
	s := r.s
	for {
		f, ok, wake := r.pollOrWait()
		if ok {
			return f, nil
		}
		if s.heartbeat == nil {
			s.heartbeat = time.NewTimer(s.table.cfg.HeartbeatDelay)
		} else {
			s.heartbeat.Reset(s.table.cfg.HeartbeatDelay)
		}
		select {
		case <-wake:
			s.heartbeat.Stop()
		case <-s.heartbeat.C:
			return Frame{Kind: HeartbeatFrame}, nil
		case <-ctx.Done():
			s.heartbeat.Stop()
			return Frame{}, ctx.Err()
		}
	}
}

// pollOrWait is Poll, and when there is nothing to write it returns, from
// the same critical section, the channel that the next Send, TrySend or
// Close wakes. The channel is made on first use: sessions whose receivers
// push (websockets, taken-over streams) never need one.
func (r *Receiver) pollOrWait() (Frame, bool, <-chan struct{}) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := r.pollLocked(); ok {
		return f, true, nil
	}
	if s.outWake == nil {
		s.outWake = make(chan struct{}, 1)
	}
	return Frame{}, false, s.outWake
}

// Poll returns the next frame without waiting: the open frame first, then
// every queued message as one batch, then the close frame (again on every
// call) once the session has closed. ok is false when there is nothing to
// write. The frame's messages may live in the receiver: they are valid
// until its next Poll or Next, which its owner calls only once it has
// written the frame (for a push receiver: the write role's holder).
func (r *Receiver) Poll() (f Frame, ok bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.pollLocked()
}

// pollLocked is Poll with the session's lock held.
func (r *Receiver) pollLocked() (f Frame, ok bool) {
	s := r.s
	switch {
	case s.accepting:
		return Frame{}, false // Config.Accept decides what comes first
	case !s.openSent:
		s.openSent = true
		return Frame{Kind: OpenFrame}, true
	case len(s.out) > 0:
		// A batch of one is copied, so that the queue keeps its array
		// and the next Send does not allocate one: the message-at-a-time
		// case. The copy lives in the receiver until its next Poll.
		msgs := s.out
		s.out = nil
		if len(msgs) == 1 {
			r.one[0] = msgs[0]
			msgs[0] = Message{}
			s.out = msgs[:0]
			msgs = r.one[:]
		}
		s.outBytes = 0
		s.outSpace.notify()
		return Frame{Kind: MessagesFrame, Messages: msgs}, true
	case s.closed != nil:
		return Frame{Kind: CloseFrame, Close: s.closed}, true
	}
	return Frame{}, false
}

// Pending reports whether Poll would return a frame.
func (r *Receiver) Pending() bool {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.accepting && (!s.openSent || len(s.out) > 0 || s.closed != nil)
}

// AttachPush makes the caller the receiver of a detached (websocket)
// session without a goroutine waiting in Next. Once the caller has set
// itself up, it calls SetPush.
func (s *Session) AttachPush() (*Receiver, error) {
	s.mu.Lock()
	if s.receiver != nil || !s.detached {
		s.mu.Unlock()
		return nil, ErrBusy
	}
	r := &Receiver{s: s}
	s.receiver = r
	s.mu.Unlock()
	s.table.enter()
	return r, nil
}

// SetPush installs a push receiver's kicks: from now on, whenever there
// is something to write, the session calls sendPush after a Send, push
// after anything else (TrySend, Close, Accept's end). Both are called
// without the session's lock held and must not wait on the connection:
// the caller may be broadcasting to many sessions. sendPush may write
// without waiting (Send's caller expects to be held up at most by a full
// queue); push should leave the writing to another goroutine (TrySend's
// caller is often a broadcaster, whose time is every session's).
// sendPush's argument reports whether messages from the client were
// waiting for Recv when the message was queued: an application answering
// them will Send again soon.
func (r *Receiver) SetPush(push func(), sendPush func(more bool)) {
	r.s.mu.Lock()
	if r.s.receiver == r {
		r.s.push, r.s.sendPush = push, sendPush
	}
	r.s.mu.Unlock()
}

// Release detaches the receiver. The owner must call it exactly once, before
// its response completes, so that the client's next request finds the slot
// free. cause is nil when the receiver finished normally (a poll answered, a
// response limit reached, the close frame written); otherwise it says how
// the connection was lost, and the session closes with it unless it has
// already closed.
func (r *Receiver) Release(cause *CloseError) {
	if r.released {
		return
	}
	r.released = true
	s := r.s
	if s.heartbeat != nil {
		s.heartbeat.Stop()
	}
	s.mu.Lock()
	if s.receiver == r {
		s.receiver = nil
		s.push, s.sendPush = nil, nil
		s.puller = nil
		s.detachEv.notify()
	}
	if !s.detached && s.timer != nil {
		s.timer.Reset(s.table.cfg.DisconnectDelay)
	}
	s.mu.Unlock()
	if cause != nil {
		s.closeWith(cause)
	}
	if s.detached {
		s.closeWith(&Interrupted)
		s.table.finalize(s)
	}
	s.table.leave()
}

// expire runs when the disconnect delay passes with no receiver attached.
func (s *Session) expire() {
	s.mu.Lock()
	if s.receiver != nil {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.closeWith(&Interrupted)
	s.table.finalize(s)
}
