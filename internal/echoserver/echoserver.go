// Package echoserver is a placeholder; the real four test services land soon.
package echoserver

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Options configures the test services.
type Options struct {
	HeartbeatDelay  time.Duration
	DisconnectDelay time.Duration
	ClientURL       string
	Logger          *slog.Logger
}

// Server serves /echo, /disabled_websocket_echo, /cookie_needed_echo and /close.
type Server struct{}

// New returns the test services.
func New(opts *Options) *Server { return &Server{} }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }

// Shutdown closes every session and waits for their handlers.
func (s *Server) Shutdown(ctx context.Context) error { return nil }
