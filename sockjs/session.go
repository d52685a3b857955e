package sockjs

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-sockjs/sockjs/internal/frame"
	"github.com/go-sockjs/sockjs/internal/session"
)

// Session is one SockJS connection, whatever its transport. All methods
// are safe for concurrent use.
type Session interface {
	// ID returns the session id chosen by the client: the {session}
	// segment of its URLs. It identifies the session to the protocol, not
	// to the application: the client chooses it, so it is neither secret
	// nor unique. The raw websocket endpoint (/websocket) has no id (""),
	// and websocket sessions are not in the session table, so a websocket
	// session may have the id of another session, open at the same time,
	// on any transport. Key your own state by the Session value, or by an
	// identity you checked (in Options.Accept), not by ID alone.
	ID() string
	// Transport returns the transport the client opened the session with.
	// It never changes: SockJS clients that lose a transport open a new
	// session.
	Transport() Transport
	// Request returns a copy of the request that opened the session: its
	// headers, URL and remote address. Its body is empty and its context
	// is the session's. Under Mount its URL is the one the client sent,
	// prefix included (http.StripPrefix would have removed it).
	Request() *http.Request
	// Context returns a context that is done when the session closes.
	Context() context.Context
	// Recv returns the next message from the client. After the session
	// closes, it returns the messages already received, then a
	// *CloseError. It returns ctx.Err() if ctx ends first. On a websocket,
	// Recv reads the connection itself (see Concurrency in the package
	// doc); the session's own context is the cheapest to pass.
	Recv(ctx context.Context) (string, error)
	// Send queues a message for the client. It blocks while the session's
	// outbound queue holds Options.MaxQueuedBytes, until there is room, the
	// session closes (a *CloseError is returned) or ctx ends (ctx.Err()).
	// Inside Options.Accept it does not wait: it returns ErrQueueFull.
	// It never waits for the network: on a quiet plain websocket session
	// it may write the frame itself, with a system call that takes what
	// the socket has room for (see Concurrency in the package doc).
	Send(ctx context.Context, msg string) error
	// Close closes the session with a close frame c[code,"reason"]. Use a
	// code of 1000 or 3000-4999. Only the first call has an effect; it
	// never blocks and returns nil.
	Close(code int, reason string) error
}

// ErrClosed matches, with errors.Is, every error returned because a
// session has closed.
var ErrClosed = session.ErrClosed

// CloseError says how a session closed: the code and reason of its close
// frame c[code,"reason"], or of the client's websocket close. Every error
// the package returns because a session closed can be inspected with
// errors.As(err, &ce) for a ce of type *CloseError, and matches ErrClosed
// with errors.Is. Return one from Options.Accept to refuse a session with
// that close frame.
type CloseError struct {
	// Code is the close code: 1000 (normal closure), 1001 (going away),
	// 1002 (connection interrupted), 2010 (another connection still
	// open), or one an application chose (3000-4999).
	Code int
	// Reason is the close frame's text.
	Reason string
}

// Error implements error.
func (e *CloseError) Error() string {
	return "sockjs: session closed: " + strconv.Itoa(e.Code) + " " + strconv.Quote(e.Reason)
}

// Is makes errors.Is(err, ErrClosed) true for every *CloseError.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

func init() {
	// The session core returns its own close errors; errors.As converts
	// them to this type.
	session.RegisterAs(func(e *session.CloseError, target any) bool {
		if p, ok := target.(**CloseError); ok {
			*p = &CloseError{Code: e.Code, Reason: e.Reason}
			return true
		}
		return false
	})
}

// Close codes the handler itself uses.
const (
	// CodeNormal is used when the session function returns without
	// closing the session (reason "Normal closure").
	CodeNormal = 1000
	// CodeGoingAway is used by Shutdown (reason "Going away").
	CodeGoingAway = 1001
	// CodeTooSlow is used by Broadcast for a session whose queue is full
	// (reason "Client too slow").
	CodeTooSlow = 3008
	// CodeInterrupted is used when the client went away: its receiving
	// request was aborted, or none came back within the disconnect delay
	// (reason "Connection interrupted").
	CodeInterrupted = 1002
	// CodeRefused is used when Options.Accept returns an error that is not
	// a *CloseError (reason "Refused"; the error itself is logged at debug
	// level, never sent to the client).
	CodeRefused = 3000
	// CodeInternalError is used when the session function or
	// Options.Accept panics (reason "Internal server error"); the panic is
	// logged with its stack.
	CodeInternalError = 1011
)

// ErrNotOpen is returned by Recv when it is called before the session is
// open (while Options.Accept runs) and no message is queued: no message can
// come before the client has been told the session is open.
var ErrNotOpen = session.ErrNotOpen

// conn is the Session the package hands out: the core's session, whose
// methods it promotes, plus Transport as this package's type. One is made
// per session (session.Config.Wrap), so Options.Accept and the session
// function see the same value.
type conn struct{ *session.Session }

// Transport implements Session.
func (c *conn) Transport() Transport { return Transport(c.Session.Transport()) }

var _ Session = (*conn)(nil)

// core returns the session core behind s, if s is one of this package's.
func core(s Session) (*session.Session, bool) {
	c, ok := s.(*conn)
	if !ok {
		return nil, false
	}
	return c.Session, true
}

// Metrics receives counts from a Handler (Options.Metrics). Its methods
// are called concurrently, on the hot path: they must be safe for
// concurrent use, fast, and never block. transport is the name of the
// transport that opened the session, one of the Transport constants
// ("websocket", "xhr-streaming", ...). The prometheus module in this
// repository implements it.
type Metrics interface {
	// SessionOpened is called when a session is created, before
	// Options.Accept runs.
	SessionOpened(transport string)
	// SessionClosed is called once per session, with its close code.
	SessionClosed(transport string, code int)
	// FramesSent counts frames written to clients and their bytes on the
	// wire (after transport framing).
	FramesSent(transport string, frames, bytes int)
	// MessagesReceived counts messages from clients and their bytes.
	MessagesReceived(transport string, messages, bytes int)
	// SendDropped counts messages dropped by TrySend or Broadcast because
	// the session's queue was full.
	SendDropped(transport string)
}

// ErrQueueFull is returned by TrySend when the session's outbound queue is
// full.
var ErrQueueFull = session.ErrQueueFull

// TrySend queues msg for s without waiting: it returns ErrQueueFull if the
// session's queue (Options.MaxQueuedBytes) has no room, and the close error
// if the session has closed.
func TrySend(s Session, msg string) error {
	if ss, ok := core(s); ok {
		return ss.TrySend(msg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, msg); err != nil {
		if errors.Is(err, context.Canceled) {
			return ErrQueueFull
		}
		return err
	}
	return nil
}

// PreparedMessage is a message encoded once, to be sent to many sessions
// (see Prepare).
type PreparedMessage struct{ m session.Message }

// Prepare encodes msg once for sending to many sessions with
// TrySendPrepared or BroadcastPrepared.
func Prepare(msg string) *PreparedMessage {
	return &PreparedMessage{session.Message{Text: msg, JSON: frame.AppendQuote(nil, msg)}}
}

// Text returns the message.
func (p *PreparedMessage) Text() string { return p.m.Text }

// TrySendPrepared is TrySend for a prepared message: sessions of this
// package reuse its encoding; others get its text.
func TrySendPrepared(s Session, p *PreparedMessage) error {
	if ss, ok := core(s); ok {
		return ss.TrySendMessage(p.m)
	}
	return TrySend(s, p.m.Text)
}

// Broadcast sends msg to every session without ever waiting on a slow one:
// a session whose queue is full is closed with CodeTooSlow ("Client too
// slow") and the message is dropped for it; closed sessions are skipped. It
// returns how many sessions queued the message.
func Broadcast(msg string, sessions ...Session) int {
	return BroadcastPrepared(Prepare(msg), sessions...)
}

// BroadcastPrepared is Broadcast for a prepared message.
func BroadcastPrepared(p *PreparedMessage, sessions ...Session) int {
	n := 0
	for _, s := range sessions {
		switch err := TrySendPrepared(s, p); {
		case err == nil:
			n++
		case errors.Is(err, ErrQueueFull):
			s.Close(CodeTooSlow, "Client too slow")
		}
	}
	return n
}
