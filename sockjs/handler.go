package sockjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-sockjs/sockjs/internal/session"
	"github.com/go-sockjs/sockjs/transports"
)

// Handler serves one SockJS service. Its URL paths are relative to the
// prefix it is mounted at: use Mount, http.StripPrefix, or a router that
// strips the prefix. The service's root ("" or "/") answers the greeting.
type Handler struct {
	srv   *transports.Server
	table *session.Table
	log   *slog.Logger
}

// New returns a handler that calls fn, in a new goroutine, for every new
// session. The session closes when fn returns; if fn panics, the panic is
// logged with its stack, the session is closed with CodeInternalError and
// the handler serves on. opts may be nil. New panics, naming the field, if
// an option is out of range (a negative duration, size or count, an
// unknown transport), opts.AllowedOrigins has a malformed entry or
// opts.JSessionCookie is not a valid cookie.
func New(fn func(Session), opts *Options) *Handler {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.validate()
	o.AllowedOrigins = append([]string(nil), o.AllowedOrigins...)
	policy, err := transports.NewOriginPolicy(o.AllowedOrigins, o.CheckOrigin)
	if err != nil {
		panic(err)
	}
	cookie, err := cookieTemplate(o.JSessionCookie)
	if err != nil {
		panic(err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	panicLog := o.Logger
	if panicLog == nil {
		panicLog = slog.Default()
	}
	heartbeat := orDefault(o.HeartbeatDelay, DefaultHeartbeatDelay)
	live := heartbeat + orDefault(o.PongTimeout, DefaultPongTimeout)
	if live < heartbeat { // overflow: as good as never
		live = math.MaxInt64
	}
	maxMsg := orDefault(o.MaxMessageBytes, DefaultMaxMessageBytes)
	table := session.NewTable(session.Config{
		HeartbeatDelay:  heartbeat,
		DisconnectDelay: orDefault(o.DisconnectDelay, DefaultDisconnectDelay),
		// A client's next poll can arrive before its previous, aborted
		// request has been noticed (on a loaded machine, well over 100 ms);
		// a genuinely concurrent receiver still gets 2010 in time for
		// clients' 1 s read timeouts.
		AttachWait:     500 * time.Millisecond,
		MaxQueuedBytes: orDefault(o.MaxQueuedBytes, DefaultMaxQueuedBytes),
		MaxSessions:    orDefault(o.MaxSessions, DefaultMaxSessions),
		MaxPerClient:   o.MaxSessionsPerClient,
		ClientKey:      o.ClientKey,
		Bind:           o.BindSession,
		Metrics:        o.Metrics,
		Logger:         log,
		PanicLogger:    panicLog,
		Wrap:           func(s *session.Session) any { return &conn{s} },
		Accept:         acceptFunc(o.Accept, log),

		MaxRequestBytes: orDefault(o.MaxRequestBytes, DefaultMaxRequestBytes),
	}, func(s *session.Session) { fn(s.Ext().(*conn)) })
	cfg := transports.Config{
		ResponseLimit:        orDefault(o.ResponseLimit, DefaultResponseLimit),
		MaxMessageBytes:      maxMsg,
		MaxMessagesPerBody:   int(max(1, maxMsg/MessageOverhead)),
		WriteTimeout:         orDefault(o.WriteTimeout, DefaultWriteTimeout),
		CookieNeeded:         o.CookieNeeded || o.JSessionCookie != nil,
		Cookie:               cookie,
		ClientURL:            orDefault(o.ClientURL, DefaultClientURL),
		Origins:              policy,
		Hixie76:              o.EnableHixie76,
		WebsocketCompression: o.WebsocketCompression,
		ReadBufferSize:       o.WebsocketReadBufferSize, // 0: pooled reads where possible

		WriteBufferSize: orDefault(o.WebsocketWriteBufferSize, 4096),
		CloseWait:       time.Second,
		LivenessTimeout: live,
		NoStreamHijack:  o.KeepStreamsInNetHTTP,
		Logger:          log,
	}
	for _, t := range o.DisabledTransports {
		switch t {
		case Websocket:
			cfg.NoWebsocket = true
		case RawWebsocket:
			cfg.NoRawWebsocket = true
		case XHRStreaming:
			cfg.NoXHRStreaming = true
		case XHRPolling:
			cfg.NoXHRPolling = true
		case EventSource:
			cfg.NoEventSource = true
		case HTMLFile:
			cfg.NoHTMLFile = true
		case JSONPPolling:
			cfg.NoJSONP = true
		}
	}
	return &Handler{srv: transports.NewServer(cfg, table), table: table, log: log}
}

// validate panics, naming the field, on an option out of range.
func (o *Options) validate() {
	for _, f := range []struct {
		name string
		v    int64
		dur  bool
	}{
		{"HeartbeatDelay", int64(o.HeartbeatDelay), true},
		{"DisconnectDelay", int64(o.DisconnectDelay), true},
		{"WriteTimeout", int64(o.WriteTimeout), true},
		{"PongTimeout", int64(o.PongTimeout), true},
		{"ResponseLimit", int64(o.ResponseLimit), false},
		{"MaxMessageBytes", o.MaxMessageBytes, false},
		{"MaxQueuedBytes", int64(o.MaxQueuedBytes), false},
		{"MaxSessions", int64(o.MaxSessions), false},
		{"MaxSessionsPerClient", int64(o.MaxSessionsPerClient), false},
		{"MaxRequestBytes", int64(o.MaxRequestBytes), false},
		{"WebsocketReadBufferSize", int64(o.WebsocketReadBufferSize), false},
		{"WebsocketWriteBufferSize", int64(o.WebsocketWriteBufferSize), false},
	} {
		if f.v < 0 {
			v := fmt.Sprint(f.v)
			if f.dur {
				v = time.Duration(f.v).String()
			}
			panic(fmt.Sprintf("sockjs: Options.%s is negative (%s); zero means the default", f.name, v))
		}
	}
	for _, t := range o.DisabledTransports {
		switch t {
		case Websocket, RawWebsocket, XHRStreaming, XHRPolling, EventSource, HTMLFile, JSONPPolling:
		default:
			panic(fmt.Sprintf("sockjs: Options.DisabledTransports has an unknown transport %q", t))
		}
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.srv.ServeHTTP(w, r)
}

// Shutdown stops the service: new sessions are refused with 503, every open
// session is closed with CodeGoingAway (its receiver, if any, gets the close
// frame), and Shutdown waits until every session function has returned and
// every receiving request has finished. If ctx ends first it returns
// ctx.Err(). http.Server.Shutdown does not wait for websockets or long
// polls: call this first (for example from Server.RegisterOnShutdown, or
// before Server.Shutdown). It may be called more than once.
func (h *Handler) Shutdown(ctx context.Context) error {
	return h.table.Shutdown(ctx, session.CloseError{Code: CodeGoingAway, Reason: "Going away"})
}

// Sessions returns the number of open sessions.
func (h *Handler) Sessions() int { return h.table.Len() }

// Mount registers h on mux at prefix (for example "/echo"): both the exact
// prefix, which answers the greeting, and everything below it. Note that
// http.ServeMux redirects paths it considers unclean ("/echo//x"); no
// SockJS client sends those. A *Handler routes on the path after the
// prefix without copying the request, as http.StripPrefix would; its
// sessions' Request keeps the URL as sent. Any other handler is mounted
// with http.StripPrefix. A prefix of "/" (or "") mounts h at the root:
// h gets every path mux has no other pattern for.
func Mount(mux *http.ServeMux, prefix string, h http.Handler) {
	prefix = "/" + strings.Trim(prefix, "/")
	if prefix == "/" {
		// Nothing to strip: h routes on the whole path ("/info").
		mux.Handle("/", h)
		return
	}
	sh := http.StripPrefix(prefix, h)
	if hh, ok := h.(*Handler); ok {
		// The handler routes on the path after the prefix itself:
		// http.StripPrefix would copy every request (and its URL) to
		// strip it, the largest allocation of an xhr_send.
		sh = &mounted{h: hh, prefix: prefix, escaped: (&url.URL{Path: prefix}).EscapedPath(), strip: sh}
	}
	mux.Handle(prefix, sh)
	mux.Handle(prefix+"/", sh)
}

// mounted serves a Handler at a prefix without copying requests: the
// handler routes on the escaped path after the prefix, and a session's
// Request keeps the URL as the client sent it.
type mounted struct {
	h       *Handler
	prefix  string
	escaped string       // prefix as it starts an escaped path
	strip   http.Handler // http.StripPrefix, for paths that do not start with escaped
}

func (m *mounted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, m.escaped) || !strings.HasPrefix(r.URL.Path, m.prefix) {
		m.strip.ServeHTTP(w, r) // as http.StripPrefix decides
		return
	}
	m.h.srv.ServeRelative(w, r, p[len(m.escaped):])
}

// acceptFunc adapts Options.Accept to the session core: nil stays nil, a
// *CloseError refuses with its code and reason, any other error with
// CodeRefused.
func acceptFunc(accept func(Session) error, log *slog.Logger) func(*session.Session) *session.CloseError {
	if accept == nil {
		return nil
	}
	return func(s *session.Session) *session.CloseError {
		err := accept(s.Ext().(*conn))
		if err == nil {
			return nil
		}
		var ce *CloseError
		if errors.As(err, &ce) {
			return &session.CloseError{Code: ce.Code, Reason: ce.Reason}
		}
		log.Debug("sockjs: session refused", "session", s.ID(), "transport", s.Transport(), "err", err)
		return &session.CloseError{Code: CodeRefused, Reason: "Refused"}
	}
}

// cookieTemplate checks Options.JSessionCookie and fills its defaults; nil
// means the classic JSESSIONID=<value>; Path=/.
func cookieTemplate(c *http.Cookie) (http.Cookie, error) {
	if c == nil {
		return http.Cookie{Name: "JSESSIONID", Path: "/"}, nil
	}
	t := *c
	if t.Name == "" {
		t.Name = "JSESSIONID"
	}
	if t.Path == "" {
		t.Path = "/"
	}
	t.Value = "dummy"
	t.Raw, t.Unparsed = "", nil
	if err := t.Valid(); err != nil {
		return t, fmt.Errorf("sockjs: Options.JSessionCookie: %w", err)
	}
	if t.SameSite == http.SameSiteNoneMode && !t.Secure {
		return t, errors.New("sockjs: Options.JSessionCookie: SameSite=None needs Secure (browsers drop the cookie otherwise)")
	}
	return t, nil
}
