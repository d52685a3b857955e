package main

import (
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/go-sockjs/sockjs/internal/frame"
)

// floor is the floor for the HTTP transports: net/http doing the HTTP work
// a SockJS echo needs (the same requests, headers and response bodies as
// our server) with the least state that can echo: a map from session id
// to a queue of encoded messages, no timers, no limits, no validation, no
// heartbeats. What our server costs beyond it is the price of being a
// server. It uses the library's own codec, so that the difference is not
// the codec's.
//
//	/echo/<server>/<id>/xhr_send        decode ["m",...], queue, 204
//	/echo/<server>/<id>/xhr             "o" first, then a["m",...] (waits)
//	/echo/<server>/<id>/xhr_streaming   prelude, "o", frames, 128 KiB per response
//	/echo/<server>/<id>/eventsource     the same as server-sent events
type floor struct {
	mu   sync.Mutex
	sess map[string]*floorSession
}

type floorSession struct {
	mu     sync.Mutex
	opened bool
	out    []byte        // encoded messages, comma-separated, not yet sent
	wake   chan struct{} // one slot
}

func newFloor() *floor { return &floor{sess: make(map[string]*floorSession)} }

func (f *floor) session(id string) *floorSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sess[id]
	if s == nil {
		s = &floorSession{wake: make(chan struct{}, 1)}
		f.sess[id] = s
	}
	return s
}

// next waits for queued messages (or the open frame) and returns the frame.
func (s *floorSession) next(r *http.Request, dst []byte) ([]byte, bool) {
	for {
		s.mu.Lock()
		if !s.opened {
			s.opened = true
			s.mu.Unlock()
			return append(dst, 'o'), true
		}
		if len(s.out) > 0 {
			dst = append(append(append(dst, 'a', '['), s.out...), ']')
			s.out = s.out[:0]
			s.mu.Unlock()
			return dst, true
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-r.Context().Done():
			return dst, false
		}
	}
}

var floorHeaders = map[string]string{
	"xhr":           "application/javascript; charset=UTF-8",
	"xhr_streaming": "application/javascript; charset=UTF-8",
	"eventsource":   "text/event-stream",
	"xhr_send":      "text/plain; charset=UTF-8",
}

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/echo/"), "/")
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	id, transport := parts[1], parts[2]
	ct, ok := floorHeaders[transport]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h["Access-Control-Allow-Origin"] = []string{"*"}
	h["Cache-Control"] = []string{"no-store, no-cache, no-transform, must-revalidate, max-age=0"}
	h["Content-Type"] = []string{ct}
	h["Vary"] = []string{"Origin"}
	s := f.session(id)
	switch transport {
	case "xhr_send":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		msgs, err := frame.DecodeMessages(body)
		if err != nil {
			http.Error(w, "Broken JSON encoding.", http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		for _, m := range msgs {
			if len(s.out) > 0 {
				s.out = append(s.out, ',')
			}
			s.out = frame.AppendQuote(s.out, m)
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	case "xhr":
		b, ok := s.next(r, make([]byte, 0, 64))
		if ok {
			w.Write(append(b, '\n'))
		}
	default: // xhr_streaming, eventsource
		h["X-Accel-Buffering"] = []string{"no"}
		rc := http.NewResponseController(w)
		buf := make([]byte, 0, 2100)
		var tmp []byte
		if transport == "xhr_streaming" {
			buf = append(append(buf, strings.Repeat("h", 2048)...), '\n')
		} else {
			buf = append(buf, '\r', '\n')
		}
		for written := 0; ; {
			if _, err := w.Write(buf); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			if written += len(buf); written >= 128<<10 {
				return // the response limit: the client opens the next
			}
			var ok bool
			if transport == "xhr_streaming" {
				buf, ok = s.next(r, buf[:0])
				buf = append(buf, '\n')
			} else {
				tmp, ok = s.next(r, tmp[:0])
				buf = frame.AppendEventSourceData(append(buf[:0], "data: "...), tmp)
				buf = append(buf, '\r', '\n', '\r', '\n')
			}
			if !ok {
				return
			}
		}
	}
}
