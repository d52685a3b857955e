package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// wsTransport is the framed websocket transport (one SockJS frame per text
// message) or, with raw set, the raw websocket (one message per text
// message). The receive goroutine is its only reader and the send
// goroutine its only writer; closeHandshake and abort use only the methods
// gorilla allows concurrently with those (WriteControl, Close).
type wsTransport struct {
	conn    *websocket.Conn
	raw     bool
	timeout time.Duration // ReceiveTimeout; 0: none
	max     int           // MaxFrameBytes
	buf     []byte        // send buffer, owned by send
	once    sync.Once
}

// controlWriteTimeout bounds the writing of pongs and close frames.
const controlWriteTimeout = time.Second

// dialWebSocket performs the WebSocket handshake with u (an http or https
// URL). ctx bounds the handshake, cancellation included; the connection
// does not depend on it afterwards.
func dialWebSocket(ctx context.Context, cfg *config, u *url.URL, raw bool) (*wsTransport, error) {
	wu := *u
	if wu.Scheme == "https" {
		wu.Scheme = "wss"
	} else {
		wu.Scheme = "ws"
	}
	d := newDialer(cfg)

	// gorilla honours ctx only while connecting and for deadlines; close the
	// connection when ctx is done in the middle of the handshake.
	var mu sync.Mutex
	var stops []func() bool
	watch := func(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
		if dial == nil {
			var nd net.Dialer
			dial = nd.DialContext
		}
		return func(dctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dial(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			stop := context.AfterFunc(dctx, func() { nc.Close() })
			mu.Lock()
			stops = append(stops, stop)
			mu.Unlock()
			return nc, nil
		}
	}
	d.NetDialContext = watch(d.NetDialContext)
	if d.NetDialTLSContext != nil {
		d.NetDialTLSContext = watch(d.NetDialTLSContext)
	}

	conn, resp, err := d.DialContext(ctx, wu.String(), cfg.header)
	mu.Lock()
	interrupted := false
	for _, stop := range stops {
		if !stop() {
			interrupted = true
		}
	}
	mu.Unlock()
	if err == nil && interrupted {
		conn.Close()
		err = context.Cause(ctx)
	}
	if err != nil {
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("websocket handshake: %w", &StatusError{Method: http.MethodGet, URL: wu.Redacted(), StatusCode: resp.StatusCode})
		}
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}

	t := &wsTransport{conn: conn, raw: raw, max: cfg.maxFrame}
	conn.SetReadLimit(int64(cfg.maxFrame))
	if !raw {
		t.timeout = cfg.receiveTimeout
	}
	conn.SetPingHandler(func(data string) error {
		// A ping is a sign of life (sockjs-node sends pings instead of h
		// frames on websockets).
		t.extendDeadline()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(controlWriteTimeout))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil
			}
			return err
		}
		return nil
	})
	return t, nil
}

// newDialer returns a websocket dialer set up like the HTTP client: the
// same cookie jar and, when its transport is an *http.Transport, the same
// proxy, TLS configuration and dial functions.
func newDialer(cfg *config) *websocket.Dialer {
	d := &websocket.Dialer{Jar: cfg.httpClient.Jar, Proxy: http.ProxyFromEnvironment}
	rt := cfg.httpClient.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if tr, ok := rt.(*http.Transport); ok {
		d.Proxy = tr.Proxy
		d.NetDialContext = tr.DialContext
		d.NetDialTLSContext = tr.DialTLSContext
		if tr.TLSClientConfig != nil {
			// The websocket handshake is HTTP/1.1: an "h2" entry would make
			// gorilla fail.
			tc := tr.TLSClientConfig.Clone()
			tc.NextProtos = nil
			d.TLSClientConfig = tc
		}
	}
	return d
}

func (t *wsTransport) extendDeadline() {
	if t.timeout > 0 {
		t.conn.SetReadDeadline(time.Now().Add(t.timeout))
	}
}

func (t *wsTransport) readFrame() (inFrame, error) {
	t.extendDeadline()
	_, data, err := t.conn.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
			return inFrame{kind: frameClose, code: ce.Code, reason: ce.Text, fromWebSocket: true}, nil
		case errors.Is(err, websocket.ErrReadLimit):
			return inFrame{}, fmt.Errorf("%w: websocket message longer than %d bytes", ErrFrameTooLarge, t.max)
		case errors.As(err, &ne) && ne.Timeout() && t.timeout > 0:
			return inFrame{}, fmt.Errorf("%w: nothing received for %v", ErrTimeout, t.timeout)
		}
		return inFrame{}, err
	}
	if t.raw {
		return inFrame{kind: frameMessages, msgs: []string{string(data)}}, nil
	}
	return parseFrame(data)
}

func (t *wsTransport) release() {}

// appendWireUTF8 appends s to dst as valid UTF-8, which a WebSocket text
// message must be, the way a browser encodes a JavaScript string: an
// unpaired surrogate in WTF-8 form becomes one U+FFFD, and so does every
// other byte that is not part of valid UTF-8.
func appendWireUTF8(dst []byte, s string) []byte {
	if utf8.ValidString(s) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r != utf8.RuneError || size > 1:
			dst = append(dst, s[i:i+size]...)
		case isWTF8Surrogate(s[i:]):
			dst = utf8.AppendRune(dst, utf8.RuneError)
			size = 3
		default:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
		i += size
	}
	return dst
}

// isWTF8Surrogate reports whether s starts with the WTF-8 form of a UTF-16
// surrogate: ED A0..BF 80..BF.
func isWTF8Surrogate(s string) bool {
	return len(s) >= 3 && s[0] == 0xed && s[1] >= 0xa0 && s[1] <= 0xbf && s[2]&0xc0 == 0x80
}

func (t *wsTransport) send(msgs []string) error {
	var err error
	if t.raw {
		for _, m := range msgs {
			t.buf = appendWireUTF8(t.buf[:0], m)
			if err = t.conn.WriteMessage(websocket.TextMessage, t.buf); err != nil {
				break
			}
		}
	} else {
		t.buf = appendPayload(t.buf[:0], msgs)
		err = t.conn.WriteMessage(websocket.TextMessage, t.buf)
	}
	if cap(t.buf) > 64<<10 {
		t.buf = nil // do not keep a large buffer for the connection's lifetime
	}
	return err
}

// closeHandshake sends a close frame; the server's reply ends readFrame.
func (t *wsTransport) closeHandshake(code int, reason string) bool {
	msg := websocket.FormatCloseMessage(code, reason)
	return t.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(controlWriteTimeout)) == nil
}

func (t *wsTransport) abort() {
	t.once.Do(func() { t.conn.Close() })
}
