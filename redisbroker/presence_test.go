package redisbroker_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/redisbroker"
)

// presenceNode is a node whose hub also keeps presence in Redis.
func presenceNode(t *testing.T, addr, prefix, name string, ttl time.Duration) *node {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	b := redisbroker.New(rdb, &redisbroker.Options{Prefix: prefix})
	p := redisbroker.NewPresence(rdb, &redisbroker.PresenceOptions{Prefix: prefix, TTL: ttl})
	h := hub.New(&hub.Options{Broker: b, Presence: p, Node: name, BrokerTimeout: 2 * time.Second})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("hub close: %v", err)
		}
		p.Close()
		b.Close()
		rdb.Close()
	})
	return &node{rdb: rdb, broker: b, hub: h}
}

func identities(ms []hub.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Identity+"@"+m.Node)
	}
	sort.Strings(out)
	return out
}

// waitMembers polls the node's presence of the topic until it is want
// (identity@node, sorted).
func waitMembers(t *testing.T, ctx context.Context, n *node, topic string, want []string) {
	t.Helper()
	var got []string
	for {
		ms, total, err := n.hub.Presence(ctx, topic, 0)
		got = identities(ms)
		if err == nil && total == len(want) && slices.Equal(got, want) {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("presence of %s: %q (total %d, %v), want %q", topic, got, total, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPresenceTwoNodes: members joined on either node are seen from both,
// at once after JoinAs; leaving and closing a hub remove them; a
// PublishExcept on one node spares its sender and reaches the other node.
func TestPresenceTwoNodes(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 20*time.Second)
	const prefix = "test-presence2:"
	a := presenceNode(t, redisAddr, prefix, "A", 2*time.Second)
	b := presenceNode(t, redisAddr, prefix, "B", 2*time.Second)
	alice, bob, carol := newCollector("sa"), newCollector("sb"), newCollector("sc")
	if err := a.hub.JoinAs(ctx, alice, "room", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := b.hub.JoinAs(ctx, bob, "room", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := b.hub.JoinAs(ctx, carol, "room", "carol"); err != nil {
		t.Fatal(err)
	}
	want := []string{"alice@A", "bob@B", "carol@B"}
	for _, n := range []*node{a, b} {
		ms, total, err := n.hub.Presence(ctx, "room", 0) // no waiting: JoinAs did
		if err != nil || total != 3 || !slices.Equal(identities(ms), want) {
			t.Fatalf("presence: %q, total %d, %v; want %q", identities(ms), total, err, want)
		}
		if c, err := n.hub.PresenceCount(ctx, "room"); c != 3 || err != nil {
			t.Fatalf("count %d, %v", c, err)
		}
	}
	if ms, total, _ := a.hub.Presence(ctx, "room", 2); len(ms) != 2 || total != 3 {
		t.Errorf("limit 2: %d members, total %d", len(ms), total)
	}
	ms, _, _ := a.hub.Presence(ctx, "room", 0)
	for _, m := range ms {
		if m.Identity == "bob" && (m.SessionID != "sb" || m.ID == "") {
			t.Errorf("bob: %+v", m)
		}
	}

	// PublishExcept from B: carol (the sender, on B) gets nothing.
	if err := b.hub.PublishExcept(ctx, "room", "hi from carol", carol); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*collector{alice, bob} {
		if got, err := s.waitFor(ctx, 1); err != nil || got[0] != "hi from carol" {
			t.Fatalf("%s: %q, %v", s.id, got, err)
		}
	}
	if err := a.hub.Publish(ctx, "room", "marker"); err != nil {
		t.Fatal(err)
	}
	if got, err := carol.waitFor(ctx, 1); err != nil || !slices.Equal(got, []string{"marker"}) {
		t.Fatalf("carol (excluded) got %q, %v", got, err)
	}

	b.hub.Leave(bob, "room")
	waitMembers(t, ctx, a, "room", []string{"alice@A", "carol@B"})
	alice.Close(1000, "")
	waitMembers(t, ctx, b, "room", []string{"carol@B"})
	if err := b.hub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := a.hub.PresenceCount(ctx, "room"); n != 0 || err != nil {
		t.Fatalf("count after B closed: %d, %v", n, err)
	}
}

// TestPresenceRefresh: a living node's members stay listed well past the
// TTL (its store refreshes them), and a member whose join could not reach
// Redis is added by the next refresh once Redis is reachable.
func TestPresenceRefresh(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 20*time.Second)
	const prefix, ttl = "test-presence-refresh:", time.Second
	a := presenceNode(t, redisAddr, prefix, "A", ttl)
	s := newCollector("s")
	if err := a.hub.JoinAs(ctx, s, "room", "stay"); err != nil {
		t.Fatal(err)
	}

	// Node C reaches Redis through a proxy that refuses for now.
	p := newProxy(t, redisAddr)
	p.refuse.Store(true)
	rdb := redis.NewClient(&redis.Options{Addr: p.addr(), DialTimeout: time.Second, MaxRetries: -1})
	defer rdb.Close()
	store := redisbroker.NewPresence(rdb, &redisbroker.PresenceOptions{Prefix: prefix, TTL: ttl})
	defer store.Close()
	c := hub.New(&hub.Options{Presence: store, Node: "C"})
	defer c.Close(ctx)
	if err := c.JoinAs(ctx, newCollector("late"), "room", "late"); err == nil {
		t.Fatal("JoinAs with Redis unreachable succeeded")
	}
	time.Sleep(5 * ttl / 2)
	if n, _ := a.hub.PresenceCount(ctx, "room"); n != 1 {
		t.Fatalf("count %d after 2.5 TTL of a living node, want 1", n)
	}
	p.refuse.Store(false)
	waitMembers(t, ctx, a, "room", []string{"late@C", "stay@A"})
}

// TestPresenceKilledNode kills a node's process (SIGKILL: nothing is
// cleaned up) and checks that its members are counted until their TTL
// passes, and not after.
func TestPresenceKilledNode(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := deadline(t, 30*time.Second)
	const prefix, ttl = "test-presence-kill:", 1500 * time.Millisecond
	// A only reads "room": no living node writes to it, so the ghosts
	// stay in Redis and the expiry times alone must hide them.
	a := presenceNode(t, redisAddr, prefix, "A", ttl)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REDISBROKER_PRESENCE_NODE="+redisAddr+","+prefix+","+ttl.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper node: %q, %v", line, err)
	}
	want := []string{"ghost-0@K", "ghost-1@K", "ghost-2@K"}
	waitMembers(t, ctx, a, "room", want)
	time.Sleep(ttl) // the helper has refreshed its members at least once

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed := time.Now()
	if n, _ := a.hub.PresenceCount(ctx, "room"); n != 3 {
		t.Fatalf("count %d right after the kill, want the 3 members (ghosts until their TTL)", n)
	}
	waitMembers(t, ctx, a, "room", nil)
	gone := time.Since(killed)
	if n, err := a.hub.PresenceCount(ctx, "room"); n != 0 || err != nil {
		t.Errorf("count %d, %v once the ghosts expired, want 0", n, err)
	}
	if n := a.rdb.ZCard(ctx, prefix+"presence:room").Val(); n != 3 {
		t.Errorf("%d elements in Redis, want the 3 expired ones (hidden, not removed)", n)
	}
	t.Logf("the killed node's members were gone %v after the kill (TTL %v)", gone.Round(time.Millisecond), ttl)
	if gone > ttl+500*time.Millisecond {
		t.Errorf("ghosts lived %v, more than the TTL %v", gone, ttl)
	}
}

// presenceHelper is the process TestPresenceKilledNode kills: a node "K"
// with three members in "room", which says "ready" and waits.
func presenceHelper(spec string) {
	parts := strings.Split(spec, ",")
	ttl, _ := time.ParseDuration(parts[2])
	rdb := redis.NewClient(&redis.Options{Addr: parts[0]})
	p := redisbroker.NewPresence(rdb, &redisbroker.PresenceOptions{Prefix: parts[1], TTL: ttl})
	h := hub.New(&hub.Options{Presence: p, Node: "K"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		if err := h.JoinAs(ctx, newCollector(fmt.Sprint(i)), "room", fmt.Sprint("ghost-", i)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	<-make(chan struct{}) // until killed
}

// TestPresenceClosed: a closed store refuses updates.
func TestPresenceClosed(t *testing.T) {
	needRedis(t)
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	p := redisbroker.NewPresence(rdb, nil)
	p.Close()
	p.Close()
	err := p.Update(t.Context(), []hub.PresenceChange{{Topic: "t", Member: hub.Member{ID: "x"}, Joined: true}})
	if !errors.Is(err, redisbroker.ErrClosed) {
		t.Errorf("Update after Close: %v", err)
	}
}

// TestPresenceStalledRefresh: a refresh stuck on a Redis connection that
// stopped answering holds the store's write lock for its whole timeout
// (TTL/3); an Update waiting behind it (the hub's goroutine, so Join and
// Close) must still give up when its own context ends. Close waits for the
// refresh, at most until its timeout.
func TestPresenceStalledRefresh(t *testing.T) {
	needRedis(t)
	t.Parallel()
	px := newProxy(t, redisAddr)
	rdb := redis.NewClient(&redis.Options{Addr: px.addr(), MaxRetries: -1, ContextTimeoutEnabled: true, ReadTimeout: time.Minute})
	defer rdb.Close()
	const ttl = 9 * time.Second // a refresh at 3 s, with a timeout of 3 s
	start := time.Now()
	p := redisbroker.NewPresence(rdb, &redisbroker.PresenceOptions{Prefix: "stall:", TTL: ttl})
	defer p.Close()
	join := []hub.PresenceChange{{Topic: "t", Member: hub.Member{ID: "a"}, Joined: true}}
	if err := p.Update(deadline(t, 5*time.Second), join); err != nil {
		t.Fatal(err)
	}
	px.stall() // the pool's connection: the refresh takes it and hangs
	time.Sleep(ttl/3 + 300*time.Millisecond - time.Since(start))

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	p.Update(ctx, []hub.PresenceChange{{Topic: "t", Member: hub.Member{ID: "b"}, Joined: true}})
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Update with a 200 ms context took %v behind a stalled refresh", d)
	}
	t0 = time.Now()
	p.Close()
	if d := time.Since(t0); d > ttl/3+2*time.Second {
		t.Errorf("Close took %v behind a stalled refresh (timeout %v)", d, ttl/3)
	}
}

// TestPresenceLeaveBehindStalledRefresh: a leave whose Update gave up
// behind a stalled refresh (its context ended) is still forgotten by the
// store: the member is not refreshed again, so it expires within TTL
// instead of staying listed for as long as the process lives.
func TestPresenceLeaveBehindStalledRefresh(t *testing.T) {
	needRedis(t)
	t.Parallel()
	px := newProxy(t, redisAddr)
	rdb := redis.NewClient(&redis.Options{Addr: px.addr(), MaxRetries: -1, ContextTimeoutEnabled: true, ReadTimeout: time.Minute})
	defer rdb.Close()
	direct := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer direct.Close()
	const ttl = 3 * time.Second // refreshes at 1 s (stalled until 2 s), then 3 s
	start := time.Now()
	p := redisbroker.NewPresence(rdb, &redisbroker.PresenceOptions{Prefix: "stall2:", TTL: ttl})
	defer p.Close()
	m := hub.Member{ID: "a"}
	if err := p.Update(deadline(t, 5*time.Second), []hub.PresenceChange{{Topic: "t", Member: m, Joined: true}}); err != nil {
		t.Fatal(err)
	}
	joined := time.Now() // its expiry: joined + TTL
	px.stall()
	time.Sleep(ttl/3 + 200*time.Millisecond - time.Since(start))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	p.Update(ctx, []hub.PresenceChange{{Topic: "t", Member: m}}) // gives up
	time.Sleep(ttl + 500*time.Millisecond - time.Since(joined))  // past its expiry, after the next refresh (3 s)
	n, err := direct.ZCount(t.Context(), "stall2:presence:t", "("+strconv.FormatInt(time.Now().UnixMilli(), 10), "+inf").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d member(s) still live in Redis after leaving and TTL: the refresh keeps the ghost", n)
	}
}
