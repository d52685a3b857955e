// Command chat is a small chat room on SockJS: a web page (sockjs-client)
// and a service at /chat whose sessions join a room, given by the ?room=
// query parameter, under the name given by ?nick=, and publish what they
// send to everyone else in the room through a hub (no echo: the page shows
// its own messages itself). A session first hears who is in the room
// (hub presence), then "alice joined" and "alice left" as it happens; GET
// /members?room= gives the member list as JSON.
//
// One process by default; with -redis, several processes that share a Redis
// server form one chat (put nginx in front of them: ../nginx), and the
// member list is the whole cluster's, kept in Redis: the members of a
// process that dies without leaving stay listed for at most -presence-ttl.
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
	ID   string `json:"id,omitempty"`   // the member's hub.Member.ID (join, leave)
}

// memberList is what a session hears first, and what GET /members answers.
type memberList struct {
	Type    string       `json:"type"`           // "members"
	Node    string       `json:"node,omitempty"` // the node answering
	Count   int          `json:"count"`          // members in all
	Members []memberInfo `json:"members"`        // up to maxListed of them
}

type memberInfo struct {
	ID   string `json:"id"`
	Nick string `json:"nick"`
	Node string `json:"node,omitempty"`
}

// maxListed bounds the members sent in a list.
const maxListed = 200

// run serves until ctx ends. ready, if not nil, receives the listening
// address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	redisAddr := fs.String("redis", "", "Redis server shared by every node (empty: this process only)")
	node := fs.String("name", "", "this node's name, shown with each message")
	clientURL := fs.String("client-url", sockjs.DefaultClientURL, "sockjs-client script for the page and the iframe transports")
	ttl := fs.Duration("presence-ttl", redisbroker.DefaultPresenceTTL, "with -redis: how long the members of a node that died stay listed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	hopts := hub.Options{Node: *node, Logger: log}
	if *redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
		defer rdb.Close()
		b := redisbroker.New(rdb, &redisbroker.Options{Prefix: "chat:", Logger: log})
		defer b.Close()
		p := redisbroker.NewPresence(rdb, &redisbroker.PresenceOptions{Prefix: "chat:", TTL: *ttl, Logger: log})
		defer p.Close()
		hopts.Broker, hopts.Presence = b, p
	}
	h := hub.New(&hopts)

	// Joins and leaves of this node's sessions, told to their room (on
	// every node, through the broker) by one goroutine, which ends when
	// the hub closes.
	watcher := h.WatchPresence(0)
	announced := make(chan struct{})
	go func() {
		defer close(announced)
		for {
			ev, err := watcher.Next(context.Background())
			if err != nil {
				return
			}
			e := event{Type: "leave", Nick: ev.Member.Identity, Node: ev.Member.Node, ID: ev.Member.ID}
			if ev.Joined {
				e.Type = "join"
			}
			b, _ := json.Marshal(e)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := h.Publish(ctx, ev.Topic, string(b)); err != nil && !errors.Is(err, hub.ErrHubClosed) {
				log.Warn("publish failed", "room", ev.Topic, "err", err)
			}
			cancel()
		}
	}()
	// On every return: the hub closed (before the store and the broker,
	// deferred above), so the watcher's goroutine has ended. The normal
	// shutdown below does this first, with a deadline.
	defer func() {
		h.Close(context.Background())
		<-announced
	}()

	members := func(ctx context.Context, room string) (memberList, error) {
		ms, total, err := h.Presence(ctx, room, maxListed)
		l := memberList{Type: "members", Node: *node, Count: total, Members: []memberInfo{}}
		for _, m := range ms {
			l.Members = append(l.Members, memberInfo{ID: m.ID, Nick: m.Identity, Node: m.Node})
		}
		return l, err
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
		if err := h.JoinAs(s.Context(), s, room, nick); err != nil {
			log.Warn("join failed", "room", room, "err", err)
			return
		}
		l, err := members(s.Context(), room)
		if err != nil {
			log.Warn("presence failed", "room", room, "err", err)
		}
		b, _ := json.Marshal(l)
		if s.Send(s.Context(), string(b)) != nil {
			return
		}
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return // the session has left the room: the watcher says so
			}
			text := clean(msg, maxText)
			if text == "" {
				continue
			}
			b, _ := json.Marshal(event{Type: "message", Nick: nick, Text: text, Node: *node})
			if err := h.PublishExcept(s.Context(), room, string(b), s); err != nil {
				log.Warn("publish failed", "room", room, "err", err)
			}
		}
	}, &sockjs.Options{ClientURL: *clientURL, Logger: log})

	mux := http.NewServeMux()
	sockjs.Mount(mux, "/chat", svc)
	mux.HandleFunc("GET /members", func(w http.ResponseWriter, r *http.Request) {
		room := clean(r.URL.Query().Get("room"), maxNick)
		if room == "" {
			room = "lobby"
		}
		l, err := members(r.Context(), room)
		if err != nil {
			http.Error(w, "presence unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(l)
	})
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
	// Sessions first, then the hub (which removes this node's members from
	// Redis and ends the watcher), then the listener.
	err = errors.Join(svc.Shutdown(sctx), h.Close(sctx), srv.Shutdown(sctx))
	<-announced
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
