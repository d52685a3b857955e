package sockjs

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-sockjs/sockjs/internal/frame"
	"github.com/go-sockjs/sockjs/internal/session"
)

// Session is one SockJS connection, whatever its transport. All methods
// are safe for concurrent use.
type Session interface {
	// ID returns the session id chosen by the client.
	ID() string
	// Request returns a copy of the request that opened the session: its
	// headers, URL and remote address. Its body is empty and its context
	// is the session's.
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
// frame, or of the client's websocket close. Use errors.As to get it.
type CloseError = session.CloseError

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
	// CodeInternalError is used when the session function panics (reason
	// "Internal server error"); the panic is logged with its stack.
	CodeInternalError = 1011
)

var _ Session = (*session.Session)(nil)

// Metrics receives counts from a Handler (Options.Metrics): sessions opened
// and closed by transport and close code, frames and bytes out, messages and
// bytes in, dropped sends. Its methods are called concurrently on the hot
// path and must not block. The prometheus module in this repository
// implements it.
type Metrics = session.Metrics

// ErrQueueFull is returned by TrySend when the session's outbound queue is
// full.
var ErrQueueFull = session.ErrQueueFull

// TrySend queues msg for s without waiting: it returns ErrQueueFull if the
// session's queue (Options.MaxQueuedBytes) has no room, and the close error
// if the session has closed.
func TrySend(s Session, msg string) error {
	if ss, ok := s.(*session.Session); ok {
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
	if ss, ok := s.(*session.Session); ok {
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
