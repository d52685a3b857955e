package client

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/go-sockjs/sockjs/internal/session"
	"github.com/go-sockjs/sockjs/sockjs"
)

// ErrClosed is returned by Send, Recv and Flush once the connection has
// ended, and by every call after Close. It is the same value as the server
// side's sockjs.ErrClosed, and every *CloseError matches it with errors.Is.
var ErrClosed = session.ErrClosed

// CloseError reports how a connection ended: the SockJS close code and
// reason. It is the server side's type (sockjs.CloseError), so errors.As
// works the same way on both sides.
//
// Where it comes from:
//
//   - a close frame from the server, c[code,"reason"]: exactly that code and
//     reason (3000 "Go away!", 2010 "Another connection still open", 1002
//     "Connection interrupted", ...);
//   - a WebSocket close frame from the server (the only way the raw
//     websocket transport closes, and how a framed websocket may end without
//     a c frame): its status code and text;
//   - an open frame on a reopened stream or poll, which means the server
//     forgot the session: 1006 "Server lost session", as sockjs-client says;
//   - a failure of the connection itself (network error, unexpected HTTP
//     status, malformed frame, ReceiveTimeout): code 1006 with reason
//     "Connection lost" (receiving side) or "Sending error" (xhr_send or
//     websocket write). The error returned then also wraps the cause, so
//     errors.Is(err, ErrProtocol), errors.As(err, &statusErr) and the like
//     work on it.
type CloseError = sockjs.CloseError

// Sentinel errors wrapped by the errors this package returns. Test for them
// with errors.Is.
var (
	// ErrProtocol reports data from the server that is not valid SockJS: a
	// malformed or unknown frame, a JSON payload that is not an array of
	// strings, a message before the open frame, an empty response.
	ErrProtocol = errors.New("sockjs client: protocol error")

	// ErrFrameTooLarge reports a frame (a line of an HTTP response, an
	// eventsource event or a websocket message) longer than
	// Options.MaxFrameBytes.
	ErrFrameTooLarge = errors.New("sockjs client: frame too large")

	// ErrTimeout reports that a transport did not open within
	// Options.TransportTimeout, or that nothing at all arrived from the
	// server for Options.ReceiveTimeout.
	ErrTimeout = errors.New("sockjs client: timeout")
)

// StatusError reports an HTTP response with an unexpected status code, for
// example 404 from xhr_send when the server no longer knows the session, or
// from /info when the URL does not point at a SockJS service.
type StatusError struct {
	// Method and URL identify the request.
	Method, URL string
	// StatusCode is the status the server answered.
	StatusCode int
}

// Error implements error.
func (e *StatusError) Error() string {
	return "sockjs client: " + e.Method + " " + e.URL + ": unexpected status " + strconv.Itoa(e.StatusCode)
}

// Close codes and reasons this package reports for failures of its own, as
// sockjs-client does.
const (
	codeAbnormal     = 1006
	reasonLost       = "Connection lost"
	reasonSendFailed = "Sending error"
)

// lostError is the terminal error of a connection that failed: a
// *CloseError carrying code 1006, together with the cause. errors.Is and
// errors.As see both.
type lostError struct {
	close *CloseError
	cause error
}

func (e *lostError) Error() string {
	return e.close.Error() + ": " + e.cause.Error()
}

func (e *lostError) Unwrap() []error { return []error{e.close, e.cause} }

// lost wraps cause as the terminal error of a connection, with the given
// 1006 reason.
func lost(reason string, cause error) error {
	return &lostError{close: &CloseError{Code: codeAbnormal, Reason: reason}, cause: cause}
}

// protocolError returns an error wrapping ErrProtocol.
func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
