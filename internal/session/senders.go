package session

import (
	"context"
	"errors"
)

// MaxWaitingSenders bounds the sending requests (xhr_send, jsonp_send) of
// one session that wait for their turn (see EnterSend); one more is refused
// with ErrTooManySenders. Clients send one request at a time.
const MaxWaitingSenders = 8

// ErrTooManySenders is returned by EnterSend when MaxWaitingSenders
// requests already wait for their turn; answer 503.
var ErrTooManySenders = errors.New("sockjs: too many concurrent sends to one session")

// EnterSend waits for the caller's turn to read and deliver the body of a
// sending request: one sender per session at a time, and only while the
// inbound queue has room. So a sender whose messages must wait for the
// application holds its decoded body alone; the others wait with their
// bodies unread (in the connection, not in memory). It returns the close
// error if the session closes first, ctx.Err() if ctx ends first, and
// ErrTooManySenders when too many already wait. After a nil error the caller
// must call LeaveSend.
func (s *Session) EnterSend(ctx context.Context) error {
	s.mu.Lock()
	if s.sendQueue >= MaxWaitingSenders {
		s.mu.Unlock()
		return ErrTooManySenders
	}
	s.sendQueue++
	for {
		if s.closed != nil {
			err := s.closed
			s.sendQueue--
			s.mu.Unlock()
			return err
		}
		if !s.sending && s.inBytes < s.table.cfg.MaxQueuedBytes {
			s.sending = true
			s.sendQueue--
			s.mu.Unlock()
			return nil
		}
		var turn <-chan struct{}
		if s.sending {
			turn = s.sendTurn.wait()
		} else {
			turn = s.inSpace.wait()
		}
		s.mu.Unlock()
		select {
		case <-turn:
		case <-ctx.Done():
			s.mu.Lock()
			s.sendQueue--
			s.mu.Unlock()
			return ctx.Err()
		}
		s.mu.Lock()
	}
}

// LeaveSend ends the turn EnterSend gave.
func (s *Session) LeaveSend() {
	s.mu.Lock()
	s.sending = false
	s.sendTurn.notify()
	s.mu.Unlock()
}
