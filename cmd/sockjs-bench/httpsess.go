package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// httpSession is a SockJS session over one of the HTTP transports: a
// receiving goroutine keeps the xhr_streaming, eventsource or xhr request
// going (reopening it after the response limit or each poll) and hands
// batches of messages to recv; send posts to xhr_send.
type httpSession struct {
	cl      *http.Client
	base    string // http://host/prefix/000/id/
	kind    string
	timeout time.Duration

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

func dialHTTP(ctx context.Context, t *target, cl *http.Client, id string) (*httpSession, error) {
	s := &httpSession{
		cl:      cl,
		base:    t.httpBase + "/000/" + id + "/",
		kind:    t.transport,
		timeout: t.ioTimeout,
		in:      make(chan [][]byte, 64),
		done:    make(chan struct{}),
		opened:  make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
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

func (s *httpSession) request() (*http.Request, error) {
	switch s.kind {
	case "xhr-streaming":
		return http.NewRequestWithContext(s.ctx, "POST", s.base+"xhr_streaming", nil)
	case "eventsource":
		return http.NewRequestWithContext(s.ctx, "GET", s.base+"eventsource", nil)
	default:
		return http.NewRequestWithContext(s.ctx, "POST", s.base+"xhr", nil)
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
		return &closedError{string(f)}
	default:
		return fmt.Errorf("unexpected frame %.40q", f)
	}
	return nil
}

func (s *httpSession) poll(open *bool) error {
	req, err := s.request()
	if err != nil {
		return err
	}
	resp, err := s.cl.Do(req)
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
	req, err := s.request()
	if err != nil {
		return err
	}
	resp, err := s.cl.Do(req)
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
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+"xhr_send", bytes.NewReader(s.sbuf))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := s.cl.Do(req)
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
