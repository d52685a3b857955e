// Package echoserver is the four services SockJS test suites expect, on
// one http.Handler: /echo, /disabled_websocket_echo, /cookie_needed_echo
// and /close. cmd/sockjs-echo serves it; protocol-tests runs it in-process.
package echoserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-sockjs/sockjs/sockjs"
)

// Options configures the test services. Zero values are the SockJS
// defaults.
type Options struct {
	HeartbeatDelay  time.Duration
	DisconnectDelay time.Duration
	ClientURL       string
	Logger          *slog.Logger
	// MaxMessageBytes and MaxQueuedBytes are passed to every service.
	MaxMessageBytes int64
	MaxQueuedBytes  int
}

// Server serves the four test services by path prefix. It does not use
// http.ServeMux, whose path cleaning would redirect "/echo//" instead of
// letting the service answer 404.
type Server struct {
	services []service
}

type service struct {
	prefix string
	h      *sockjs.Handler
	strip  http.Handler
}

// New returns the test services: every origin allowed, hixie-76 on.
func New(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	base := func() sockjs.Options {
		return sockjs.Options{
			HeartbeatDelay:  o.HeartbeatDelay,
			DisconnectDelay: o.DisconnectDelay,
			ClientURL:       o.ClientURL,
			Logger:          o.Logger,
			MaxMessageBytes: o.MaxMessageBytes,
			MaxQueuedBytes:  o.MaxQueuedBytes,
			AllowedOrigins:  []string{"*"},
			EnableHixie76:   true,
		}
	}
	echoOpts := base()
	echoOpts.ResponseLimit = 4096
	disabledOpts := base()
	disabledOpts.DisabledTransports = []sockjs.Transport{sockjs.Websocket}
	cookieOpts := base()
	cookieOpts.CookieNeeded = true
	closeOpts := base()

	s := &Server{}
	s.add("/echo", sockjs.New(Echo, &echoOpts))
	s.add("/disabled_websocket_echo", sockjs.New(Echo, &disabledOpts))
	s.add("/cookie_needed_echo", sockjs.New(Echo, &cookieOpts))
	s.add("/close", sockjs.New(func(sess sockjs.Session) { sess.Close(3000, "Go away!") }, &closeOpts))
	return s
}

func (s *Server) add(prefix string, h *sockjs.Handler) {
	s.services = append(s.services, service{prefix: prefix, h: h, strip: http.StripPrefix(prefix, h)})
}

// Echo sends every message back to the client until the session closes.
func Echo(sess sockjs.Session) {
	ctx := sess.Context()
	for {
		msg, err := sess.Recv(ctx)
		if err != nil {
			return
		}
		if err := sess.Send(ctx, msg); err != nil {
			return
		}
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	for _, svc := range s.services {
		if rest, ok := strings.CutPrefix(p, svc.prefix); ok && (rest == "" || rest[0] == '/') {
			svc.strip.ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}

// Shutdown shuts every service down (see sockjs.Handler.Shutdown).
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, svc := range s.services {
		errs = append(errs, svc.h.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
