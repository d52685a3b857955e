package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsSession is a SockJS session over a websocket (framed), or a plain
// websocket on the raw endpoint.
type wsSession struct {
	c       *websocket.Conn
	raw     bool
	timeout time.Duration
	rbuf    []byte
	wbuf    []byte
	msgs    [][]byte
	one     [1][]byte
}

type wsDialer struct {
	d       websocket.Dialer
	base    string // ws://host/prefix
	raw     bool
	timeout time.Duration
}

func newWSDialer(t *target, nd *dialer, pooled bool) *wsDialer {
	w := &wsDialer{base: t.wsBase, raw: t.transport == "websocket-raw", timeout: t.ioTimeout}
	w.d = websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: t.ioTimeout,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
	}
	if t.tls {
		w.d.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // loopback only (checkLoopback)
	}
	if pooled {
		// Many idle connections: share write buffers, keep read buffers
		// small.
		w.d.WriteBufferPool = &sync.Pool{}
		w.d.ReadBufferSize = 1024
	}
	return w
}

// dial opens a session; for the framed websocket it waits for the open
// frame.
func (w *wsDialer) dial(ctx context.Context, id string) (*wsSession, error) {
	u := w.base + "/000/" + id + "/websocket"
	if w.raw {
		u = w.base + "/websocket"
	}
	c, resp, err := w.d.DialContext(ctx, u, http.Header{})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %v (HTTP %d)", u, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", u, err)
	}
	s := &wsSession{c: c, raw: w.raw, timeout: w.timeout}
	if !w.raw {
		f, err := s.readFrame()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("open frame: %w", err)
		}
		if frameKind(f) != 'o' {
			c.Close()
			return nil, fmt.Errorf("first frame %.40q, want o", f)
		}
	}
	return s, nil
}

// readFrame reads one websocket message into the session's buffer.
func (s *wsSession) readFrame() ([]byte, error) {
	if s.timeout > 0 {
		s.c.SetReadDeadline(time.Now().Add(s.timeout))
	}
	_, r, err := s.c.NextReader()
	if err != nil {
		return nil, err
	}
	b := s.rbuf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	s.rbuf = b
	return b, nil
}

func (s *wsSession) send(msgs [][]byte) error {
	if s.timeout > 0 {
		s.c.SetWriteDeadline(time.Now().Add(s.timeout))
	}
	if s.raw {
		for _, m := range msgs {
			if err := s.c.WriteMessage(websocket.TextMessage, m); err != nil {
				return err
			}
		}
		return nil
	}
	s.wbuf = appendSendFrame(s.wbuf[:0], msgs)
	return s.c.WriteMessage(websocket.TextMessage, s.wbuf)
}

func (s *wsSession) recv() ([][]byte, error) {
	for {
		f, err := s.readFrame()
		if err != nil {
			return nil, err
		}
		if s.raw {
			s.one[0] = f
			return s.one[:], nil
		}
		switch frameKind(f) {
		case 'a':
			s.msgs, err = parseArray(s.msgs, f)
			return s.msgs, err
		case 'h':
			continue
		case 'c':
			return nil, &closedError{string(f)}
		default:
			return nil, fmt.Errorf("unexpected frame %.40q", f)
		}
	}
}

// close runs the websocket close handshake: our close frame, then wait
// (bounded) for the server's.
func (s *wsSession) close() {
	s.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	s.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := s.c.NextReader(); err != nil {
			break
		}
	}
	s.c.Close()
}

// discard reads and drops frames until the connection ends, and returns
// the error that ended it; it keeps an idle session answering pings.
func (s *wsSession) discard() error {
	for {
		s.c.SetReadDeadline(time.Time{})
		_, r, err := s.c.NextReader()
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
	}
}
