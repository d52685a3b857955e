package transports

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/internal/frame"
	"github.com/go-sockjs/sockjs/internal/session"
)

// wsConn is what a websocket session loop needs from a connection, so the
// same loop serves gorilla's RFC 6455 connections and hixie-76 ones. Like
// gorilla's: one goroutine reads, one writes; Close may be called by either.
type wsConn interface {
	ReadText() ([]byte, error)
	SetReadLimit(n int64)
	WriteText(p []byte) error
	WriteClose(code int, reason string) error
	SetWriteDeadline(t time.Time) error
	Close() error
}

// upgrader performs RFC 6455 handshakes. Origins are checked before it runs.
type upgrader struct{ websocket.Upgrader }

func newUpgrader(cfg *Config) upgrader {
	return upgrader{websocket.Upgrader{
		ReadBufferSize:    cfg.ReadBufferSize,
		WriteBufferSize:   cfg.WriteBufferSize,
		WriteBufferPool:   &sync.Pool{},
		EnableCompression: cfg.WebsocketCompression,
		CheckOrigin:       func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			fail(w, status, reason.Error()+"\n")
		},
	}}
}

// gorillaConn adapts *websocket.Conn to wsConn.
type gorillaConn struct{ *websocket.Conn }

func (c gorillaConn) ReadText() ([]byte, error) {
	_, p, err := c.ReadMessage()
	return p, err
}

func (c gorillaConn) WriteText(p []byte) error { return c.WriteMessage(websocket.TextMessage, p) }

func (c gorillaConn) WriteClose(code int, reason string) error {
	return c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

func (c gorillaConn) ping() error {
	return c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
}

// keepAlive arms a read deadline that every frame from the client (data,
// pong, ping, close) pushes back by d, so a dead peer is noticed within d
// even when the writer has nothing to send.
func (c gorillaConn) keepAlive(d time.Duration) {
	if d <= 0 {
		return
	}
	c.SetReadDeadline(time.Now().Add(d))
	c.SetPongHandler(func(string) error {
		return c.SetReadDeadline(time.Now().Add(d))
	})
	c.SetPingHandler(func(data string) error {
		c.SetReadDeadline(time.Now().Add(d))
		err := c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
}

// extend pushes the read deadline back after a data frame.
func (c gorillaConn) extend(d time.Duration) {
	if d > 0 {
		c.SetReadDeadline(time.Now().Add(d))
	}
}

// errBrokenFraming: a framed websocket message that is not a JSON array of
// strings. The connection is closed at once, without a SockJS close frame.
var errBrokenFraming = errors.New("sockjs: broken framing")

// brokenFraming is the websocket close sent for errBrokenFraming.
var brokenFraming = session.CloseError{Code: 3000, Reason: "Broken framing."}

// checkUpgrade answers 400 unless r asks for a websocket upgrade.
func checkUpgrade(w http.ResponseWriter, r *http.Request) bool {
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		fail(w, http.StatusBadRequest, `Can "Upgrade" only to "WebSocket".`)
		return false
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		fail(w, http.StatusBadRequest, `"Connection" must be "Upgrade".`)
		return false
	}
	return true
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// websocket serves GET /{server}/{session}/websocket: a SockJS-framed
// session over one websocket. Its session is not in the table: it lives as
// long as the connection, and its id may be reused at any time.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request, id string) {
	if !checkUpgrade(w, r) || !s.checkOrigin(w, r, false) {
		return
	}
	hixie := isHixie76(r)
	if hixie && !s.cfg.Hixie76 {
		fail(w, http.StatusBadRequest, "hixie-76 websockets are not enabled (see Options.Hixie76)\n")
		return
	}
	sess, err := s.table.OpenDetached(id, "websocket", r)
	if err != nil {
		openFailed(w, err)
		return
	}
	var conn wsConn
	if hixie {
		conn, err = acceptHixie76(w, r)
	} else {
		var c *websocket.Conn
		c, err = s.up.Upgrade(w, r, nil)
		if err == nil {
			conn = gorillaConn{c}
		}
	}
	if err != nil {
		s.table.Abandon(sess)
		return
	}
	s.table.Start(sess)
	s.serveWebsocket(conn, sess, true)
}

// serveWebsocket runs a websocket session. The calling goroutine is the
// only writer (the session's receiver); one reader goroutine delivers
// incoming messages and is joined before return.
func (s *Server) serveWebsocket(conn wsConn, sess *session.Session, framed bool) {
	conn.SetReadLimit(s.cfg.MaxMessageBytes)
	gc, isGorilla := conn.(gorillaConn)
	if isGorilla {
		gc.keepAlive(s.cfg.LivenessTimeout)
	}
	rcv, err := sess.Attach(context.Background())
	if err != nil { // cannot happen: a detached session has no other receiver
		conn.Close()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel()
		readErr = s.readWebsocket(ctx, conn, sess, framed)
	}()

	buf := getBuf()
	defer putBuf(buf)
	metrics, name := s.table.Metrics(), sess.Transport()
	sentClose := false
	for !sentClose {
		f, err := rcv.Next(ctx)
		if err != nil {
			break // the reader has ended
		}
		conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		switch {
		case f.Kind == session.CloseFrame:
			if framed {
				*buf = appendFrame((*buf)[:0], f)
				conn.WriteText(*buf)
				conn.WriteClose(websocket.CloseNormalClosure, "")
			} else {
				conn.WriteClose(f.Close.Code, f.Close.Reason)
			}
			sentClose = true
			continue
		case framed:
			*buf = appendFrame((*buf)[:0], f)
			err = conn.WriteText(*buf)
			metrics.FramesSent(name, 1, len(*buf))
			if err == nil && f.Kind == session.HeartbeatFrame && isGorilla {
				err = gc.ping()
			}
		case f.Kind == session.MessagesFrame:
			for _, m := range f.Messages {
				*buf = append((*buf)[:0], m.Text...)
				if err = conn.WriteText(*buf); err != nil {
					break
				}
				metrics.FramesSent(name, 1, len(m.Text))
			}
		case f.Kind == session.HeartbeatFrame && isGorilla:
			err = gc.ping()
		}
		if err != nil {
			break
		}
	}
	cancel()
	if sentClose {
		// Give the client a moment to answer with its own close, so that it
		// sees a clean close rather than a reset.
		t := time.NewTimer(s.cfg.CloseWait)
		select {
		case <-readDone:
		case <-t.C:
		}
		t.Stop()
	}
	if errors.Is(readErr, errBrokenFraming) {
		conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		conn.WriteClose(brokenFraming.Code, brokenFraming.Reason)
	}
	conn.Close()
	<-readDone
	rcv.Release(closeCause(readErr))
}

// readWebsocket is the reader goroutine: it delivers messages until the
// connection fails or closes, and returns why.
func (s *Server) readWebsocket(ctx context.Context, conn wsConn, sess *session.Session, framed bool) error {
	one := make([]string, 1)
	gc, isGorilla := conn.(gorillaConn)
	for {
		p, err := conn.ReadText()
		if err != nil {
			return err
		}
		if isGorilla {
			gc.extend(s.cfg.LivenessTimeout)
		}
		var msgs []string
		if framed {
			if len(p) == 0 {
				continue // empty messages are ignored
			}
			if msgs, err = frame.DecodeMessages(p); err != nil {
				return errBrokenFraming
			}
			if len(msgs) == 0 {
				continue
			}
		} else {
			one[0] = string(p)
			msgs = one
		}
		if err := sess.Deliver(ctx, msgs); err != nil && !errors.Is(err, session.ErrClosed) {
			return err
		}
	}
}

// closeCause turns the reader's final error into the session's close: the
// client's close code and reason when it sent a close frame.
func closeCause(err error) *session.CloseError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &session.CloseError{Code: ce.Code, Reason: ce.Text}
	}
	if errors.Is(err, errBrokenFraming) {
		c := brokenFraming
		return &c
	}
	return &session.Interrupted
}
