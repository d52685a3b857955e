// Command sockjs-echo serves the four SockJS test services on one listener:
// /echo, /disabled_websocket_echo, /cookie_needed_echo and /close, for the
// official protocol suite, protocol-tests and browser tests.
//
//	go run ./cmd/sockjs-echo [-addr 127.0.0.1:8081] [-client-url URL]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-sockjs/sockjs/internal/echoserver"
	"github.com/go-sockjs/sockjs/sockjs"
)

func main() {
	if err := run(); err != nil {
		slog.Error("sockjs-echo", "err", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	clientURL := flag.String("client-url", sockjs.DefaultClientURL, "sockjs-client script loaded by the iframe page")
	debug := flag.Bool("debug", false, "log at debug level")
	flag.Parse()

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	echo := echoserver.New(&echoserver.Options{ClientURL: *clientURL, Logger: log})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: echo,
		// Bounds for slow or idle clients. No WriteTimeout: it would cut
		// streams and long polls; the SockJS handler sets per-write
		// deadlines itself.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "sockjs-echo: listening on http://%s\n", ln.Addr())
	log.Info("listening", "url", "http://"+ln.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(echo.Shutdown(sctx), srv.Shutdown(sctx))
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
