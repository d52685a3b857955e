package transports

import (
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
// is unknown), read and decode the body, deliver the messages. It reports
// whether the caller should answer success; otherwise it has answered.
func (s *Server) send(w http.ResponseWriter, r *http.Request, id string, form bool) bool {
	sess, ok := s.table.Lookup(id, r)
	if !ok {
		notFound(w, r)
		return false
	}
	msgs, ok := s.readMessages(w, r, form)
	if !ok {
		return false
	}
	return deliver(w, r, sess, msgs)
}

// readMessages reads and decodes a sender's body, bounded by
// MaxMessageBytes. form selects jsonp_send's rules (field d of a
// urlencoded form). On failure it has answered: 413 for a body over the
// limit, 500 with the SockJS text for a bad payload.
func (s *Server) readMessages(w http.ResponseWriter, r *http.Request, form bool) ([]string, bool) {
	// A body must arrive within the write timeout: a client trickling it
	// in cannot hold the request open.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.cfg.WriteTimeout))
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
		w.Header().Set("Connection", "close")
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
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
			vals, err := url.ParseQuery(string(body))
			if err != nil {
				fail(w, http.StatusInternalServerError, frame.ErrPayloadExpected.Error())
				return nil, false
			}
			body = []byte(vals.Get("d"))
		}
	}
	msgs, err := frame.DecodeMessages(body)
	if err != nil {
		if errors.Is(err, frame.ErrBrokenJSON) {
			fail(w, http.StatusInternalServerError, frame.ErrBrokenJSON.Error())
		} else {
			fail(w, http.StatusInternalServerError, frame.ErrPayloadExpected.Error())
		}
		return nil, false
	}
	return msgs, true
}

// deliver hands msgs to the session, waiting (bounded by the request's
// context) while its inbound queue is full. Messages for a session that has
// closed are dropped, as in sockjs-node.
func deliver(w http.ResponseWriter, r *http.Request, sess *session.Session, msgs []string) bool {
	err := sess.Deliver(r.Context(), msgs)
	if err == nil || errors.Is(err, session.ErrClosed) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	fail(w, http.StatusInternalServerError, "internal error\n")
	return false
}
