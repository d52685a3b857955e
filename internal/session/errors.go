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
