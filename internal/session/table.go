package session

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Errors returned by the table and by Attach.
var (
	// ErrTooManySessions means MaxSessions sessions are open; answer 503.
	ErrTooManySessions = errors.New("sockjs: too many sessions")
	// ErrShuttingDown means the table no longer accepts sessions; answer 503.
	ErrShuttingDown = errors.New("sockjs: shutting down")
	// ErrBusy means another receiver is attached; answer c[2010,...].
	ErrBusy = errors.New("sockjs: another connection still open")
)

// Config holds the core's settings. Every field must be set (the public
// package applies the defaults).
type Config struct {
	HeartbeatDelay  time.Duration
	DisconnectDelay time.Duration
	// AttachWait bounds how long a second receiver waits for the first to be
	// released before it is refused with 2010.
	AttachWait     time.Duration
	MaxQueuedBytes int // per session and per direction
	MaxSessions    int
}

// Table holds the sessions of one service and runs the application's
// handler, one goroutine per session. It counts that goroutine and every
// attached receiver, so Shutdown can wait for all of them.
type Table struct {
	cfg Config
	fn  func(*Session)

	mu       sync.Mutex
	sessions map[string]*Session   // sessions addressable by id (HTTP transports)
	live     map[*Session]struct{} // every session not yet finalized, detached ones too
	closing  bool
	active   int // handler goroutines plus attached receivers
	idle     broadcast
}

// NewTable returns a table that runs fn for every new session. Returning
// from fn closes the session.
func NewTable(cfg Config, fn func(*Session)) *Table {
	return &Table{
		cfg:      cfg,
		fn:       fn,
		sessions: make(map[string]*Session),
		live:     make(map[*Session]struct{}),
	}
}

// Lookup returns the session with this id, if the table has it.
func (t *Table) Lookup(id string) (*Session, bool) {
	t.mu.Lock()
	s, ok := t.sessions[id]
	t.mu.Unlock()
	return s, ok
}

// Open returns the session with this id, creating it and starting the
// application's handler when there is none. created reports which.
func (t *Table) Open(id string, r *http.Request) (s *Session, created bool, err error) {
	t.mu.Lock()
	if s, ok := t.sessions[id]; ok {
		t.mu.Unlock()
		return s, false, nil
	}
	if err := t.admitLocked(); err != nil {
		t.mu.Unlock()
		return nil, false, err
	}
	s = newSession(t, id, r, false)
	s.timer = time.AfterFunc(t.cfg.DisconnectDelay, s.expire)
	t.sessions[id] = s
	t.startLocked(s)
	t.mu.Unlock()
	return s, true, nil
}

// OpenDetached reserves a session that is not addressable by id: a
// websocket session, which lives exactly as long as its connection. The
// caller then either calls Start (the handshake succeeded) or Abandon (it
// failed). Its receiver's Release ends it.
func (t *Table) OpenDetached(id string, r *http.Request) (*Session, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.admitLocked(); err != nil {
		return nil, err
	}
	s := newSession(t, id, r, true)
	t.live[s] = struct{}{}
	return s, nil
}

// Start runs the application's handler for a session from OpenDetached.
func (t *Table) Start(s *Session) {
	t.mu.Lock()
	t.active++
	t.mu.Unlock()
	go t.run(s)
}

// Abandon forgets a session from OpenDetached whose handshake failed; the
// application never sees it.
func (t *Table) Abandon(s *Session) {
	s.closeWith(&Interrupted)
	t.finalize(s)
}

func (t *Table) admitLocked() error {
	if t.closing {
		return ErrShuttingDown
	}
	if len(t.live) >= t.cfg.MaxSessions {
		return ErrTooManySessions
	}
	return nil
}

func (t *Table) startLocked(s *Session) {
	t.live[s] = struct{}{}
	t.active++
	go t.run(s)
}

func (t *Table) run(s *Session) {
	defer t.leave()
	defer s.closeWith(&Normal)
	t.fn(s)
}

// Len returns the number of sessions not yet finalized.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.live)
}

// finalize forgets s: its id is free again and it no longer counts towards
// MaxSessions.
func (t *Table) finalize(s *Session) {
	s.mu.Lock()
	done := s.finalized
	s.finalized = true
	s.mu.Unlock()
	if done {
		return
	}
	t.mu.Lock()
	if t.sessions[s.id] == s {
		delete(t.sessions, s.id)
	}
	delete(t.live, s)
	t.mu.Unlock()
}

func (t *Table) enter() {
	t.mu.Lock()
	t.active++
	t.mu.Unlock()
}

func (t *Table) leave() {
	t.mu.Lock()
	t.active--
	if t.active == 0 {
		t.idle.notify()
	}
	t.mu.Unlock()
}

// Shutdown refuses new sessions, closes every session with ce, and waits
// until every handler goroutine has returned and every receiver has been
// released, or ctx ends (it then returns ctx.Err()). It may be called more
// than once.
func (t *Table) Shutdown(ctx context.Context, ce CloseError) error {
	t.mu.Lock()
	t.closing = true
	all := make([]*Session, 0, len(t.live))
	for s := range t.live {
		all = append(all, s)
	}
	t.mu.Unlock()
	for _, s := range all {
		c := ce
		s.closeWith(&c)
	}
	for {
		t.mu.Lock()
		if t.active == 0 {
			t.mu.Unlock()
			return nil
		}
		idle := t.idle.wait()
		t.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
