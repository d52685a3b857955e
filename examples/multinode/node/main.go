// Command node is one process of the multi-node test (../run.sh): a SockJS
// service at /chat whose sessions join the room named by the ?room= query
// parameter of their URL (sockjs-client and our Go client keep the query on
// every request), hear "hello <node name>" once they have joined, and
// publish every message they send to the room through Redis.
//
//	node -addr 127.0.0.1:8081 -name A -redis 127.0.0.1:6379
//
// JSESSIONID handling is on (Options.CookieNeeded), so that a load balancer
// can route on that cookie; every origin is allowed, as a test server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/redisbroker"
	"github.com/go-sockjs/sockjs/sockjs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	name := fs.String("name", "A", "node name, sent to each session as \"hello <name>\"")
	redisAddr := fs.String("redis", "127.0.0.1:6379", "Redis server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("node", *name)

	rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
	defer rdb.Close()
	broker := redisbroker.New(rdb, &redisbroker.Options{Logger: log})
	defer broker.Close()
	h := hub.New(&hub.Options{Broker: broker, Logger: log})

	svc := sockjs.New(func(s sockjs.Session) {
		room := s.Request().URL.Query().Get("room")
		if room == "" {
			room = "lobby"
		}
		if err := h.Join(s.Context(), s, room); err != nil {
			log.Warn("join failed", "room", room, "err", err)
			return
		}
		if err := s.Send(s.Context(), "hello "+*name); err != nil {
			return
		}
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			if err := h.Publish(s.Context(), room, msg); err != nil {
				log.Warn("publish failed", "room", room, "err", err)
			}
		}
	}, &sockjs.Options{CookieNeeded: true, AllowedOrigins: []string{"*"}, Logger: log})

	mux := http.NewServeMux()
	sockjs.Mount(mux, "/chat", svc)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok", *name)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "redis", *redisAddr)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(svc.Shutdown(sctx), h.Close(sctx), srv.Shutdown(sctx))
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return err
}
