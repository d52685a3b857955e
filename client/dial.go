package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Dial connects to the SockJS service at rawURL, for example
// "http://localhost:8081/echo" (the service's prefix; http or https, no
// fragment; a query string is kept on every request).
//
// It reads <rawURL>/info, then tries the transports of opts.Transports in
// order, each with a fresh server id (3 digits) and session id (16
// characters from crypto/rand), until one delivers the open frame. It
// returns when the connection is open, or with an error: ctx.Err() (wrapped)
// if ctx is done first; the *CloseError of a close frame the server sent
// instead of the open frame; otherwise an error joining every transport's
// failure, which errors.Is and errors.As look through (for example a
// *StatusError with the 404 of a disabled transport).
//
// ctx bounds only the dial; the connection outlives it (Close ends it).
// Context values, such as httptrace hooks, are passed on to the requests
// the connection makes later.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Conn, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	base, err := parseBaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	info, rtt, err := getInfo(ctx, cfg, base)
	if err != nil {
		return nil, fmt.Errorf("sockjs client: dial %s: %w", base.Redacted(), err)
	}
	var errs []error
	for _, tr := range cfg.transports {
		if tr.usesWebSocket() && !info.websocketEnabled() {
			errs = append(errs, fmt.Errorf("%s: disabled by the server (/info)", tr))
			continue
		}
		c, fatal, err := dialTransport(ctx, cfg, base, tr, cfg.timeoutFor(rtt))
		if err == nil {
			return c, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("sockjs client: dial %s: %w", base.Redacted(), ctxErr)
		}
		if fatal {
			return nil, fmt.Errorf("sockjs client: dial %s: %s: %w", base.Redacted(), tr, err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", tr, err))
	}
	return nil, fmt.Errorf("sockjs client: dial %s: all transports failed: %w", base.Redacted(), errors.Join(errs...))
}

// dialTransport opens one transport with a new session and waits for its
// open frame. fatal reports an error that must end Dial instead of falling
// back to the next transport: a close frame from the server.
func dialTransport(ctx context.Context, cfg *config, base *url.URL, tr Transport, timeout time.Duration) (c *Conn, fatal bool, err error) {
	actx, cancel := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("%w: transport did not open within %v", ErrTimeout, timeout))
	defer cancel()

	var t transportConn
	switch tr {
	case WebSocket, WebSocketRaw:
		u := sessionURL(base, tr)
		ws, err := dialWebSocket(actx, cfg, u, tr == WebSocketRaw)
		if err != nil {
			if actx.Err() != nil {
				err = context.Cause(actx)
			}
			return nil, false, err
		}
		t = ws
	default:
		t = newHTTPTransport(ctx, cfg, sessionURL(base, tr), tr)
	}

	// Until the open frame arrives, the attempt's deadline and ctx abort the
	// transport; afterwards the connection lives on its own.
	stop := context.AfterFunc(actx, t.abort)
	if tr != WebSocketRaw {
		fatal, err = awaitOpen(t)
	}
	if !stop() {
		err, fatal = context.Cause(actx), false
	}
	if err != nil {
		t.abort()
		t.release()
		return nil, fatal, err
	}
	return newConn(tr, t, cfg), false, nil
}

// awaitOpen reads frames until the open frame. fatal reports a close from
// the server that must end Dial: any close frame, and a WebSocket close with
// a code an application may use (1000, 3000-4999). sockjs-client falls back
// to the next transport on anything else.
func awaitOpen(t transportConn) (fatal bool, err error) {
	for {
		f, err := t.readFrame()
		if err != nil {
			return false, err
		}
		switch f.kind {
		case frameHeartbeat:
		case frameOpen:
			return false, nil
		case frameClose:
			ce := &CloseError{Code: f.code, Reason: f.reason}
			if f.fromWebSocket && !userCloseCode(f.code) {
				return false, fmt.Errorf("websocket closed before the open frame: %w", ce)
			}
			return true, ce
		default:
			return false, protocolError("messages before the open frame")
		}
	}
}

func userCloseCode(code int) bool { return code == 1000 || 3000 <= code && code <= 4999 }

// parseBaseURL checks the service URL and removes trailing slashes from its
// path, as sockjs-client does.
func parseBaseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sockjs client: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("sockjs client: URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("sockjs client: URL %q has no host", u.Redacted())
	}
	if u.Fragment != "" || strings.HasSuffix(rawURL, "#") {
		return nil, fmt.Errorf("sockjs client: URL %q must not have a fragment", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// addPath returns base with p appended to its path; the query is kept.
func addPath(base *url.URL, p string) *url.URL {
	u := *base
	u.Path = base.Path + p
	if base.RawPath != "" {
		u.RawPath = base.RawPath + p
	}
	return &u
}

// sessionURL returns the URL of a transport, with a new session for the
// session-based ones: <base>/<server>/<session>/<endpoint>, or
// <base>/websocket for WebSocketRaw.
func sessionURL(base *url.URL, tr Transport) *url.URL {
	if tr == WebSocketRaw {
		return addPath(base, "/websocket")
	}
	var endpoint string
	switch tr {
	case WebSocket:
		endpoint = "/websocket"
	case XHRStreaming:
		endpoint = "/xhr_streaming"
	case EventSource:
		endpoint = "/eventsource"
	case XHRPolling:
		endpoint = "/xhr"
	}
	return addPath(base, "/"+newServerID()+"/"+newSessionID()+endpoint)
}

// newServerID returns a random server id of three decimal digits, as
// sockjs-client generates (uniform over 000-999).
func newServerID() string {
	var b [2]byte
	for {
		rand.Read(b[:])
		if n := binary.BigEndian.Uint16(b[:]); n < 64000 {
			s := strconv.Itoa(int(n % 1000))
			return strings.Repeat("0", serverIDDigits-len(s)) + s
		}
	}
}

// sessionIDAlphabet has 32 characters, so a byte modulo its length is
// uniform (sockjs-client uses the same alphabet).
const sessionIDAlphabet = "abcdefghijklmnopqrstuvwxyz012345"

// newSessionID returns a random session id. sockjs-client uses 8
// characters (40 bits); this uses 16 (80 bits), since anyone who learns a
// session id can post into the session.
func newSessionID() string {
	var b [sessionIDLength]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = sessionIDAlphabet[b[i]%byte(len(sessionIDAlphabet))]
	}
	return string(b[:])
}

// serverInfo is the part of the /info answer the client uses.
// cookie_needed is not used: it matters only to browser transports
// (iframe-based ones); here any cookie works given a jar.
type serverInfo struct {
	WebSocket *bool `json:"websocket"`
}

// websocketEnabled follows sockjs-client: only an explicit false disables
// the websocket transports.
func (i *serverInfo) websocketEnabled() bool { return i.WebSocket == nil || *i.WebSocket }

// maxInfoBytes bounds the /info answer.
const maxInfoBytes = 64 << 10

// getInfo reads <base>/info and measures its round trip time.
func getInfo(ctx context.Context, cfg *config, base *url.URL) (*serverInfo, time.Duration, error) {
	u := addPath(base, "/info").String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header = cfg.header.Clone()
	start := time.Now()
	resp, err := cfg.httpClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBodyBytes))
		return nil, 0, &StatusError{Method: req.Method, URL: req.URL.Redacted(), StatusCode: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInfoBytes+1))
	if err != nil {
		return nil, 0, err
	}
	rtt := time.Since(start)
	if len(body) > maxInfoBytes {
		return nil, 0, protocolError("/info answer longer than %d bytes", maxInfoBytes)
	}
	var info serverInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, 0, protocolError("/info: %v", err)
	}
	return &info, rtt, nil
}
