package session

import (
	"errors"
	"strconv"
)

// ErrClosed is returned by operations on a session that has closed. Every
// *CloseError matches it with errors.Is.
var ErrClosed = errors.New("sockjs: session closed")

// CloseError reports how a session closed: the SockJS close code and reason
// that were (or would have been) sent in its c[code,"reason"] frame.
type CloseError struct {
	Code   int
	Reason string
}

// Error implements error.
func (e *CloseError) Error() string {
	return "sockjs: session closed: " + strconv.Itoa(e.Code) + " " + strconv.Quote(e.Reason)
}

// Is makes errors.Is(err, ErrClosed) true for every *CloseError.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// asHooks convert a *CloseError to the public packages' own CloseError
// types, so that errors.As finds them in errors this package produces.
// They are registered from init functions only.
var asHooks []func(e *CloseError, target any) bool

// RegisterAs adds a conversion used by (*CloseError).As. Call it from an
// init function: the list is read without a lock.
func RegisterAs(f func(e *CloseError, target any) bool) { asHooks = append(asHooks, f) }

// As lets errors.As fill a public CloseError type (see RegisterAs) from e.
func (e *CloseError) As(target any) bool {
	for _, f := range asHooks {
		if f(e, target) {
			return true
		}
	}
	return false
}
