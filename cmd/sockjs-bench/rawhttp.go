package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rawLane is one keep-alive HTTP/1.1 connection used by one goroutine:
// requests are written by hand and responses parsed with
// http.ReadResponse. It does per request what a browser's connection does,
// without net/http's Transport (its pool, its two goroutines per connection
// and their channel hand-offs), which costs as much CPU per request as the
// servers under test.
type rawLane struct {
	nd      *dialer
	addr    string // host:port to dial
	host    string // Host header
	timeout time.Duration
	stream  bool // responses may stay open: no read deadline on the body

	mu      sync.Mutex // guards c against abort
	c       net.Conn
	aborted bool
	br      *bufio.Reader
	wbuf    []byte
	last    *http.Response // its body must be finished before the next request
}

var errAborted = errors.New("session closed")

func (l *rawLane) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	if l.last != nil {
		// The previous body was read to its end (or closed early, which
		// leaves the connection unusable).
		if l.last.Close || !bodyDone(l.last) {
			l.reset()
		}
		l.last = nil
	}
	for attempt := 0; ; attempt++ {
		reused := l.c != nil
		if l.c == nil {
			c, err := l.nd.DialContext(ctx, "tcp", l.addr)
			if err != nil {
				return nil, err
			}
			l.mu.Lock()
			if l.aborted {
				l.mu.Unlock()
				c.Close()
				return nil, errAborted
			}
			l.c = c
			l.mu.Unlock()
			if l.br == nil {
				l.br = bufio.NewReaderSize(c, 8192)
			} else {
				l.br.Reset(c)
			}
		}
		resp, err := l.roundTrip(method, path, body)
		if err == nil {
			l.last = resp
			return resp, nil
		}
		l.reset()
		if !reused || attempt > 0 {
			return nil, err
		}
		// A kept-alive connection the server had closed: try a fresh one.
	}
}

func (l *rawLane) roundTrip(method, path string, body []byte) (*http.Response, error) {
	w := append(l.wbuf[:0], method...)
	w = append(w, ' ')
	w = append(w, path...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, l.host...)
	if body != nil || method == "POST" {
		w = append(w, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
		w = strconv.AppendInt(w, int64(len(body)), 10)
	}
	w = append(w, "\r\n\r\n"...)
	w = append(w, body...)
	l.wbuf = w
	l.c.SetDeadline(time.Now().Add(l.timeout))
	if _, err := l.c.Write(w); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(l.br, nil)
	if err != nil {
		return nil, err
	}
	if l.stream {
		l.c.SetDeadline(time.Time{})
	}
	resp.Body = &trackedBody{ReadCloser: resp.Body}
	return resp, nil
}

// trackedBody remembers whether its body was read to the end.
type trackedBody struct {
	io.ReadCloser
	eof bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func bodyDone(r *http.Response) bool {
	if r.ContentLength == 0 || r.StatusCode == http.StatusNoContent {
		return true
	}
	tb, ok := r.Body.(*trackedBody)
	return ok && tb.eof
}

func (l *rawLane) reset() {
	l.mu.Lock()
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
	l.mu.Unlock()
}

func (l *rawLane) abort() {
	l.mu.Lock()
	l.aborted = true
	if l.c != nil {
		l.c.Close()
	}
	l.mu.Unlock()
}
