package session

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// The read role of a pulled session.
//
// A session whose transport installs a Puller (a websocket with a file
// descriptor to wait on) has no reader goroutine of its own: whoever holds
// the session's read role reads its connection. That is the application's
// goroutine while it waits in Recv (it pulls), or else a background reader
// that the transport starts when nobody holds the role, and that a Recv
// caller takes over when it finds it waiting for data. The role's state is
// kept here, under the session's lock, beside the inbound queue, so that
// taking the role and finding the queue empty are one step.
//
// Invariant: nobody waits on the connection while the inbound queue holds a
// message for a Recv caller. It holds because
//   - Recv takes the role (Free→Pulling, Parked→Handover) only in the
//     critical section that found the queue empty;
//   - only the holder of the role adds to a pulled session's queue (its
//     transport has no other source of messages), so the queue stays empty
//     while a Recv caller pulls, until the caller's own read is appended;
//   - a background reader parks (waits for data, Background→Parked) only
//     when no Recv caller waits; if one does, it gets the role instead
//     (Background→Free, which wakes it);
//   - a reader gives the role up (Background→Free, Handover→Free) only after
//     it has disarmed its interruptible wait and put the read deadline back,
//     so that no interrupt meant for it reaches the next holder;
//   - whenever the role falls free, every Recv caller waiting is woken, and
//     tries to take it.
//
// The states and every allowed transition (setRead checks them in test
// binaries):
//
//	Free       → Pulling     Recv: queue empty, Puller installed
//	Free       → Background  Adopt: a background reader starts
//	Pulling    → Free        the Recv caller's Pull returned: its message appended,
//	                         or its context ended (wakes Recv callers)
//	Pulling    → Done        the connection ended under the Recv caller (EndRead)
//	Background → Parked      Park: the background reader waits for data; no Recv waits
//	Background → Free        LetGo, after Park found a Recv caller waiting: it
//	                         gets the role, the background reader ends (wakes Recv callers)
//	Background → Done        the connection ended under the background reader (EndRead)
//	Parked     → Background  Unpark: data arrived, the background reader reads it
//	Parked     → Handover    Recv: queue empty; it then interrupts the reader's wait
//	Handover   → Free        Unpark: the background reader let go (wakes Recv callers)
//
// internal/session/model/readrole.pml models this machine, the transport's
// interruptible waits and late interrupts for the Spin model checker, which
// CI runs (model/check.sh) over every interleaving.
//
// Done is final. A transport's reader restores, before it lets go, whatever
// an interrupt changed on the connection (the read deadline), so the next
// holder finds the connection as it was.
type ReadState uint8

// Read role states.
const (
	ReadFree       ReadState = iota // nobody reads; Recv or a background reader may take the role
	ReadPulling                     // a Recv caller reads
	ReadParked                      // the background reader waits for data; Recv may take over
	ReadBackground                  // the background reader reads or delivers
	ReadHandover                    // a Recv caller asked the parked background reader to let go
	ReadDone                        // the connection has ended; nobody reads again
)

var readStateNames = [...]string{"Free", "Pulling", "Parked", "Background", "Handover", "Done"}

func (s ReadState) String() string {
	if int(s) < len(readStateNames) {
		return readStateNames[s]
	}
	return fmt.Sprintf("ReadState(%d)", s)
}

// readTransitions lists the allowed transitions (see ReadState).
var readTransitions = [...][]ReadState{
	ReadFree:       {ReadPulling, ReadBackground},
	ReadPulling:    {ReadFree, ReadDone},
	ReadParked:     {ReadBackground, ReadHandover},
	ReadBackground: {ReadParked, ReadFree, ReadDone},
	ReadHandover:   {ReadFree},
	ReadDone:       nil,
}

// checkRead makes setRead verify every transition and the invariant: in
// test binaries only.
var checkRead = testing.Testing()

// setRead moves the read role to state to. The session's lock is held.
// Every change of s.read goes through here.
func (s *Session) setRead(to ReadState) {
	if checkRead {
		s.checkReadTransition(to)
	}
	s.read = to
	if to == ReadFree {
		// The role is free: every Recv caller waiting may take it.
		s.wakeRecv()
	}
}

// checkReadTransition panics when moving to state to breaks the transition
// list or the invariant.
func (s *Session) checkReadTransition(to ReadState) {
	from := s.read
	allowed := false
	for _, st := range readTransitions[from] {
		allowed = allowed || st == to
	}
	switch {
	case !allowed:
		panic(fmt.Sprintf("sockjs: read role %v → %v is not an allowed transition", from, to))
	case (to == ReadPulling || to == ReadHandover) && len(s.in) > 0:
		panic(fmt.Sprintf("sockjs: read role %v → %v with %d messages queued", from, to, len(s.in)))
	case to == ReadParked && s.recvWaiters > 0:
		panic(fmt.Sprintf("sockjs: read role parks while %d Recv callers wait", s.recvWaiters))
	}
}

// A Puller reads a session's connection on behalf of Recv (see ReadState).
type Puller interface {
	// Pull waits for data and reads one message, for a Recv caller that
	// holds the read role. It returns the messages that the message
	// carried (none for an empty one, or when ctx ended before any data
	// came). When the connection has ended it calls EndRead and tears the
	// session down. msgs is not kept.
	Pull(ctx context.Context) (msgs []string)
	// Interrupt cuts short the wait for data of the background reader
	// that a Recv caller is taking over (Parked→Handover). It must not
	// block.
	Interrupt()
}

// SetPuller installs p as the session's Puller while r stays attached; the
// read role starts Free. Recv callers already waiting try it at once.
func (r *Receiver) SetPuller(p Puller) {
	s := r.s
	s.mu.Lock()
	if s.receiver == r {
		s.puller = p
		s.read = ReadFree
		s.wakeRecv()
	}
	s.mu.Unlock()
}

// pull reads for a Recv caller that has just taken the role (Pulling) and
// hands it back. Out of line, so that Recv's own frame stays small on the
// path that reads (see Table.run).
//
//go:noinline
func (s *Session) pull(ctx context.Context, p Puller) {
	pause(PausePull)
	msgs := p.Pull(ctx)
	n := 0
	s.mu.Lock()
	if s.read != ReadPulling { // the connection ended (EndRead)
		s.mu.Unlock()
		return
	}
	if s.closed == nil {
		for _, m := range msgs {
			s.in = append(s.in, m)
			n += len(m)
		}
		s.inBytes += n + len(msgs)*MessageOverhead
	}
	s.setRead(ReadFree)
	s.mu.Unlock()
	if len(msgs) > 0 {
		s.table.cfg.Metrics.MessagesReceived(s.transport, len(msgs), n)
	}
}

// takeOver asks the parked background reader to let go: the caller has
// moved the role to Handover. The reader's Unpark wakes Recv callers.
//
//go:noinline
func (s *Session) takeOver(p Puller) {
	pause(PauseHandover)
	p.Interrupt()
}

// Adopt makes the caller the background reader if nobody holds the read
// role (Free→Background). The caller then reads until Park or Unpark tells
// it to let go, or the connection ends.
func (s *Session) Adopt() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.puller == nil || s.read != ReadFree {
		return false
	}
	s.setRead(ReadBackground)
	return true
}

// Park is called by the background reader before it waits for data. It
// reports true when the reader may wait (Background→Parked), false when a
// Recv caller waits: the reader then keeps the role only until it has put
// the connection back as it was (see Interrupt), and gives it up with
// LetGo. The reader must be interruptible before it calls Park.
func (s *Session) Park() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recvWaiters > 0 {
		return false
	}
	s.setRead(ReadParked)
	return true
}

// LetGo is called by the background reader after Park declined: it gives
// the role up to the Recv callers waiting (Background→Free) and ends.
func (s *Session) LetGo() {
	s.mu.Lock()
	s.setRead(ReadFree)
	s.mu.Unlock()
}

// Unpark is called by the background reader once its wait for data has
// ended, with the connection as it was before any interrupt. It reports
// true when the reader should read on (Parked→Background), false when a
// Recv caller took the role over (Handover→Free): the reader must end.
func (s *Session) Unpark() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.read == ReadHandover {
		s.setRead(ReadFree)
		return false
	}
	s.setRead(ReadBackground)
	return true
}

// EndRead is called by the holder of the read role (Pulling or Background)
// when the connection has ended: nobody reads again.
func (s *Session) EndRead() {
	s.mu.Lock()
	if s.puller != nil {
		s.setRead(ReadDone)
	}
	s.mu.Unlock()
}

// ReadRole returns the read role's state, for tests and debugging.
func (s *Session) ReadRole() ReadState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read
}

// PausePoint names a hand-over point of the read role, where a test can
// widen the window between two steps (see SetPause).
type PausePoint uint8

// Hand-over points.
const (
	PausePull      PausePoint = iota // Recv holds the role, before it reads
	PauseHandover                    // Recv moved the role to Handover, before it interrupts
	PauseRecvWait                    // Recv found the role held, before it waits
	PausePark                        // the background reader is interruptible, before Park
	PauseWait                        // parked, before the wait for data
	PauseUnpark                      // the wait ended, before Unpark
	PauseInterrupt                   // inside Interrupt, before the wait is cut short
	PauseRestore                     // interrupted, before the deadline is put back
	PauseLetGo                       // Park declined, before the role is given up
)

var pauseHook atomic.Pointer[func(PausePoint)]

// SetPause installs f to be called at every hand-over point (nil removes
// it). For stress tests: f typically sleeps or yields at random.
func SetPause(f func(PausePoint)) {
	if f == nil {
		pauseHook.Store(nil)
		return
	}
	pauseHook.Store(&f)
}

// Pause calls the installed pause hook, if any, at point p.
func Pause(p PausePoint) { pause(p) }

func pause(p PausePoint) {
	if f := pauseHook.Load(); f != nil {
		(*f)(p)
	}
}
