package sockjs_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/go-sockjs/sockjs/sockjs"
)

// An echo service mounted at /echo.
func Example() {
	echo := sockjs.New(func(s sockjs.Session) {
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			if err := s.Send(s.Context(), msg); err != nil {
				return
			}
		}
	}, nil)
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/echo", echo)
	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: mux}
	srv.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		echo.Shutdown(ctx)
	})
	_ = srv // srv.ListenAndServe()
}

// Options whose zero values are the defaults: here, cross-origin pages of
// one site, sticky-session cookies, and a smaller queue.
func ExampleNew_options() {
	h := sockjs.New(func(s sockjs.Session) {}, &sockjs.Options{
		AllowedOrigins: []string{"https://app.example.com", "*.example.com"},
		CookieNeeded:   true,
		MaxQueuedBytes: 256 << 10,
		ClientURL:      "/static/sockjs.min.js",
	})
	_ = h
}

// Pushing to a client without waiting forever on a slow one: Send blocks
// while the session's queue is full, so bound it with a deadline and close
// the session when it passes.
func ExampleSession_send() {
	push := func(s sockjs.Session, msg string) {
		ctx, cancel := context.WithTimeout(s.Context(), 2*time.Second)
		defer cancel()
		if err := s.Send(ctx, msg); errors.Is(err, context.DeadlineExceeded) {
			s.Close(3001, "Too slow")
		}
	}
	_ = push
}

// Telling how a session ended.
func ExampleCloseError() {
	_ = sockjs.New(func(s sockjs.Session) {
		for {
			if _, err := s.Recv(context.Background()); err != nil {
				var ce *sockjs.CloseError
				if errors.As(err, &ce) {
					log.Printf("session %s closed: %d %s", s.ID(), ce.Code, ce.Reason)
				}
				return
			}
		}
	}, nil)
}
