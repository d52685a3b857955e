package transports

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/go-sockjs/sockjs/internal/frame"
	"github.com/go-sockjs/sockjs/internal/session"
)

// send is the part the two senders share: find the session (404 when it
// is unknown), wait for this request's turn (see session.EnterSend), read
// and decode the body, deliver the messages. It reports whether the caller
// should answer success, which it may only when every message was queued;
// otherwise it has answered: 404 when the session closed first (its
// messages are dropped), 503 when too many sends wait.
func (s *Server) send(w http.ResponseWriter, r *http.Request, id string, form bool) bool {
	sess, ok := s.table.Lookup(id, r)
	if !ok {
		notFound(w, r)
		return false
	}
	if err := sess.EnterSend(r.Context()); err != nil {
		// The body is left unread: net/http closes the connection.
		sendFailed(w, err)
		return false
	}
	defer sess.LeaveSend()
	msgs, ok := s.readMessages(w, r, sess, form)
	if !ok {
		return false
	}
	if err := sess.Deliver(r.Context(), msgs); err != nil {
		sendFailed(w, err)
		return false
	}
	return true
}

// maxFormFields bounds the fields of a jsonp_send form.
const maxFormFields = 64

// maxMessages is MaxMessagesPerBody for frame.DecodeMessagesMax.
func (s *Server) maxMessages() int {
	if s.cfg.MaxMessagesPerBody <= 0 {
		return -1
	}
	return s.cfg.MaxMessagesPerBody
}

// sendFailed answers a sender whose messages were not all queued.
func sendFailed(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, session.ErrClosed):
		notFound(w, nil)
	case errors.Is(err, session.ErrTooManySenders):
		set(w.Header(), "Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "too many concurrent sends to this session\n")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client has gone.
	default:
		fail(w, http.StatusInternalServerError, "internal error\n")
	}
}

// readMessages reads and decodes a sender's body, bounded by
// MaxMessageBytes and MaxMessagesPerBody. form selects jsonp_send's rules
// (field d of a urlencoded form). On failure it has answered: 413 for a
// body over the limits, 500 with the SockJS text for a bad payload, 404
// when sess (if not nil) closed while the body came in: the read is then
// cut short, since its messages could not be delivered anyway.
func (s *Server) readMessages(w http.ResponseWriter, r *http.Request, sess *session.Session, form bool) ([]string, bool) {
	// A body must arrive within the write timeout: a client trickling it
	// in cannot hold the request open.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if sess != nil {
		stop := context.AfterFunc(sess.Context(), func() { rc.SetReadDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				// The deadline is (being) cut: the connection is not reused.
				set(w.Header(), "Connection", "close")
			}
		}()
	}
	var body []byte
	var err error
	pb := getBuf()
	defer putBuf(pb)
	if n := r.ContentLength; n >= 0 && n <= s.cfg.MaxMessageBytes && n <= int64(cap(*pb)) {
		// A small declared length (net/http never returns more than it):
		// read exactly that into a pooled buffer instead of growing one
		// from 512 bytes. Messages are copied out of it. Larger bodies
		// take the path below, which allocates only as data arrives.
		body = (*pb)[:n]
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxMessageBytes))
	}
	if err != nil {
		// The rest of the body will not be read: close the connection
		// after answering (net/http would otherwise wait for it).
		set(w.Header(), "Connection", "close")
		var mbe *http.MaxBytesError
		if sess != nil && sess.Err() != nil {
			notFound(w, r)
		} else if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, "request body too large (see Options.MaxMessageBytes)\n")
		} else {
			fail(w, http.StatusBadRequest, "cannot read the request body\n")
		}
		return nil, false
	}
	rc.SetReadDeadline(time.Time{})
	// Read to its end: closing it now spares net/http its own draining of
	// the body (io.CopyN) when the response is written.
	r.Body.Close()
	if form {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "application/x-www-form-urlencoded" {
			// Every field costs a map entry or slice slot: a client sends
			// one (d). Go before 1.25.6 parses any number.
			if bytes.Count(body, []byte("&")) >= maxFormFields {
				fail(w, http.StatusRequestEntityTooLarge, "too many form fields\n")
				return nil, false
			}
			vals, err := url.ParseQuery(string(body))
			if err != nil {
				fail(w, http.StatusInternalServerError, frame.ErrPayloadExpected.Error())
				return nil, false
			}
			body = []byte(vals.Get("d"))
		}
	}
	msgs, err := frame.DecodeMessagesMax(body, s.maxMessages())
	if err != nil {
		if errors.Is(err, frame.ErrTooManyMessages) {
			fail(w, http.StatusRequestEntityTooLarge, "too many messages in one request (see Options.MaxMessageBytes)\n")
		} else if errors.Is(err, frame.ErrBrokenJSON) {
			fail(w, http.StatusInternalServerError, frame.ErrBrokenJSON.Error())
		} else {
			fail(w, http.StatusInternalServerError, frame.ErrPayloadExpected.Error())
		}
		return nil, false
	}
	return msgs, true
}
