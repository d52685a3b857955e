package redisbroker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/redisbroker"
	"github.com/go-sockjs/sockjs/sockjs"
)

// collector is a sockjs.Session that keeps what it is sent.
type collector struct {
	id     string
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	msgs   []string
	got    chan struct{} // one slot: a message arrived
}

func newCollector(id string) *collector {
	c := &collector{id: id, got: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

func (c *collector) ID() string                               { return c.id }
func (c *collector) Transport() sockjs.Transport              { return sockjs.XHRPolling }
func (c *collector) Request() *http.Request                   { return nil }
func (c *collector) Context() context.Context                 { return c.ctx }
func (c *collector) Recv(ctx context.Context) (string, error) { <-ctx.Done(); return "", ctx.Err() }
func (c *collector) Close(int, string) error                  { c.cancel(); return nil }

func (c *collector) Send(ctx context.Context, msg string) error {
	if c.ctx.Err() != nil {
		return sockjs.ErrClosed
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, msg)
	c.mu.Unlock()
	select {
	case c.got <- struct{}{}:
	default:
	}
	return nil
}

func (c *collector) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// waitFor waits until the collector holds n messages.
func (c *collector) waitFor(ctx context.Context, n int) ([]string, error) {
	for {
		if got := c.received(); len(got) >= n {
			return got, nil
		}
		select {
		case <-c.got:
		case <-ctx.Done():
			return c.received(), fmt.Errorf("session %s: %d of %d messages: %w", c.id, len(c.received()), n, ctx.Err())
		}
	}
}

// node is one process of a multi-node deployment: its own Redis client,
// broker and hub.
type node struct {
	rdb    *redis.Client
	broker *redisbroker.Broker
	hub    *hub.Hub
}

func newNode(t *testing.T, addr string, opts *redisbroker.Options) *node {
	t.Helper()
	return newNamedNode(t, addr, "", opts)
}

// newNamedNode is newNode with a Redis client name (CLIENT SETNAME).
func newNamedNode(t *testing.T, addr, name string, opts *redisbroker.Options) *node {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1, ClientName: name})
	b := redisbroker.New(rdb, opts)
	h := hub.New(&hub.Options{Broker: b, BrokerTimeout: 2 * time.Second})
	n := &node{rdb: rdb, broker: b, hub: h}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("hub close: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("broker close: %v", err)
		}
		rdb.Close()
	})
	return n
}

// numSub returns how many Redis connections subscribe to the channel.
func numSub(t *testing.T, channel string) int64 {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	m, err := rdb.PubSubNumSub(t.Context(), channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return m[channel]
}

// TestTwoNodes publishes from two nodes at once to sessions on both: every
// session gets every message, all in one order.
func TestTwoNodes(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 20*time.Second)
	prefix := &redisbroker.Options{Prefix: "test-two:"}
	nodes := []*node{newNode(t, redisAddr, prefix), newNode(t, redisAddr, prefix)}
	var sessions []*collector
	for i, n := range nodes {
		for j := range 3 {
			s := newCollector(fmt.Sprintf("n%d-%d", i, j))
			if err := n.hub.Join(ctx, s, "room"); err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, s)
		}
	}
	if got := numSub(t, "test-two:room"); got != 2 {
		t.Errorf("%d subscribers to the channel, want one per node", got)
	}
	const each = 200
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			for k := range each {
				if err := n.hub.Publish(ctx, "room", fmt.Sprintf("%d/%d", i, k)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	first, err := sessions[0].waitFor(ctx, 2*each)
	if err != nil {
		t.Fatal(err)
	}
	next := []int{0, 0}
	for _, m := range first {
		var i, k int
		fmt.Sscanf(m, "%d/%d", &i, &k)
		if k != next[i] {
			t.Fatalf("message %q out of its publisher's order", m)
		}
		next[i]++
	}
	for _, s := range sessions[1:] {
		got, err := s.waitFor(ctx, 2*each)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, first) {
			t.Fatalf("session %s saw another order than session %s", s.id, sessions[0].id)
		}
	}
}

// TestJoinThenPublish checks Join's promise: once it returns, a message
// published on another node right away reaches the session.
func TestJoinThenPublish(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 20*time.Second)
	opts := &redisbroker.Options{Prefix: "test-jtp:"}
	a, b := newNode(t, redisAddr, opts), newNode(t, redisAddr, opts)
	for i := range 50 {
		topic := fmt.Sprint("t", i)
		s := newCollector(topic)
		if err := a.hub.Join(ctx, s, topic); err != nil {
			t.Fatal(err)
		}
		if err := b.hub.Publish(ctx, topic, "first"); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.waitFor(wctx, 1)
		cancel()
		if err != nil {
			t.Fatalf("round %d: the message published right after Join was lost: %v", i, err)
		}
		s.Close(1000, "")
	}
}

// TestUnsubscribeWhenEmpty: the node's Redis subscription follows its
// members.
func TestUnsubscribeWhenEmpty(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 10*time.Second)
	n := newNode(t, redisAddr, &redisbroker.Options{Prefix: "test-unsub:"})
	s1, s2 := newCollector("1"), newCollector("2")
	for _, s := range []*collector{s1, s2} {
		if err := n.hub.Join(ctx, s, "t"); err != nil {
			t.Fatal(err)
		}
	}
	if got := numSub(t, "test-unsub:t"); got != 1 {
		t.Fatalf("%d subscribers, want 1", got)
	}
	s1.Close(1000, "")
	n.hub.Leave(s2, "t")
	for numSub(t, "test-unsub:t") != 0 {
		if ctx.Err() != nil {
			t.Fatal("the channel stayed subscribed after its last member left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publishUntil publishes to the topic from pub every 50 ms until s has
// received a message.
func publishUntil(t *testing.T, ctx context.Context, pub *node, topic string, s *collector) {
	t.Helper()
	before := len(s.received())
	for i := 0; ; i++ {
		if err := pub.hub.Publish(ctx, topic, fmt.Sprint("probe ", i)); err != nil && ctx.Err() != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := s.waitFor(wctx, before+1)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("no message got through: %v", err)
		}
	}
}

// TestReconnect kills the subscriber connections in Redis: go-redis
// reconnects and subscribes again, and messages flow again.
func TestReconnect(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 15*time.Second)
	opts := &redisbroker.Options{Prefix: "test-reconnect:"}
	sub, pub := newNamedNode(t, redisAddr, "test-reconnect-sub", opts), newNode(t, redisAddr, opts)
	s := newCollector("s")
	if err := sub.hub.Join(ctx, s, "t"); err != nil {
		t.Fatal(err)
	}
	publishUntil(t, ctx, pub, "t", s)
	// Kill this test's subscriber connection only (tests run in parallel).
	list, err := pub.rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name=test-reconnect-sub ") || !strings.Contains(line, " sub=1 ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				if err := pub.rdb.ClientKillByFilter(ctx, "ID", v).Err(); err != nil {
					t.Fatal(err)
				}
				killed++
			}
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d subscriber connections, want 1:\n%s", killed, list)
	}
	publishUntil(t, ctx, pub, "t", s)
	// A new topic joins normally on the new connection.
	s2 := newCollector("s2")
	if err := sub.hub.Join(ctx, s2, "u"); err != nil {
		t.Fatal(err)
	}
	publishUntil(t, ctx, pub, "u", s2)
}

// TestHealthCheck stalls the network path of the subscriber connection
// without closing it: the health check must notice and reconnect.
func TestHealthCheck(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 15*time.Second)
	p := newProxy(t, redisAddr)
	opts := &redisbroker.Options{Prefix: "test-health:", HealthCheckInterval: 100 * time.Millisecond}
	sub := newNode(t, p.addr(), opts)
	pub := newNode(t, redisAddr, opts)
	s := newCollector("s")
	if err := sub.hub.Join(ctx, s, "t"); err != nil {
		t.Fatal(err)
	}
	publishUntil(t, ctx, pub, "t", s)
	p.stall()
	start := time.Now()
	publishUntil(t, ctx, pub, "t", s)
	t.Logf("messages flowed again %v after the stall", time.Since(start).Round(time.Millisecond))
}

// TestSubscribeWhileDown starts a node while Redis cannot be reached: Join
// waits, the hub retries, and once Redis is back the session joins.
func TestSubscribeWhileDown(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 15*time.Second)
	p := newProxy(t, redisAddr)
	p.refuse.Store(true)
	opts := &redisbroker.Options{Prefix: "test-down:"}
	sub := newNode(t, p.addr(), opts)
	pub := newNode(t, redisAddr, opts)
	if err := sub.hub.Publish(ctx, "t", "lost"); err == nil {
		t.Error("Publish with Redis unreachable returned nil")
	}
	s := newCollector("s")
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := sub.hub.Join(short, s, "t"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join with Redis unreachable: %v, want DeadlineExceeded", err)
	}
	p.refuse.Store(false)
	if err := sub.hub.Join(ctx, s, "t"); err != nil {
		t.Fatal(err)
	}
	if err := pub.hub.Publish(ctx, "t", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.waitFor(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func TestClosed(t *testing.T) {
	needRedis(t)
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	b := redisbroker.New(rdb, nil)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := t.Context()
	if err := b.Publish(ctx, "t", "x"); !errors.Is(err, redisbroker.ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if _, err := b.Subscribe(ctx, "t", func(string) {}); !errors.Is(err, redisbroker.ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

// TestSharedBroker: two hubs of one process on one broker share its
// channel; the channel stays subscribed while either wants it.
func TestSharedBroker(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 10*time.Second)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	b := redisbroker.New(rdb, &redisbroker.Options{Prefix: "test-shared:"})
	defer b.Close()
	h1, h2 := hub.New(&hub.Options{Broker: b}), hub.New(&hub.Options{Broker: b})
	defer h1.Close(ctx)
	defer h2.Close(ctx)
	s1, s2 := newCollector("1"), newCollector("2")
	if err := h1.Join(ctx, s1, "t"); err != nil {
		t.Fatal(err)
	}
	if err := h2.Join(ctx, s2, "t"); err != nil {
		t.Fatal(err)
	}
	h1.Leave(s1, "t")
	time.Sleep(50 * time.Millisecond) // let h1 unsubscribe
	if got := numSub(t, "test-shared:t"); got != 1 {
		t.Fatalf("%d subscribers, want 1 (h2 still wants it)", got)
	}
	if err := h1.Publish(ctx, "t", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.waitFor(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := s1.received(); len(got) != 0 {
		t.Errorf("s1 left but got %q", got)
	}
}
