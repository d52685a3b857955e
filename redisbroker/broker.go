// Package redisbroker is a hub.Broker on Redis pub/sub: hubs on several
// processes that share a Redis server deliver every publication to their
// topic's sessions on every process.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	b := redisbroker.New(rdb, nil)
//	h := hub.New(&hub.Options{Broker: b})
//	// ... serve ...
//	h.Close(ctx) // first the hubs,
//	b.Close()    // then the broker,
//	rdb.Close()  // then the client, which stays the caller's.
//
// Each topic is the Redis channel Options.Prefix + topic (other programs may
// PUBLISH to it too; see hub.Broker for the messages a hub frames). A
// Broker holds one
// subscriber connection (a go-redis PubSub) for all the channels its hubs
// need, subscribes a channel while at least one subscription wants it, and
// publishes with PUBLISH on the client's pool.
//
// Presence (NewPresence) is a hub.PresenceStore on the same Redis server:
// the members of every topic, for every process, with an expiry so that a
// process that dies does not leave them behind for long.
//
// # Guarantees
//
// Redis pub/sub delivers at most once: whatever is published while the
// subscriber connection is down is lost for this process. After a
// connection failure go-redis reconnects and subscribes the channels again;
// Subscribe calls waiting meanwhile fail, and the hub retries them. Redis
// delivers one channel's messages in the order it executed the PUBLISH
// commands, to every subscriber, so every process sees one order per topic.
//
// Subscribe returns once Redis has executed the SUBSCRIBE: the broker sends
// a PING with a unique payload after it on the same connection and waits
// for the answer, which Redis sends only after the commands before it.
//
// # Liveness
//
// A connection that stays silent for Options.HealthCheckInterval gets a
// PING; when a second interval passes without any answer, the broker
// replaces the connection (and subscribes everything again), so a stalled
// server or a dead network path is noticed within two intervals.
//
// # Concurrency
//
// All methods are safe for concurrent use. A Broker runs one goroutine, the
// only reader of the subscriber connection, which calls the subscriptions'
// functions; Close ends it. The health check runs from a time.AfterFunc
// timer and holds no goroutine between checks.
package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sockjs/sockjs/hub"
)

// Defaults, used for zero fields of Options.
const (
	DefaultPrefix              = "sockjs:"
	DefaultHealthCheckInterval = 15 * time.Second
)

// Delays between attempts to read again after the subscriber connection
// failed: doubling from the first to the second.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = 2 * time.Second
)

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("redisbroker: closed")

// ErrReconnected is returned by a Subscribe that was waiting for Redis's
// confirmation when the subscriber connection failed or was replaced. The
// hub retries such subscriptions.
var ErrReconnected = errors.New("redisbroker: connection lost before the subscription was confirmed")

// Options configures a Broker. The zero value (or a nil *Options) is a
// valid configuration.
type Options struct {
	// Prefix is put before each topic to name its Redis channel, so that
	// several applications can share a Redis server. Empty means "sockjs:".
	Prefix string

	// HealthCheckInterval is how long the subscriber connection may stay
	// silent before the broker sends it a PING; without an answer within
	// one more interval, the connection is replaced. Zero means 15 s.
	HealthCheckInterval time.Duration

	// Logger receives connection failures. Nil means no logging.
	Logger *slog.Logger
}

// Broker is a hub.Broker on Redis pub/sub. Create it with New.
type Broker struct {
	rdb      redis.UniversalClient
	prefix   string
	interval time.Duration
	log      *slog.Logger

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the reading goroutine has returned

	// ioMu orders the commands written on the subscriber connection
	// (SUBSCRIBE, UNSUBSCRIBE, PING) and the replacement of the connection.
	ioMu   sync.Mutex
	closed bool // guarded by ioMu
	ps     atomic.Pointer[redis.PubSub]
	health *time.Timer

	// mu guards the maps; the reading goroutine holds it (read) while it
	// calls subscription functions, which must not block.
	mu       sync.RWMutex
	channels map[string]map[*subscription]struct{}
	waiters  map[string]chan error // PING payload → the Subscribe waiting for it

	seq          atomic.Uint64
	lastActivity atomic.Int64 // unix nanoseconds of the last reply read
	pingPending  atomic.Bool  // a health PING is unanswered
}

var _ hub.Broker = (*Broker)(nil)

// New returns a broker on rdb and starts its goroutine. The broker does
// not own rdb: close rdb after the broker.
func New(rdb redis.UniversalClient, opts *Options) *Broker {
	var o Options
	if opts != nil {
		o = *opts
	}
	b := &Broker{
		rdb:      rdb,
		prefix:   o.Prefix,
		interval: o.HealthCheckInterval,
		log:      o.Logger,
		done:     make(chan struct{}),
		channels: make(map[string]map[*subscription]struct{}),
		waiters:  make(map[string]chan error),
	}
	if b.prefix == "" {
		b.prefix = DefaultPrefix
	}
	if b.interval <= 0 {
		b.interval = DefaultHealthCheckInterval
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.ps.Store(rdb.Subscribe(b.ctx))
	b.lastActivity.Store(time.Now().UnixNano())
	b.ioMu.Lock() // checkHealth reads b.health under it
	b.health = time.AfterFunc(b.interval, b.checkHealth)
	b.ioMu.Unlock()
	go b.read()
	return b
}

// Publish sends msg to the topic's channel with PUBLISH.
func (b *Broker) Publish(ctx context.Context, topic, msg string) error {
	if b.ctx.Err() != nil {
		return ErrClosed
	}
	if err := b.rdb.Publish(ctx, b.prefix+topic, msg).Err(); err != nil {
		return fmt.Errorf("redisbroker: publish to %q: %w", topic, err)
	}
	return nil
}

// subscription is one Subscribe; several may share a channel.
type subscription struct {
	b       *Broker
	channel string
	fn      func(string)
	done    atomic.Bool
}

// Subscribe subscribes the topic's channel if no other subscription of
// this broker has, and returns once Redis has confirmed it (see the
// package documentation). fn is called from the broker's goroutine.
func (b *Broker) Subscribe(ctx context.Context, topic string, fn func(msg string)) (hub.Subscription, error) {
	sub := &subscription{b: b, channel: b.prefix + topic, fn: fn}
	token := fmt.Sprintf("redisbroker-%d", b.seq.Add(1))
	confirmed := make(chan error, 1)

	b.ioMu.Lock()
	if b.closed {
		b.ioMu.Unlock()
		return nil, ErrClosed
	}
	b.mu.Lock()
	subs := b.channels[sub.channel]
	first := subs == nil
	if first {
		subs = make(map[*subscription]struct{})
		b.channels[sub.channel] = subs
	}
	subs[sub] = struct{}{}
	b.waiters[token] = confirmed
	b.mu.Unlock()
	ps := b.ps.Load()
	var err error
	if first {
		err = ps.Subscribe(ctx, sub.channel)
	}
	if err == nil {
		err = ps.Ping(ctx, token)
	}
	b.ioMu.Unlock()

	if err == nil {
		select {
		case err = <-confirmed:
		case <-ctx.Done():
			err = ctx.Err()
		case <-b.ctx.Done():
			err = ErrClosed
		}
	}
	if err != nil {
		b.mu.Lock()
		delete(b.waiters, token)
		b.mu.Unlock()
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.interval)
		sub.Unsubscribe(uctx)
		cancel()
		return nil, fmt.Errorf("redisbroker: subscribe to %q: %w", topic, err)
	}
	return sub, nil
}

// Unsubscribe cancels the subscription, and unsubscribes its channel when
// no other subscription of the broker wants it.
func (s *subscription) Unsubscribe(ctx context.Context) error {
	if s.done.Swap(true) {
		return nil
	}
	b := s.b
	b.ioMu.Lock()
	defer b.ioMu.Unlock()
	b.mu.Lock()
	subs := b.channels[s.channel]
	delete(subs, s)
	last := len(subs) == 0
	if last {
		delete(b.channels, s.channel)
	}
	b.mu.Unlock()
	if !last || b.closed {
		return nil
	}
	if err := b.ps.Load().Unsubscribe(ctx, s.channel); err != nil {
		return fmt.Errorf("redisbroker: unsubscribe %q: %w", s.channel, err)
	}
	return nil
}

// read is the broker's goroutine, the only reader of the subscriber
// connection: it passes messages to the subscriptions and answers to the
// Subscribe calls waiting for them.
func (b *Broker) read() {
	defer close(b.done)
	delay := minRetryDelay
	for {
		ps := b.ps.Load()
		msg, err := ps.Receive(b.ctx)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			b.failWaiters(ErrReconnected)
			if b.ps.Load() != ps {
				continue // replaced by the health check
			}
			b.log.Warn("redisbroker: subscriber connection failed; reconnecting", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-b.ctx.Done():
				return
			}
			delay = min(2*delay, maxRetryDelay)
			continue
		}
		delay = minRetryDelay
		b.lastActivity.Store(time.Now().UnixNano())
		b.pingPending.Store(false)
		switch m := msg.(type) {
		case *redis.Message:
			b.dispatch(m.Channel, m.Payload)
		case *redis.Pong:
			b.confirm(m.Payload)
		}
	}
}

func (b *Broker) dispatch(channel, payload string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.channels[channel] {
		s.fn(payload)
	}
}

func (b *Broker) confirm(token string) {
	b.mu.Lock()
	c := b.waiters[token]
	delete(b.waiters, token)
	b.mu.Unlock()
	if c != nil {
		c <- nil
	}
}

// failWaiters fails every Subscribe waiting for a confirmation: its PING
// went out on a connection that is gone.
func (b *Broker) failWaiters(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for token, c := range b.waiters {
		c <- err
		delete(b.waiters, token)
	}
}

// checkHealth runs from the health timer: it pings a silent connection, and
// replaces one that did not answer the previous ping.
func (b *Broker) checkHealth() {
	b.ioMu.Lock()
	defer b.ioMu.Unlock()
	if b.closed {
		return
	}
	defer b.health.Reset(b.interval)
	idle := time.Since(time.Unix(0, b.lastActivity.Load()))
	if idle < b.interval {
		return
	}
	if !b.pingPending.Load() {
		ctx, cancel := context.WithTimeout(b.ctx, b.interval)
		defer cancel()
		b.pingPending.Store(true)
		if err := b.ps.Load().Ping(ctx, "redisbroker-health"); err == nil {
			return
		}
	}
	// No answer for a whole interval, or the PING could not be written:
	// start over on a new connection, subscribed to every channel.
	b.log.Warn("redisbroker: subscriber connection silent; replacing it", "idle", idle)
	b.mu.RLock()
	channels := make([]string, 0, len(b.channels))
	for c := range b.channels {
		channels = append(channels, c)
	}
	b.mu.RUnlock()
	ctx, cancel := context.WithTimeout(b.ctx, b.interval)
	defer cancel()
	old := b.ps.Load()
	b.ps.Store(b.rdb.Subscribe(ctx, channels...))
	b.pingPending.Store(false)
	b.lastActivity.Store(time.Now().UnixNano())
	old.Close() // the reading goroutine's Receive fails and moves to the new one
}

// Close ends the broker: it closes the subscriber connection and waits for
// the broker's goroutine. Subscriptions end without being unsubscribed one
// by one (closing the connection ends them in Redis). Close the hubs
// first. Later calls return nil.
func (b *Broker) Close() error {
	b.ioMu.Lock()
	if b.closed {
		b.ioMu.Unlock()
		return nil
	}
	b.closed = true
	b.health.Stop()
	b.cancel()
	err := b.ps.Load().Close()
	b.ioMu.Unlock()
	<-b.done
	if err != nil {
		return fmt.Errorf("redisbroker: close: %w", err)
	}
	return nil
}
