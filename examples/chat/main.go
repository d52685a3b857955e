// Command chat is a small chat room on SockJS: a web page (sockjs-client)
// and a service at /chat whose sessions join a room, given by the ?room=
// query parameter, and publish what they send to it through a hub.
//
// One process by default; with -redis, several processes that share a Redis
// server form one chat (put nginx in front of them: ../nginx).
//
//	go run ./chat                                   # http://127.0.0.1:8080/
//	go run ./chat -addr 127.0.0.1:8081 -redis 127.0.0.1:6379 -name A
//	go run ./chat -addr 127.0.0.1:8082 -redis 127.0.0.1:6379 -name B
//
// The page loads sockjs-client from -client-url (sockjs-client 1.6.1 from
// jsDelivr by default); the server's iframe page loads the same script, as
// the iframe-based transports require.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/redisbroker"
	"github.com/go-sockjs/sockjs/sockjs"
)

//go:embed index.html
var indexHTML string

var page = template.Must(template.New("index").Parse(indexHTML))

// Limits on what a client may send.
const (
	maxNick = 24   // runes
	maxText = 1000 // runes
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// event is what the room hears, as JSON.
type event struct {
	Type string `json:"type"` // "message", "join" or "leave"
	Nick string `json:"nick"`
	Text string `json:"text,omitempty"`
	Node string `json:"node,omitempty"` // the node the sender is connected to
}

// run serves until ctx ends. ready, if not nil, receives the listening
// address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	redisAddr := fs.String("redis", "", "Redis server shared by every node (empty: this process only)")
	node := fs.String("name", "", "this node's name, shown with each message")
	clientURL := fs.String("client-url", sockjs.DefaultClientURL, "sockjs-client script for the page and the iframe transports")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	var hopts hub.Options
	if *redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
		defer rdb.Close()
		b := redisbroker.New(rdb, &redisbroker.Options{Prefix: "chat:", Logger: log})
		defer b.Close()
		hopts.Broker = b
	}
	hopts.Logger = log
	h := hub.New(&hopts)

	publish := func(ctx context.Context, room string, e event) {
		e.Node = *node
		b, _ := json.Marshal(e)
		if err := h.Publish(ctx, room, string(b)); err != nil {
			log.Warn("publish failed", "room", room, "err", err)
		}
	}
	svc := sockjs.New(func(s sockjs.Session) {
		q := s.Request().URL.Query()
		room := clean(q.Get("room"), maxNick)
		if room == "" {
			room = "lobby"
		}
		nick := clean(q.Get("nick"), maxNick)
		if nick == "" {
			nick = "guest-" + s.ID()[:min(4, len(s.ID()))]
		}
		if err := h.Join(s.Context(), s, room); err != nil {
			return
		}
		publish(s.Context(), room, event{Type: "join", Nick: nick})
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			publish(ctx, room, event{Type: "leave", Nick: nick})
		}()
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			if text := clean(msg, maxText); text != "" {
				publish(s.Context(), room, event{Type: "message", Nick: nick, Text: text})
			}
		}
	}, &sockjs.Options{ClientURL: *clientURL, Logger: log})

	mux := http.NewServeMux()
	sockjs.Mount(mux, "/chat", svc)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		page.Execute(w, map[string]string{"ClientURL": *clientURL, "Node": *node})
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("chat listening on http://"+ln.Addr().String()+"/", "redis", *redisAddr, "node", *node)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Sessions first (their leave notices still go out), then the hub,
	// then the listener.
	err = errors.Join(svc.Shutdown(sctx), h.Close(sctx), srv.Shutdown(sctx))
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// clean trims s, drops control characters and invalid UTF-8, and cuts it
// to max runes.
func clean(s string, max int) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			continue
		}
		if n == max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
