package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
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
	// ErrTooManyForClient means the client already has MaxPerClient
	// sessions; answer 503.
	ErrTooManyForClient = errors.New("sockjs: too many sessions for this client")
	// ErrBoundElsewhere means the session is bound to another client (see
	// Config.Bind); answer as for an unknown session.
	ErrBoundElsewhere = errors.New("sockjs: session bound to another client")
	// ErrRequestTooLarge means the request that would open a session has a
	// URL and headers larger than MaxRequestBytes; answer 431.
	ErrRequestTooLarge = errors.New("sockjs: request too large to open a session")
)

// Config holds the core's settings. Every field must be set (the public
// package applies the defaults).
type Config struct {
	HeartbeatDelay  time.Duration
	DisconnectDelay time.Duration
	// AttachWait bounds how long a second receiver waits for the first to be
	// released before it is refused with 2010.
	AttachWait     time.Duration
	MaxQueuedBytes int // per session and per direction; each message counts its length plus MessageOverhead
	MaxSessions    int
	// MaxRequestBytes bounds the URL and headers of a request that opens a
	// session, which the session keeps (Session.Request); 0: no bound.
	MaxRequestBytes int

	// ClientKey names the client a request comes from, for MaxPerClient.
	// Nil: the IP address of r.RemoteAddr.
	ClientKey func(r *http.Request) string
	// MaxPerClient bounds the sessions of one client; 0: no bound.
	MaxPerClient int
	// Metrics receives counts; nil: NopMetrics.
	Metrics Metrics
	// Logger receives debug logs; nil: discarded.
	Logger *slog.Logger
	// PanicLogger receives the panics recovered from the application's
	// handler and from Metrics; nil: slog.Default().
	PanicLogger *slog.Logger

	// Bind, when set, ties a session to the value it returns for the
	// request that opened it: a later request with another value cannot
	// use the session (ErrBoundElsewhere).
	Bind func(r *http.Request) string

	// Accept, when set, runs for every new session on the goroutine of
	// the request that created it, before any receiver may write the open
	// frame (see Session.accept). A non-nil result refuses the session:
	// its receivers get that close frame in place of the open frame, and
	// the table's function never runs for it.
	Accept func(*Session) *CloseError

	// Wrap, when set, makes the value Session.Ext returns, once per
	// session: the public package's view of it, so that Accept and the
	// session's function see the same value.
	Wrap func(*Session) any
}

// Table holds the sessions of one service and runs the application's
// handler, one goroutine per session. It counts that goroutine and every
// attached receiver, so Shutdown can wait for all of them.
type Table struct {
	cfg Config
	fn  func(*Session)

	mu        sync.Mutex
	sessions  map[string]*Session   // sessions addressable by id (HTTP transports)
	live      map[*Session]struct{} // every session not yet finalized, detached ones too
	perClient map[string]int        // live sessions by client key, when MaxPerClient > 0
	closing   bool
	active    int // handler goroutines plus attached receivers
	idle      broadcast
}

// NewTable returns a table that runs fn for every new session. Returning
// from fn closes the session.
func NewTable(cfg Config, fn func(*Session)) *Table {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PanicLogger == nil {
		cfg.PanicLogger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NopMetrics{}
	} else if _, nop := cfg.Metrics.(NopMetrics); !nop {
		cfg.Metrics = &safeMetrics{m: cfg.Metrics, log: cfg.PanicLogger}
	}
	return &Table{
		cfg:       cfg,
		fn:        fn,
		sessions:  make(map[string]*Session),
		live:      make(map[*Session]struct{}),
		perClient: make(map[string]int),
	}
}

// RemoteIP is the default client key: the IP address of r.RemoteAddr.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// RequestSize is about what a session keeps of the request that opened
// it: the bytes of its URL (in its several forms) and headers.
func RequestSize(r *http.Request) int {
	n := len(r.RequestURI) + len(r.Host) + len(r.RemoteAddr)
	if u := r.URL; u != nil {
		n += len(u.Path) + len(u.RawPath) + len(u.RawQuery) + len(u.Host)
	}
	for k, vs := range r.Header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	for k, vs := range r.Trailer {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// check applies the session's binding to a later request.
func (t *Table) check(s *Session, r *http.Request) error {
	if t.cfg.Bind != nil && t.cfg.Bind(r) != s.bind {
		return ErrBoundElsewhere
	}
	return nil
}

// Lookup returns the session with this id, if the table has it and r may
// use it (see Config.Bind).
func (t *Table) Lookup(id string, r *http.Request) (*Session, bool) {
	t.mu.Lock()
	s, ok := t.sessions[id]
	t.mu.Unlock()
	if ok && t.check(s, r) != nil {
		return nil, false
	}
	return s, ok
}

// Open returns the session with this id, creating it and starting the
// application's handler when there is none. created reports which.
func (t *Table) Open(id, transport string, r *http.Request) (s *Session, created bool, err error) {
	if s, ok := t.get(id); ok {
		if err := t.check(s, r); err != nil {
			return nil, false, err
		}
		return s, false, nil
	}
	// The application's callbacks run before the lock is taken: they may
	// be slow, or panic.
	if t.cfg.MaxRequestBytes > 0 && RequestSize(r) > t.cfg.MaxRequestBytes {
		return nil, false, ErrRequestTooLarge
	}
	key, bind := t.clientKey(r), t.bindValue(r)
	t.mu.Lock()
	if s, ok := t.sessions[id]; ok { // opened meanwhile
		t.mu.Unlock()
		if t.cfg.Bind != nil && bind != s.bind {
			return nil, false, ErrBoundElsewhere
		}
		return s, false, nil
	}
	if err := t.admitLocked(key); err != nil {
		t.mu.Unlock()
		return nil, false, err
	}
	s = t.newSessionLocked(id, transport, r, key, bind, false)
	s.timer = time.AfterFunc(t.cfg.DisconnectDelay, s.expire)
	t.sessions[id] = s
	t.active++
	t.mu.Unlock()
	t.begin(s)
	return s, true, nil
}

// OpenDetached reserves a session that is not addressable by id: a
// websocket session, which lives exactly as long as its connection. The
// caller then either calls Start (the handshake succeeded) or Abandon (it
// failed). Its receiver's Release ends it.
func (t *Table) OpenDetached(id, transport string, r *http.Request) (*Session, error) {
	if t.cfg.MaxRequestBytes > 0 && RequestSize(r) > t.cfg.MaxRequestBytes {
		return nil, ErrRequestTooLarge
	}
	key, bind := t.clientKey(r), t.bindValue(r)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.admitLocked(key); err != nil {
		return nil, err
	}
	return t.newSessionLocked(id, transport, r, key, bind, true), nil
}

func (t *Table) get(id string) (*Session, bool) {
	t.mu.Lock()
	s, ok := t.sessions[id]
	t.mu.Unlock()
	return s, ok
}

func (t *Table) bindValue(r *http.Request) string {
	if t.cfg.Bind == nil {
		return ""
	}
	return t.cfg.Bind(r)
}

func (t *Table) clientKey(r *http.Request) string {
	if t.cfg.MaxPerClient <= 0 {
		return ""
	}
	if t.cfg.ClientKey != nil {
		return t.cfg.ClientKey(r)
	}
	return RemoteIP(r)
}

func (t *Table) newSessionLocked(id, transport string, r *http.Request, key, bind string, detached bool) *Session {
	s := newSession(t, id, r, detached)
	s.transport = transport
	s.accepting = t.cfg.Accept != nil
	if t.cfg.Wrap != nil {
		s.ext = t.cfg.Wrap(s)
	}
	t.cfg.Metrics.SessionOpened(transport)
	s.client = key
	s.bind = bind
	t.live[s] = struct{}{}
	if t.cfg.MaxPerClient > 0 {
		t.perClient[key]++
	}
	return s
}

// Start runs Config.Accept, then the application's handler, for a session
// from OpenDetached. The caller attaches its receiver afterwards: if the
// session was refused, the receiver's first frame is the close frame.
func (t *Table) Start(s *Session) {
	t.mu.Lock()
	t.active++
	t.mu.Unlock()
	t.begin(s)
}

// begin runs Config.Accept for a new session, on the caller's goroutine,
// then starts the application's handler unless the session was refused or
// closed meanwhile. The caller has counted the handler in t.active.
func (t *Table) begin(s *Session) {
	if t.cfg.Accept != nil && !s.accept(t.cfg.Accept) {
		t.leave() // the handler will never run
		return
	}
	go t.run(s)
}

// Abandon forgets a session from OpenDetached whose handshake failed; the
// application never sees it.
func (t *Table) Abandon(s *Session) {
	s.closeWith(&Interrupted)
	t.finalize(s)
}

func (t *Table) admitLocked(key string) error {
	if t.closing {
		return ErrShuttingDown
	}
	if len(t.live) >= t.cfg.MaxSessions {
		return ErrTooManySessions
	}
	if t.cfg.MaxPerClient > 0 && t.perClient[key] >= t.cfg.MaxPerClient {
		return ErrTooManyForClient
	}
	return nil
}

// run is a session's goroutine: it runs the application's function. Its
// frame is kept small (the logging is out of line) because a websocket
// application waiting in Recv reads the connection on this goroutine, and
// the whole chain must fit the smallest goroutine stack for an idle session
// to stay at 2 KiB.
func (t *Table) run(s *Session) {
	defer t.ended(s)
	t.logOpened(s)
	t.fn(s)
}

// ended runs when the application's function returns or panics. A panic
// is what net/http makes of one in a handler: logged with its stack, the
// session closed (with InternalError), the rest of the server unharmed.
func (t *Table) ended(s *Session) {
	if p := recover(); p != nil {
		t.panicked(s, p)
	}
	s.closeWith(&Normal)
	t.leave()
}

//go:noinline
func (t *Table) panicked(s *Session, p any) {
	if p != http.ErrAbortHandler { // as in net/http: that one quietly
		t.cfg.PanicLogger.Error("sockjs: panic in session function", "transport", s.transport,
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}
	s.closeWith(&InternalError)
}

//go:noinline
func (t *Table) logOpened(s *Session) {
	if t.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		t.cfg.Logger.Debug("sockjs: session opened", "session", s.id, "transport", s.transport, "remote", s.req.RemoteAddr)
	}
}

// HeartbeatDelay returns the configured heartbeat delay, for push
// receivers that keep their own heartbeat timer.
func (t *Table) HeartbeatDelay() time.Duration { return t.cfg.HeartbeatDelay }

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
	if t.cfg.MaxPerClient > 0 {
		if t.perClient[s.client]--; t.perClient[s.client] <= 0 {
			delete(t.perClient, s.client)
		}
	}
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
