package hub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/sockjs"
)

// transportSession is a fakeSession that tells its transport.
type transportSession struct {
	*fakeSession
	tr sockjs.Transport
}

func (s transportSession) Transport() sockjs.Transport { return s.tr }

func identities(ms []hub.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Identity)
	}
	sort.Strings(out)
	return out
}

// TestPresenceLocal checks the members and count of a topic on one hub as
// sessions join, leave and close.
func TestPresenceLocal(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(&hub.Options{Node: "n1", MaxIdentityBytes: 8, MaxPresenceList: 3})
	defer h.Close(ctx)
	alice := transportSession{newFake("sa", 0), sockjs.XHRStreaming}
	bob, carol, dave := newFake("sb", 0), newFake("sc", 0), newFake("sd", 0)
	for _, j := range []struct {
		s  sockjs.Session
		id string
	}{{alice, "alice"}, {bob, "bob"}, {carol, "carol"}} {
		if err := h.JoinAs(ctx, j.s, "room", j.id); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.JoinAs(ctx, bob, "room", "bobby"); err != nil { // already in: identity stays
		t.Fatal(err)
	}
	if err := h.JoinAs(ctx, dave, "room", "123456789"); !errors.Is(err, hub.ErrLimit) {
		t.Fatalf("identity over MaxIdentityBytes: %v, want ErrLimit", err)
	}
	if err := h.JoinAs(ctx, alice, "other", "al"); err != nil {
		t.Fatal(err)
	}

	ms, total, err := h.Presence(ctx, "room", 0)
	if err != nil || total != 3 {
		t.Fatalf("Presence: %d, %v; want 3", total, err)
	}
	if got := identities(ms); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Fatalf("identities %q", got)
	}
	var a hub.Member
	for _, m := range ms {
		if m.Identity == "alice" {
			a = m
		}
	}
	if a.SessionID != "sa" || a.Transport != sockjs.XHRStreaming || a.Node != "n1" || a.ID == "" {
		t.Errorf("alice: %+v", a)
	}
	others, _, _ := h.Presence(ctx, "other", 0)
	if len(others) != 1 || others[0].ID != a.ID || others[0].Identity != "al" {
		t.Errorf("alice's other topic: %+v, want the same ID %s and identity al", others, a.ID)
	}
	if ms, total, _ := h.Presence(ctx, "room", 2); len(ms) != 2 || total != 3 {
		t.Errorf("limit 2: %d members, total %d", len(ms), total)
	}
	if n, err := h.PresenceCount(ctx, "room"); n != 3 || err != nil {
		t.Errorf("PresenceCount %d, %v", n, err)
	}

	h.Leave(bob, "room")
	carol.Close(1000, "")
	eventually(t, "carol to leave", func() bool { n, _ := h.PresenceCount(ctx, "room"); return n == 1 })
	if ms, _, _ := h.Presence(ctx, "room", 0); len(ms) != 1 || ms[0].Identity != "alice" {
		t.Errorf("after leaves: %+v", ms)
	}
	if n, _ := h.PresenceCount(ctx, "nobody"); n != 0 {
		t.Errorf("count of an empty topic: %d", n)
	}
	// A limit above MaxPresenceList is cut to it.
	for i := range 5 {
		if err := h.JoinAs(ctx, newFake(fmt.Sprint(i), 0), "big", "x"); err != nil {
			t.Fatal(err)
		}
	}
	if ms, total, _ := h.Presence(ctx, "big", 100); len(ms) != 3 || total != 5 {
		t.Errorf("limit over MaxPresenceList: %d members, total %d; want 3 of 5", len(ms), total)
	}
	h.Close(ctx)
	if _, _, err := h.Presence(ctx, "room", 0); !errors.Is(err, hub.ErrHubClosed) {
		t.Errorf("Presence after Close: %v", err)
	}
}

// TestWatchPresence checks the events a watcher gets, their order, a full
// queue and the ends of a watcher.
func TestWatchPresence(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(nil)
	defer h.Close(ctx)
	w := h.WatchPresence(3)
	defer w.Close()
	a, b := newFake("a", 0), newFake("b", 0)
	h.JoinAs(ctx, a, "r", "alice")
	h.JoinAs(ctx, a, "r", "alice") // no event: already in
	h.JoinAs(ctx, b, "r", "bob")
	h.Leave(a, "r")
	h.JoinAs(ctx, a, "s", "alice") // dropped: the queue holds 3
	h.Leave(a, "s")                // dropped
	type ev struct {
		topic, who string
		joined     bool
		missed     int
	}
	next := func() ev {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		e, err := w.Next(wctx)
		if err != nil {
			t.Fatal(err)
		}
		return ev{e.Topic, e.Member.Identity, e.Joined, e.Missed}
	}
	for _, want := range []ev{{"r", "alice", true, 0}, {"r", "bob", true, 0}, {"r", "alice", false, 0}} {
		if got := next(); got != want {
			t.Fatalf("event %+v, want %+v", got, want)
		}
	}
	b.Close(1000, "")
	if got, want := next(), (ev{"r", "bob", false, 2}); got != want {
		t.Fatalf("event %+v, want %+v (two missed)", got, want)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := w.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing queued: %v", err)
	}

	// Events come in the order of the changes, from any goroutine.
	w.Close()
	w2 := h.WatchPresence(0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := newFake(fmt.Sprint(i), 0)
			for range 50 {
				h.JoinAs(ctx, s, "c", fmt.Sprint(i))
				h.Leave(s, "c")
			}
		})
	}
	wg.Wait()
	in := map[string]bool{}
	for range 8 * 100 {
		e, err := w2.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if in[e.Member.Identity] == e.Joined {
			t.Fatalf("%s: joined=%v twice in a row", e.Member.Identity, e.Joined)
		}
		in[e.Member.Identity] = e.Joined
	}
	w2.Close()
	if _, err := w2.Next(ctx); !errors.Is(err, hub.ErrWatcherClosed) {
		t.Errorf("Next after Close: %v", err)
	}

	// The hub's Close: what is queued, then ErrHubClosed.
	w3 := h.WatchPresence(0)
	h.JoinAs(ctx, newFake("z", 0), "z", "zed")
	h.Close(ctx)
	if e, err := w3.Next(ctx); err != nil || e.Member.Identity != "zed" {
		t.Errorf("queued before Close: %+v, %v", e, err)
	}
	if _, err := w3.Next(ctx); !errors.Is(err, hub.ErrHubClosed) {
		t.Errorf("Next after the hub's Close: %v", err)
	}
}

// TestPublishExcept: the excluded session gets nothing, the others get the
// message, on one hub and on two hubs sharing a broker.
func TestPublishExcept(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	t.Run("local", func(t *testing.T) {
		h := hub.New(nil)
		defer h.Close(ctx)
		a, b, c := newFake("a", 0), newFake("b", 0), newFake("c", 0)
		for _, s := range []*fakeSession{a, b, c} {
			h.Join(ctx, s, "t")
		}
		if err := h.PublishExcept(ctx, "t", "x", a); err != nil {
			t.Fatal(err)
		}
		h.PublishExcept(ctx, "t", "y", newFake("stranger", 0)) // excludes no one
		if got := a.received(); !slices.Equal(got, []string{"y"}) {
			t.Errorf("sender got %q", got)
		}
		for _, s := range []*fakeSession{b, c} {
			if got := s.received(); !slices.Equal(got, []string{"x", "y"}) {
				t.Errorf("%s got %q", s.id, got)
			}
		}
	})
	t.Run("broker", func(t *testing.T) {
		b := newMemBroker()
		h1, h2 := hub.New(&hub.Options{Broker: b}), hub.New(&hub.Options{Broker: b})
		defer h1.Close(ctx)
		defer h2.Close(ctx)
		a, b1, c := newFake("a", 0), newFake("b", 0), newFake("c", 0)
		h1.Join(ctx, a, "t")
		h1.Join(ctx, b1, "t")
		h2.Join(ctx, c, "t")
		for _, m := range []string{"x", "\x00", "\x00x1-2\nz", "\x00m"} {
			if err := h1.PublishExcept(ctx, "t", m, a); err != nil {
				t.Fatal(err)
			}
			if err := h2.Publish(ctx, "t", m); err != nil { // a NUL first byte is framed
				t.Fatal(err)
			}
		}
		want := []string{"x", "x", "\x00", "\x00", "\x00x1-2\nz", "\x00x1-2\nz", "\x00m", "\x00m"}
		if got := a.received(); !slices.Equal(got, []string{"x", "\x00", "\x00x1-2\nz", "\x00m"}) {
			t.Errorf("sender got %q", got)
		}
		for _, s := range []*fakeSession{b1, c} {
			if got := s.received(); !slices.Equal(got, want) {
				t.Errorf("%s got %q, want %q", s.id, got, want)
			}
		}
		// Text published to the broker by something other than a hub
		// arrives as it is, if its first byte is not NUL.
		b.Publish(ctx, "t", "raw")
		b.Publish(ctx, "t", "\x00q")
		if got := c.received()[len(want):]; !slices.Equal(got, []string{"raw", "\x00q"}) {
			t.Errorf("raw publications: %q", got)
		}
	})
}

// memStore is a PresenceStore in memory that can be held (gate) or made
// to fail.
type memStore struct {
	gate chan struct{}

	mu      sync.Mutex
	topics  map[string]map[string]hub.Member
	fail    error
	batches int
}

func newMemStore() *memStore { return &memStore{topics: map[string]map[string]hub.Member{}} }

func (m *memStore) Update(ctx context.Context, changes []hub.PresenceChange) error {
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches++
	if m.fail != nil {
		return m.fail
	}
	for _, c := range changes {
		t := m.topics[c.Topic]
		if t == nil {
			t = map[string]hub.Member{}
			m.topics[c.Topic] = t
		}
		if c.Joined {
			t[c.Member.ID] = c.Member
		} else {
			delete(t, c.Member.ID)
		}
	}
	return nil
}

func (m *memStore) Members(ctx context.Context, topic string, limit int) ([]hub.Member, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []hub.Member
	for _, mb := range m.topics[topic] {
		if len(out) < limit {
			out = append(out, mb)
		}
	}
	return out, len(m.topics[topic]), nil
}

func (m *memStore) Count(ctx context.Context, topic string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.topics[topic]), nil
}

// TestPresenceStore runs two hubs on one store, as two processes: JoinAs
// waits for the store, both hubs see every member, leaves and Close remove
// them, and a store failure is Join's error.
func TestPresenceStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := newMemStore()
	h1 := hub.New(&hub.Options{Presence: st, Node: "A"})
	h2 := hub.New(&hub.Options{Presence: st, Node: "B"})
	defer h1.Close(ctx)
	defer h2.Close(ctx)
	a, b := newFake("a", 0), newFake("b", 0)
	if err := h1.JoinAs(ctx, a, "r", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := h2.JoinAs(ctx, b, "r", "bob"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*hub.Hub{h1, h2} {
		ms, total, err := h.Presence(ctx, "r", 10)
		if err != nil || total != 2 || !slices.Equal(identities(ms), []string{"alice", "bob"}) {
			t.Fatalf("Presence: %+v %d %v", ms, total, err)
		}
	}
	nodes := map[string]string{}
	ms, _, _ := h1.Presence(ctx, "r", 10)
	for _, m := range ms {
		nodes[m.Identity] = m.Node
	}
	if nodes["alice"] != "A" || nodes["bob"] != "B" {
		t.Errorf("nodes %v", nodes)
	}

	// JoinAs waits for the store.
	st.gate = make(chan struct{})
	c := newFake("c", 0)
	joined := make(chan error, 1)
	go func() { joined <- h1.JoinAs(ctx, c, "r", "carol") }()
	select {
	case err := <-joined:
		t.Fatalf("JoinAs returned %v before the store recorded the member", err)
	case <-time.After(30 * time.Millisecond):
	}
	// A second JoinAs of the same membership waits too.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := h1.JoinAs(short, c, "r", "carol"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("repeated JoinAs before the store: %v", err)
	}
	close(st.gate)
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	st.gate = nil
	if n, _ := h2.PresenceCount(ctx, "r"); n != 3 {
		t.Fatalf("count %d after carol joined, want 3", n)
	}

	// Leaves reach the store.
	h1.Leave(a, "r")
	c.Close(1000, "")
	eventually(t, "the leaves to reach the store", func() bool { n, _ := h2.PresenceCount(ctx, "r"); return n == 1 })

	// A failing store: JoinAs says so, and the session is in the topic.
	st.mu.Lock()
	st.fail = errInjected
	st.mu.Unlock()
	d := newFake("d", 0)
	if err := h1.JoinAs(ctx, d, "r", "dave"); !errors.Is(err, errInjected) {
		t.Fatalf("JoinAs with a failing store: %v", err)
	}
	h1.Publish(ctx, "r", "still here")
	if got := d.received(); !slices.Equal(got, []string{"still here"}) {
		t.Errorf("dave got %q", got)
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()

	// Close removes the hub's members from the store.
	if err := h2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := h1.PresenceCount(ctx, "r"); n != 0 {
		t.Errorf("count %d after the other hub closed, want 0", n)
	}
}

// TestPresenceStoreBatches: joins that come while the store is busy go to
// it in one batch, and a join cancelled by a leave before the store saw it
// never reaches the store.
func TestPresenceStoreBatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := newMemStore()
	st.gate = make(chan struct{})
	h := hub.New(&hub.Options{Presence: st})
	defer h.Close(ctx)
	first := newFake("first", 0)
	go h.JoinAs(ctx, first, "r", "first") // holds the hub's goroutine in the store
	eventually(t, "the first join", func() bool { return h.Stats().Memberships == 1 })
	time.Sleep(10 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := h.JoinAs(ctx, newFake(fmt.Sprint(i), 0), "r", fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		})
	}
	gone := newFake("gone", 0)
	eventually(t, "the joins", func() bool { return h.Stats().Memberships == 51 })
	go h.JoinAs(ctx, gone, "r", "gone")
	eventually(t, "gone's join", func() bool { return h.Stats().Memberships == 52 })
	h.Leave(gone, "r")
	close(st.gate)
	wg.Wait()
	st.mu.Lock()
	batches := st.batches
	st.mu.Unlock()
	if batches > 3 {
		t.Errorf("%d store updates for 52 joins while it was busy, want them batched", batches)
	}
	ms, total, _ := h.Presence(ctx, "r", 100)
	if total != 51 || slices.Contains(identities(ms), "gone") {
		t.Errorf("%d members (%v), want 51 without gone", total, strings.Join(identities(ms), ","))
	}
}

// TestPresenceStoreClose: a JoinAs waiting for a store that does not
// answer returns ErrHubClosed when the hub closes, and Close gives up on
// the store within its context.
func TestPresenceStoreClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := newMemStore()
	st.gate = make(chan struct{}) // never opened: Update waits for its context
	h := hub.New(&hub.Options{Presence: st, BrokerTimeout: 50 * time.Millisecond})
	joined := make(chan error, 1)
	go func() { joined <- h.JoinAs(ctx, newFake("s", 0), "r", "s") }()
	eventually(t, "the join", func() bool { return h.Stats().Memberships == 1 })
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := h.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a store that does not answer", d)
	}
	if err := <-joined; !errors.Is(err, hub.ErrHubClosed) {
		t.Errorf("JoinAs waiting when the hub closed: %v, want ErrHubClosed", err)
	}
}

// TestPresenceJoinRetry: a JoinAs that failed because the store did not
// record the member can be retried: the repeated JoinAs gives the store
// the member again, rather than return the first failure forever.
func TestPresenceJoinRetry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := newMemStore()
	st.fail = errInjected
	h := hub.New(&hub.Options{Presence: st})
	defer h.Close(ctx)
	s := newFake("a", 0)
	if err := h.JoinAs(ctx, s, "r", "alice"); !errors.Is(err, errInjected) {
		t.Fatalf("JoinAs with a failing store: %v", err)
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	if err := h.JoinAs(ctx, s, "r", "alice"); err != nil {
		t.Fatalf("JoinAs again once the store works: %v", err)
	}
	if ms, n, err := h.Presence(ctx, "r", 0); err != nil || n != 1 || len(ms) != 1 || ms[0].Identity != "alice" {
		t.Errorf("presence after the retry: %+v, %d, %v", ms, n, err)
	}
}
