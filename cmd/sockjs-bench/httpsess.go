package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// httpSession is a SockJS session over one of the HTTP transports: a
// receiving goroutine keeps the xhr_streaming, eventsource or xhr request
// going (reopening it after the response limit or each poll) and hands
// batches of messages to recv; send posts to xhr_send.
type httpSession struct {
	send1   lane   // xhr_send requests
	recv1   lane   // the receiving requests
	base    string // /prefix/000/id/ (raw lanes) or http://host/prefix/000/id/
	kind    string
	timeout time.Duration
	// retryBusy: a c[2010] frame on a poll is retried, not fatal.
	retryBusy bool

	ctx    context.Context
	cancel context.CancelFunc
	in     chan [][]byte
	done   chan struct{} // closed when the receiving goroutine ends
	err    error         // why it ended; read after done
	opened chan struct{}
	sbuf   []byte
}

func newHTTPClient(nd *dialer, conns int) *http.Client {
	tr := &http.Transport{
		DialContext:         nd.DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     4096,
		ReadBufferSize:      4096,
	}
	return &http.Client{Transport: tr}
}

// lane sends requests one after another and returns their responses; the
// caller reads each body to its end (or closes it) before the next request.
type lane interface {
	do(ctx context.Context, method, url string, body []byte) (*http.Response, error)
	abort() // ends the request in progress, from another goroutine
}

// netLane is net/http's client: shared pooled connections.
type netLane struct{ cl *http.Client }

func (l netLane) do(ctx context.Context, method, url string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	return l.cl.Do(req)
}

func (netLane) abort() {} // the request context does it

func dialHTTP(ctx context.Context, t *target, o *opener, id string) (*httpSession, error) {
	s := &httpSession{
		base:      t.httpBase + "/000/" + id + "/",
		kind:      t.transport,
		timeout:   t.ioTimeout,
		in:        make(chan [][]byte, 64),
		done:      make(chan struct{}),
		opened:    make(chan struct{}),
		retryBusy: t.retryBusy,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if o.cl != nil {
		s.send1, s.recv1 = netLane{o.cl}, netLane{o.cl}
	} else {
		s.base = t.pathBase + "/000/" + id + "/"
		s.send1 = &rawLane{nd: o.nd, addr: t.hostport, host: t.host, timeout: t.ioTimeout}
		s.recv1 = &rawLane{nd: o.nd, addr: t.hostport, host: t.host, timeout: t.ioTimeout, stream: true}
		context.AfterFunc(s.ctx, func() { s.recv1.abort(); s.send1.abort() })
	}
	go s.receive()
	timer := time.NewTimer(t.ioTimeout)
	defer timer.Stop()
	select {
	case <-s.opened:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("open %s: %w", s.base, s.err)
	case <-timer.C:
		s.close()
		return nil, fmt.Errorf("open %s: no open frame within %v", s.base, t.ioTimeout)
	case <-ctx.Done():
		s.close()
		return nil, ctx.Err()
	}
}

// receive is the receiving goroutine. It ends on a close frame, an error,
// or close.
func (s *httpSession) receive() {
	defer close(s.done)
	open := false
	for {
		var err error
		switch s.kind {
		case "xhr-polling":
			err = s.poll(&open)
		default:
			err = s.stream(&open)
		}
		if err != nil {
			if s.ctx.Err() != nil {
				err = context.Canceled
			}
			s.err = err
			return
		}
	}
}

// receiving returns the receiving request of the session's transport.
func (s *httpSession) receiving() (*http.Response, error) {
	switch s.kind {
	case "xhr-streaming":
		return s.recv1.do(s.ctx, "POST", s.base+"xhr_streaming", nil)
	case "eventsource":
		return s.recv1.do(s.ctx, "GET", s.base+"eventsource", nil)
	default:
		return s.recv1.do(s.ctx, "POST", s.base+"xhr", nil)
	}
}

// handle processes one frame; it returns the error that ends the session.
func (s *httpSession) handle(f []byte, open *bool) error {
	switch frameKind(f) {
	case 'o':
		if *open {
			return fmt.Errorf("second open frame")
		}
		*open = true
		close(s.opened)
	case 'h':
	case 'a':
		msgs, err := parseArray(nil, f)
		if err != nil {
			return err
		}
		// parseArray aliases f, which the reader reuses: copy.
		n := 0
		for _, m := range msgs {
			n += len(m)
		}
		buf := make([]byte, 0, n)
		for i, m := range msgs {
			buf = append(buf, m...)
			msgs[i] = buf[len(buf)-len(m):]
		}
		select {
		case s.in <- msgs:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	case 'c':
		if s.retryBusy && bytes.HasPrefix(f, []byte("c[2010,")) {
			// "Another connection still open": this request raced the
			// previous one's release (igm/sockjs-go detaches receivers
			// asynchronously). The session lives on; ask again.
			busyRetries.Add(1)
			return nil
		}
		return &closedError{string(f)}
	default:
		return fmt.Errorf("unexpected frame %.40q", f)
	}
	return nil
}

// busyRetries counts the c[2010] answers tolerated with -retry-busy.
var busyRetries atomic.Int64

func (s *httpSession) poll(open *bool) error {
	resp, err := s.receiving()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("xhr: HTTP %d", resp.StatusCode)
	}
	return s.handle(bytes.TrimSuffix(body, []byte("\n")), open)
}

// stream reads one streaming response (xhr_streaming or eventsource) to its
// end.
func (s *httpSession) stream(open *bool) error {
	resp, err := s.receiving()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: HTTP %d", s.kind, resp.StatusCode)
	}
	br := bufio.NewReaderSize(resp.Body, 8192)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A frame longer than the buffer: assemble it.
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			if err == io.EOF && len(line) == 0 {
				return nil // response limit reached: reopen
			}
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if s.kind == "eventsource" {
			f, ok := bytes.CutPrefix(line, []byte("data: "))
			if !ok {
				continue // the prelude and the blank lines between events
			}
			line = unescapeEventSource(f)
		} else if len(line) > 0 && line[0] == 'h' && len(line) > 1 {
			continue // the xhr_streaming prelude: 2048 'h'
		}
		if len(line) == 0 {
			continue
		}
		if err := s.handle(line, open); err != nil {
			return err
		}
	}
}

func (s *httpSession) send(msgs [][]byte) error {
	s.sbuf = appendSendFrame(s.sbuf[:0], msgs)
	ctx := s.ctx
	if _, ok := s.send1.(netLane); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(s.ctx, s.timeout)
		defer cancel()
	}
	resp, err := s.send1.do(ctx, "POST", s.base+"xhr_send", s.sbuf)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 204 && resp.StatusCode != 200 {
		return fmt.Errorf("xhr_send: HTTP %d", resp.StatusCode)
	}
	return nil
}

func (s *httpSession) recv() ([][]byte, error) {
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case m := <-s.in:
		return m, nil
	case <-s.done:
		select {
		case m := <-s.in:
			return m, nil
		default:
		}
		return nil, s.err
	case <-timer.C:
		return nil, fmt.Errorf("no message within %v", s.timeout)
	}
}

func (s *httpSession) close() {
	s.cancel()
	<-s.done
}
