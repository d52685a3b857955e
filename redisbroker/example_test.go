package redisbroker_test

import (
	"context"
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
	h := hub.New(&hub.Options{Broker: broker})

	chat := sockjs.New(func(s sockjs.Session) {
		// Join returns once this node's Redis subscription is confirmed:
		// from then on, messages published on any node reach s.
		if err := h.Join(s.Context(), s, "lobby"); err != nil {
			return
		}
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			h.Publish(s.Context(), "lobby", msg) // PUBLISH chat:lobby
		}
	}, &sockjs.Options{CookieNeeded: true})
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/chat", chat)
	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: mux}
	srv.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		chat.Shutdown(ctx) // sessions,
		h.Close(ctx)       // hub,
		broker.Close()     // broker,
		rdb.Close()        // Redis client, in that order
	})
	_ = srv // srv.ListenAndServe()
}
