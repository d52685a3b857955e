// Package transports serves the HTTP side of one SockJS service: routing,
// headers, and one file per transport that knows its request shape and its
// framing. Every transport feeds the same session core
// (internal/session); none holds session state of its own.
//
// The package is public for readability, not as an extension point: its
// types take the module's internal types, so only package sockjs uses it.
package transports

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-sockjs/sockjs/internal/session"
)

// Config is the resolved configuration of one service: package sockjs fills
// every field from its Options.
type Config struct {
	ResponseLimit   int           // bytes of frames per streaming response
	MaxMessageBytes int64         // largest request body or websocket message
	WriteTimeout    time.Duration // deadline of every write to a client
	CookieNeeded    bool          // JSESSIONID handling for sticky load balancers
	Cookie          http.Cookie   // the JSESSIONID template: Name and attributes (Value is replaced)
	ClientURL       string        // sockjs-client script loaded by the iframe page
	Origins         *OriginPolicy
	// MaxMessagesPerBody bounds the messages one request body or one
	// framed websocket message may carry (413, close 1009 beyond).
	MaxMessagesPerBody int

	NoWebsocket    bool // both websocket endpoints
	NoRawWebsocket bool
	NoXHRStreaming bool
	NoXHRPolling   bool
	NoEventSource  bool
	NoHTMLFile     bool
	NoJSONP        bool
	Hixie76        bool

	WebsocketCompression bool
	ReadBufferSize       int
	WriteBufferSize      int
	// CloseWait bounds how long a websocket waits for the client's close
	// frame after sending its own.
	CloseWait time.Duration
	// LivenessTimeout is how long a websocket may go without any frame from
	// the client (data, pong or close) before it is closed as dead. The
	// server pings on every heartbeat, and browsers answer pings by
	// themselves, so a live client is never cut. Zero: no read deadline.
	LivenessTimeout time.Duration
	// NoStreamHijack keeps streaming responses (xhr-streaming,
	// eventsource, htmlfile) inside net/http instead of taking their
	// HTTP/1.x connections over (see stream.go).
	NoStreamHijack bool

	Logger *slog.Logger
}

// Server serves every SockJS URL of one service, below its prefix.
type Server struct {
	cfg    Config
	table  *session.Table
	iframe iframePage
	up     upgrader
	reaper reaper // retires idle websocket writers
	// frameAncestors is the CSP for pages that are framed; "" allows all.
	frameAncestors string
}

// NewServer returns a server for the sessions in table.
func NewServer(cfg Config, table *session.Table) *Server {
	s := &Server{cfg: cfg, table: table}
	s.iframe = newIframePage(cfg.ClientURL)
	s.up = newUpgrader(&cfg)
	s.frameAncestors = cfg.Origins.frameAncestors()
	return s
}

// ServeHTTP routes a request whose URL path is relative to the service's
// prefix ("" and "/" are the greeting).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, r.URL.EscapedPath(), true)
}

// ServeRelative routes r by path, its escaped URL path relative to the
// service's prefix; r's URL keeps the prefix (a mount that strips it
// without copying the request).
func (s *Server) ServeRelative(w http.ResponseWriter, r *http.Request, path string) {
	s.serve(w, r, path, false)
}

// serve routes r by path; hint says whether a 404 may suggest stripping
// a prefix (path is r's own).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, path string, hint bool) {
	rt := route(path)
	if rt.kind != routeNotFound && rt.kind != routeRawWebsocket && !(rt.kind == routeSession && rt.transport == "websocket") &&
		headerHasToken(r.Header, "Upgrade", "websocket") {
		// A websocket upgrade to a URL that has none gets a plain answer
		// (sockjs-node crashed here: CVE-2020-7693); an unknown URL (an id
		// over MaxIDLength, say) a plain 404.
		fail(w, http.StatusBadRequest, "websocket upgrade not supported on this URL\n")
		return
	}
	switch rt.kind {
	case routeGreeting:
		if !allow(w, r, "GET") {
			return
		}
		s.greeting(w, r)
	case routeInfo:
		if r.Method == http.MethodOptions {
			s.options(w, r, "OPTIONS, GET")
			return
		}
		if !allow(w, r, "GET, OPTIONS") {
			return
		}
		s.info(w, r)
	case routeIframe:
		if !allow(w, r, "GET") {
			return
		}
		s.serveIframe(w, r)
	case routeRawWebsocket:
		if s.cfg.NoWebsocket || s.cfg.NoRawWebsocket {
			http.NotFound(w, r)
			return
		}
		if !allow(w, r, "GET") {
			return
		}
		s.rawWebsocket(w, r)
	case routeSession:
		s.serveSession(w, r, rt)
	default:
		if hint {
			notFoundHint(w, r)
		} else {
			notFound(w, r)
		}
	}
}

// notFoundHint answers 404 for a URL that is not the service's. When the
// URL is one of the service's below some prefix, the handler was most
// likely mounted without stripping that prefix (mux.Handle("/chat/", h)),
// which otherwise answers 404 on every URL with no clue why: say so.
func notFoundHint(w http.ResponseWriter, r *http.Request) {
	prefix, ok := unstrippedPrefix(r.URL.EscapedPath())
	if !ok {
		notFound(w, r)
		return
	}
	h := w.Header()
	set(h, "Content-Type", "text/plain; charset=UTF-8")
	set(h, "X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "404 page not found\n\n"+
		"sockjs: the handler serves paths relative to the prefix it is mounted at, and got "+strconv.Quote(r.URL.Path)+".\n"+
		"If it is mounted at "+strconv.Quote(prefix)+", strip the prefix:\n"+
		"\tsockjs.Mount(mux, "+strconv.Quote(prefix)+", h)\n"+
		"or\n"+
		"\tmux.Handle("+strconv.Quote(prefix+"/")+", http.StripPrefix("+strconv.Quote(prefix)+", h))\n")
}

// sessionTransports are the last segments of session URLs.
var sessionTransports = map[string]bool{"websocket": true, "xhr": true, "xhr_send": true, "xhr_streaming": true,
	"eventsource": true, "htmlfile": true, "jsonp": true, "jsonp_send": true}

// unstrippedPrefix finds the shortest prefix of p (made of non-empty
// segments, and shorter than p) whose removal leaves a path the service
// answers.
func unstrippedPrefix(p string) (string, bool) {
	// A path the service answers has at most 3 segments: only the last 3
	// slashes can start one, so a URL of many segments costs its length,
	// not its length squared.
	from := len(p)
	for range 3 {
		if j := strings.LastIndexByte(p[:from], '/'); j > 0 {
			from = j
		}
	}
	for k := max(1, from); k < len(p); k++ {
		if p[k] != '/' {
			continue
		}
		prefix := p[:k]
		if strings.Contains(prefix, "//") || strings.HasSuffix(prefix, "/") {
			return "", false // an empty segment: not a mount prefix
		}
		if rt := route(p[k:]); rt.kind != routeNotFound && (rt.kind != routeSession || sessionTransports[rt.transport]) {
			return prefix, true
		}
	}
	return "", false
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, rt routed) {
	c := s.cfg
	switch rt.transport {
	case "websocket":
		if c.NoWebsocket {
			break
		}
		if allow(w, r, "GET") {
			s.websocket(w, r, rt.session)
		}
		return
	case "xhr", "xhr_streaming":
		if (rt.transport == "xhr" && c.NoXHRPolling) || (rt.transport == "xhr_streaming" && c.NoXHRStreaming) {
			break
		}
		if r.Method == http.MethodOptions {
			s.options(w, r, "OPTIONS, POST")
			return
		}
		if !allow(w, r, "POST, OPTIONS") {
			return
		}
		if rt.transport == "xhr" {
			s.receive(w, r, rt.session, xhrPolling)
		} else {
			s.receive(w, r, rt.session, xhrStreaming)
		}
		return
	case "xhr_send":
		if c.NoXHRPolling && c.NoXHRStreaming && c.NoEventSource && c.NoHTMLFile {
			break
		}
		if r.Method == http.MethodOptions {
			s.options(w, r, "OPTIONS, POST")
			return
		}
		if allow(w, r, "POST, OPTIONS") {
			s.xhrSend(w, r, rt.session)
		}
		return
	case "eventsource":
		if c.NoEventSource {
			break
		}
		if allow(w, r, "GET") {
			s.receive(w, r, rt.session, eventSource)
		}
		return
	case "htmlfile":
		if c.NoHTMLFile {
			break
		}
		if allow(w, r, "GET") {
			s.receive(w, r, rt.session, htmlFile)
		}
		return
	case "jsonp":
		if c.NoJSONP {
			break
		}
		if allow(w, r, "GET") {
			s.receive(w, r, rt.session, jsonpPolling)
		}
		return
	case "jsonp_send":
		if c.NoJSONP {
			break
		}
		if allow(w, r, "POST") {
			s.jsonpSend(w, r, rt.session)
		}
		return
	}
	notFoundHint(w, r)
}

// allow answers 405 (an Allow header, no body, no Content-Type) unless the
// request's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods string) bool {
	if methodIn(r.Method, methods) {
		return true
	}
	set(w.Header(), "Allow", methods)
	w.WriteHeader(http.StatusMethodNotAllowed)
	return false
}

// methodIn reports whether m is one of the comma-separated methods.
func methodIn(m, methods string) bool {
	for len(methods) > 0 {
		i := 0
		for i < len(methods) && methods[i] != ',' {
			i++
		}
		name := methods[:i]
		for len(name) > 0 && name[0] == ' ' {
			name = name[1:]
		}
		if name == m {
			return true
		}
		if i == len(methods) {
			break
		}
		methods = methods[i+1:]
	}
	return false
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	set(h, "Content-Type", "text/plain; charset=UTF-8")
	set(h, "X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("404 page not found\n"))
}

// fail answers a request with status and a one-line plain-text body.
func fail(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	set(h, "Content-Type", "text/plain; charset=UTF-8")
	set(h, "X-Content-Type-Options", "nosniff")
	set(h, "Cache-Control", noCache)
	w.WriteHeader(status)
	w.Write([]byte(msg))
}

// openStatus maps a session-table error to an HTTP answer.
func openFailed(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, session.ErrShuttingDown):
		set(w.Header(), "Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "server shutting down\n")
	case errors.Is(err, session.ErrBoundElsewhere):
		notFound(w, nil)
	case errors.Is(err, session.ErrTooManyForClient):
		set(w.Header(), "Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "too many sessions from this client (see Options.MaxSessionsPerClient)\n")
	case errors.Is(err, session.ErrTooManySessions):
		set(w.Header(), "Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "too many sessions (see Options.MaxSessions)\n")
	case errors.Is(err, session.ErrRequestTooLarge):
		fail(w, http.StatusRequestHeaderFieldsTooLarge, "request URL and headers too large to open a session (see Options.MaxRequestBytes)\n")
	default:
		fail(w, http.StatusInternalServerError, "internal error\n")
	}
}
