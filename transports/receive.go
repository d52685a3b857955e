package transports

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-sockjs/sockjs/internal/frame"
	"github.com/go-sockjs/sockjs/internal/session"
)

// framing is what distinguishes one receiving HTTP transport from another:
// its headers, its prelude and how it wraps a frame. Everything else is the
// shared loop in receive.
type framing struct {
	name        string // the transport's name, for metrics and logs
	contentType string
	streaming   bool   // many frames per response, up to the response limit
	cors        bool   // XHR-based: CORS headers
	callback    bool   // needs a ?c= callback (htmlfile, jsonp)
	referer     bool   // no Origin header from browsers: judge the Referer
	framed      bool   // a page that may be framed: send frame-ancestors
	escape      escape // how the frame text is embedded
	prefix      string // before each frame ("/**/cb(" is built per request for jsonp)
	suffix      string // after each frame
	// prelude returns the bytes written once before the first frame (not
	// counted towards the response limit).
	prelude func(callback string) []byte
}

type escape uint8

const (
	escapeNone        escape = iota // the frame text as is
	escapeJSString                  // as a JavaScript string literal (htmlfile, jsonp)
	escapeEventSource               // % CR LF NUL percent-encoded
)

// appendFrame appends the SockJS text of f.
func appendFrame(dst []byte, f session.Frame) []byte {
	switch f.Kind {
	case session.OpenFrame:
		return append(dst, frame.Open...)
	case session.HeartbeatFrame:
		return append(dst, frame.Heartbeat...)
	case session.MessagesFrame:
		dst = append(dst, 'a', '[')
		for i, m := range f.Messages {
			if i > 0 {
				dst = append(dst, ',')
			}
			if m.JSON != nil {
				dst = append(dst, m.JSON...)
			} else {
				dst = frame.AppendQuote(dst, m.Text)
			}
		}
		return append(dst, ']')
	default:
		return frame.AppendClose(dst, f.Close.Code, f.Close.Reason)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// pooledBufMax is the largest buffer kept in the pool; larger ones are left
// to the garbage collector so that one huge message does not pin memory.
const pooledBufMax = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= pooledBufMax {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// wrap appends f as this transport writes it on the wire.
func (fr *framing) wrap(dst []byte, f session.Frame, callback string, scratch *[]byte) []byte {
	dst = append(dst, fr.prefix...)
	if fr.callback && !fr.streaming { // jsonp: /**/callback(
		dst = append(dst, callback...)
		dst = append(dst, '(')
	}
	if fr.escape == escapeNone {
		dst = appendFrame(dst, f)
		return append(dst, fr.suffix...)
	}
	*scratch = appendFrame((*scratch)[:0], f)
	return fr.wrapEscaped(dst, *scratch)
}

// wrapText appends a streaming transport's wrapping of the SockJS frame
// text p.
func (fr *framing) wrapText(dst, p []byte) []byte {
	dst = append(dst, fr.prefix...)
	if fr.escape == escapeNone {
		dst = append(dst, p...)
		return append(dst, fr.suffix...)
	}
	return fr.wrapEscaped(dst, p)
}

// wrapEscaped appends p escaped, then the suffix.
func (fr *framing) wrapEscaped(dst, p []byte) []byte {
	switch fr.escape {
	case escapeJSString:
		dst = frame.AppendJSString(dst, p)
	case escapeEventSource:
		dst = frame.AppendEventSourceData(dst, p)
	}
	return append(dst, fr.suffix...)
}

// callbackParam returns the validated ?c= (or ?callback=) parameter, or
// answers 500 with the SockJS texts.
func callbackParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	q := r.URL.Query()
	cb, ok := q["c"]
	if !ok {
		cb, ok = q["callback"]
	}
	if !ok || len(cb) == 0 {
		fail(w, http.StatusInternalServerError, `"callback" parameter required`)
		return "", false
	}
	if !frame.ValidCallback(cb[0]) {
		fail(w, http.StatusInternalServerError, `invalid "callback" parameter`)
		return "", false
	}
	return cb[0], true
}

// receive is the one loop shared by xhr, xhr_streaming, eventsource,
// htmlfile and jsonp: open or find the session, attach as its receiver,
// write frames until the transport's response is done, release.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, id string, fr *framing) {
	var cb string
	if fr.callback {
		var ok bool
		if cb, ok = callbackParam(w, r); !ok {
			return
		}
	}
	if !s.checkOrigin(w, r, fr.referer) {
		return
	}
	sess, _, err := s.table.Open(id, fr.name, r)
	if err != nil {
		openFailed(w, err)
		return
	}
	h := w.Header()
	set(h, "Content-Type", fr.contentType)
	setNoCache(h)
	if fr.cors {
		setCORS(h, r)
	}
	s.setCookie(h, r)
	if fr.streaming {
		set(h, "X-Accel-Buffering", "no")
	}
	if fr.callback {
		set(h, "X-Content-Type-Options", "nosniff")
	}
	if fr.framed && s.frameAncestors != "" {
		set(h, "Content-Security-Policy", s.frameAncestors)
	}

	rc := http.NewResponseController(w)

	rcv, err := sess.Attach(r.Context())
	if err != nil {
		if errors.Is(err, session.ErrBusy) {
			buf, scratch := getBuf(), getBuf()
			defer putBuf(buf)
			defer putBuf(scratch)
			w.WriteHeader(http.StatusOK)
			if fr.prelude != nil {
				w.Write(fr.prelude(cb))
			}
			w.Write(fr.wrap((*buf)[:0], session.Frame{Kind: session.CloseFrame, Close: &session.Busy}, cb, scratch))
		}
		return
	}
	cause := &session.Interrupted
	defer func() {
		if rcv != nil {
			rcv.Release(cause)
		}
	}()
	defer rc.SetWriteDeadline(time.Time{})

	if fr.streaming {
		if s.hijackStream(w, r, sess, rcv, fr, cb) {
			cause = nil // the session's own goroutine owns the receiver now
			rcv = nil
			return
		}
		w.WriteHeader(http.StatusOK)
		if fr.prelude != nil {
			if !s.write(w, rc, fr.prelude(cb)) {
				return
			}
		}
	}
	written := 0
	for {
		f, err := rcv.Next(r.Context())
		if err != nil {
			return
		}
		// Buffers are held while writing, not while the session is idle.
		buf, scratch := getBuf(), getBuf()
		*buf = fr.wrap((*buf)[:0], f, cb, scratch)
		if !fr.streaming {
			// One frame: with its length known, headers and body leave in
			// one write, instead of a chunk and then the final chunk.
			set(h, "Content-Length", strconv.Itoa(len(*buf)))
			w.WriteHeader(http.StatusOK)
		}
		ok := s.write(w, rc, *buf)
		n := len(*buf)
		putBuf(buf)
		putBuf(scratch)
		if !ok {
			return
		}
		written += n
		s.table.Metrics().FramesSent(fr.name, 1, n)
		if f.Kind == session.CloseFrame || !fr.streaming || written >= s.cfg.ResponseLimit {
			cause = nil
			return
		}
	}
}

// write writes b in one Write under the write deadline and flushes it, so
// that each frame travels as its own chunk.
func (s *Server) write(w http.ResponseWriter, rc *http.ResponseController, b []byte) bool {
	if err := rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	if _, err := w.Write(b); err != nil {
		return false
	}
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	return true
}
