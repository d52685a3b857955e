package redisbroker_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/redisbroker"
	"github.com/go-sockjs/sockjs/sockjs"
)

// One node of a chat that runs on several processes: each one runs this
// with the same Redis server, behind a load balancer with sticky sessions
// (see examples/nginx in this repository).
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	broker := redisbroker.New(rdb, &redisbroker.Options{Prefix: "chat:"})
	// Who is in each room, for every node; a node that dies leaves its
	// members listed for at most the TTL.
	presence := redisbroker.NewPresence(rdb, &redisbroker.PresenceOptions{Prefix: "chat:", TTL: 30 * time.Second})
	h := hub.New(&hub.Options{Broker: broker, Presence: presence, Node: "web-1"})

	chat := sockjs.New(func(s sockjs.Session) {
		// JoinAs returns once this node's Redis subscription is confirmed
		// and the member is in Redis: from then on, messages published on
		// any node reach s, and every node lists it.
		user := s.Request().URL.Query().Get("user")
		if err := h.JoinAs(s.Context(), s, "lobby", user); err != nil {
			return
		}
		_, n, _ := h.Presence(s.Context(), "lobby", 100) // one round trip
		s.Send(s.Context(), fmt.Sprintf("%d in the lobby", n))
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			h.PublishExcept(s.Context(), "lobby", msg, s) // PUBLISH chat:lobby, not back to s
		}
	}, &sockjs.Options{CookieNeeded: true})
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/chat", chat)
	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: mux}
	srv.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		chat.Shutdown(ctx) // sessions,
		h.Close(ctx)       // hub (its members leave Redis),
		presence.Close()   // presence store,
		broker.Close()     // broker,
		rdb.Close()        // Redis client, in that order
	})
	_ = srv // srv.ListenAndServe()
}
