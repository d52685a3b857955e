package sockjs

import (
	"context"
	"net/http"

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
	// *CloseError. It returns ctx.Err() if ctx ends first.
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
	// CodeInterrupted is used when the client went away: its receiving
	// request was aborted, or none came back within the disconnect delay
	// (reason "Connection interrupted").
	CodeInterrupted = 1002
)

var _ Session = (*session.Session)(nil)
