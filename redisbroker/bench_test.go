package redisbroker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/redisbroker"
)

// benchNode is a node on the test's redis-server: a broker, and a
// presence store if presence is set.
func benchNode(b *testing.B, prefix string, presence bool) *hub.Hub {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: 32})
	br := redisbroker.New(rdb, &redisbroker.Options{Prefix: prefix})
	opts := &hub.Options{Broker: br, Node: "bench"}
	var p *redisbroker.Presence
	if presence {
		p = redisbroker.NewPresence(rdb, &redisbroker.PresenceOptions{Prefix: prefix})
		opts.Presence = p
	}
	h := hub.New(opts)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Close(ctx)
		if p != nil {
			p.Close()
		}
		br.Close()
		rdb.Close()
	})
	return h
}

// BenchmarkJoinLeaveRedis measures a session joining a topic and leaving
// it, from 32 goroutines at once, on a node with a Redis broker: without
// presence (as before presence existed), and with redisbroker.Presence,
// where each JoinAs waits until its member is in Redis (the hub batches
// the joins and leaves of all goroutines into one pipeline per round
// trip). A member stays in the topic, so its subscription stays up.
func BenchmarkJoinLeaveRedis(b *testing.B) {
	if redisAddr == "" {
		b.Skip("no Redis server")
	}
	for _, presence := range []bool{false, true} {
		name := "broker"
		if presence {
			name = "broker+presence"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			h := benchNode(b, "bench-jl:", presence)
			if err := h.JoinAs(ctx, newCollector("stay"), "t", "stay"); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(16) // 16 × GOMAXPROCS goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s := newCollector("s")
				for pb.Next() {
					if err := h.JoinAs(ctx, s, "t", "alice"); err != nil {
						b.Error(err)
						return
					}
					h.Leave(s, "t")
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "join+leave/s")
		})
	}
	// One goroutine: each JoinAs waits for its own round trip.
	b.Run("broker+presence/serial", func(b *testing.B) {
		ctx := context.Background()
		h := benchNode(b, "bench-jl1:", true)
		s := newCollector("s")
		for b.Loop() {
			if err := h.JoinAs(ctx, s, "t", "alice"); err != nil {
				b.Fatal(err)
			}
			h.Leave(s, "t")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "join+leave/s")
	})
}

// BenchmarkPresenceRedis measures Presence (100 of the members, and the
// count) and PresenceCount on a topic of 1000 members in Redis, one call
// at a time.
func BenchmarkPresenceRedis(b *testing.B) {
	if redisAddr == "" {
		b.Skip("no Redis server")
	}
	ctx := context.Background()
	h := benchNode(b, "bench-p:", true)
	for i := range 1000 {
		if err := h.JoinAs(ctx, newCollector(fmt.Sprint(i)), "t", fmt.Sprintf("user-%04d", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("members-100", func(b *testing.B) {
		for b.Loop() {
			ms, total, err := h.Presence(ctx, "t", 100)
			if err != nil || len(ms) != 100 || total != 1000 {
				b.Fatalf("%d members, %d, %v", len(ms), total, err)
			}
		}
	})
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			if n, err := h.PresenceCount(ctx, "t"); err != nil || n != 1000 {
				b.Fatalf("%d, %v", n, err)
			}
		}
	})
}
