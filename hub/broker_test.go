package hub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-sockjs/sockjs/hub"
)

// memBroker is a Broker in memory: it connects hubs of one process, in the
// order it accepts publications. Subscribe can be held (gate) or made to
// fail.
type memBroker struct {
	gate      chan struct{} // non-nil: Subscribe waits until it is closed
	unsubGate chan struct{} // non-nil: Unsubscribe waits until it is closed

	mu         sync.Mutex
	subs       map[string][]*memSub
	failSubs   int   // Subscribe calls still to fail
	failUnsubs int   // Unsubscribe calls still to fail
	publishErr error // returned by Publish
	calls      []string
}

type memSub struct {
	b     *memBroker
	topic string
	fn    func(string)
	done  bool // guarded by b.mu
}

func newMemBroker() *memBroker { return &memBroker{subs: make(map[string][]*memSub)} }

func (b *memBroker) Publish(ctx context.Context, topic, msg string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.publishErr != nil {
		return b.publishErr
	}
	for _, s := range b.subs[topic] {
		s.fn(msg) // under the lock: one order for every subscriber
	}
	return nil
}

var errInjected = errors.New("injected failure")

func (b *memBroker) Subscribe(ctx context.Context, topic string, fn func(string)) (hub.Subscription, error) {
	if b.gate != nil {
		select {
		case <-b.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failSubs > 0 {
		b.failSubs--
		b.calls = append(b.calls, "fail "+topic)
		return nil, errInjected
	}
	s := &memSub{b: b, topic: topic, fn: fn}
	b.subs[topic] = append(b.subs[topic], s)
	b.calls = append(b.calls, "sub "+topic)
	return s, nil
}

func (s *memSub) Unsubscribe(ctx context.Context) error {
	b := s.b
	if b.unsubGate != nil {
		select {
		case <-b.unsubGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.done {
		return nil
	}
	if b.failUnsubs > 0 {
		b.failUnsubs--
		b.calls = append(b.calls, "fail unsub "+s.topic)
		return errInjected
	}
	s.done = true
	b.subs[s.topic] = slices.DeleteFunc(b.subs[s.topic], func(x *memSub) bool { return x == s })
	if len(b.subs[s.topic]) == 0 {
		delete(b.subs, s.topic)
	}
	b.calls = append(b.calls, "unsub "+s.topic)
	return nil
}

// active returns the number of subscriptions per topic.
func (b *memBroker) active() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := make(map[string]int)
	for t, ss := range b.subs {
		m[t] = len(ss)
	}
	return m
}

func (b *memBroker) callLog() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// TestBrokerNodes runs two hubs on one broker, as two processes would be:
// messages published on either reach the sessions of both, every session
// sees the same order, and a hub without members in a topic does not
// subscribe to it.
func TestBrokerNodes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newMemBroker()
	nodes := []*hub.Hub{hub.New(&hub.Options{Broker: b}), hub.New(&hub.Options{Broker: b})}
	var sessions []*fakeSession
	for n, h := range nodes {
		defer h.Close(ctx)
		for i := range 3 {
			s := newFake(fmt.Sprintf("n%d-%d", n, i), 0)
			if err := h.Join(ctx, s, "room"); err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, s)
		}
	}
	only := newFake("only", 0)
	if err := nodes[0].Join(ctx, only, "solo"); err != nil {
		t.Fatal(err)
	}
	if got, want := b.active(), map[string]int{"room": 2, "solo": 1}; !mapsEqual(got, want) {
		t.Fatalf("subscriptions %v, want %v", got, want)
	}

	var wg sync.WaitGroup
	for n, h := range nodes {
		wg.Go(func() {
			for i := range 100 {
				if err := h.Publish(ctx, "room", fmt.Sprintf("%d/%d", n, i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	nodes[1].Publish(ctx, "solo", "for only")
	first := sessions[0].received()
	if len(first) != 200 {
		t.Fatalf("got %d messages, want 200", len(first))
	}
	for _, s := range sessions[1:] {
		if got := s.received(); !slices.Equal(got, first) {
			t.Fatalf("session %s saw another order than session %s", s.id, sessions[0].id)
		}
	}
	if got := only.received(); !slices.Equal(got, []string{"for only"}) {
		t.Errorf("solo got %q", got)
	}

	// The last member leaving a topic unsubscribes it; Close unsubscribes
	// the rest.
	only.Close(1000, "")
	eventually(t, "solo to be unsubscribed", func() bool { return b.active()["solo"] == 0 })
	for _, h := range nodes {
		if err := h.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.active(); len(got) != 0 {
		t.Errorf("subscriptions after Close: %v", got)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestJoinWaitsForSubscription holds the broker's confirmation: Join must
// not return before it, a Join whose context ends stays a member, and a
// message published after Join returns is delivered.
func TestJoinWaitsForSubscription(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newMemBroker()
	b.gate = make(chan struct{})
	h := hub.New(&hub.Options{Broker: b})
	defer h.Close(ctx)
	s := newFake("s", 0)

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := h.Join(short, s, "t"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join before the subscription: %v, want DeadlineExceeded", err)
	}
	if st := h.Stats(); st.Memberships != 1 {
		t.Fatalf("after a timed-out Join: %+v, want the membership kept", st)
	}
	joined := make(chan error, 1)
	go func() { joined <- h.Join(ctx, s, "t") }()
	select {
	case err := <-joined:
		t.Fatalf("Join returned %v before the broker confirmed", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(b.gate)
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	if err := h.Publish(ctx, "t", "hello"); err != nil {
		t.Fatal(err)
	}
	if got := s.received(); !slices.Equal(got, []string{"hello"}) {
		t.Errorf("received %q", got)
	}
}

// TestJoinEndsWithSession: a Join waiting for the broker returns when its
// session closes, and the hub forgets the session.
func TestJoinEndsWithSession(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newMemBroker()
	b.gate = make(chan struct{})
	h := hub.New(&hub.Options{Broker: b})
	s := newFake("s", 0)
	joined := make(chan error, 1)
	go func() { joined <- h.Join(ctx, s, "t") }()
	time.Sleep(10 * time.Millisecond)
	s.Close(1000, "")
	if err := <-joined; err == nil {
		t.Fatal("Join of a session that closed returned nil")
	}
	eventually(t, "the session to leave", func() bool { return h.Stats().Memberships == 0 })
	close(b.gate)
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.active(); len(got) != 0 {
		t.Errorf("subscriptions after Close: %v", got)
	}
}

// TestSubscribeRetry makes the broker refuse twice: the hub retries until
// the subscription holds, and Join returns then.
func TestSubscribeRetry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newMemBroker()
	b.failSubs = 2
	h := hub.New(&hub.Options{Broker: b})
	defer h.Close(ctx)
	s := newFake("s", 0)
	start := time.Now()
	if err := h.Join(ctx, s, "t"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("joined after %v: retries came faster than 100 ms then 200 ms", d)
	}
	if got, want := b.callLog(), []string{"fail t", "fail t", "sub t"}; !slices.Equal(got, want) {
		t.Errorf("broker calls %q, want %q", got, want)
	}
}

// TestUnsubscribeRetry makes the broker refuse to unsubscribe twice: the
// hub tries again until the subscription is gone.
func TestUnsubscribeRetry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newMemBroker()
	b.failUnsubs = 2
	h := hub.New(&hub.Options{Broker: b})
	defer h.Close(ctx)
	s := newFake("s", 0)
	if err := h.Join(ctx, s, "t"); err != nil {
		t.Fatal(err)
	}
	h.Leave(s, "t")
	eventually(t, "the subscription to go", func() bool { return len(b.active()) == 0 })
	if got, want := b.callLog(), []string{"sub t", "fail unsub t", "fail unsub t", "unsub t"}; !slices.Equal(got, want) {
		t.Errorf("broker calls %q, want %q", got, want)
	}
}

// TestCloseUnsubscribesOnce: Close tries every subscription within one
// BrokerTimeout, even when the broker fails.
func TestCloseUnsubscribesOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newMemBroker()
	h := hub.New(&hub.Options{Broker: b})
	for i := range 3 {
		if err := h.Join(ctx, newFake(fmt.Sprint(i), 0), fmt.Sprint("t", i)); err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Lock()
	b.failUnsubs = 1
	b.mu.Unlock()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(b.active()); got != 1 {
		t.Errorf("%d subscriptions left after Close, want the one that failed", got)
	}
}

// TestBrokerChurn joins and leaves one topic quickly: whatever the
// interleaving, the hub ends with no subscription once the topic is empty,
// and with exactly one while it has a member.
func TestBrokerChurn(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newMemBroker()
	h := hub.New(&hub.Options{Broker: b})
	defer h.Close(ctx)
	for i := range 200 {
		s := newFake(fmt.Sprint(i), 0)
		if err := h.Join(ctx, s, "t"); err != nil {
			t.Fatal(err)
		}
		if got := b.active()["t"]; got != 1 {
			t.Fatalf("round %d: %d subscriptions after Join, want 1", i, got)
		}
		h.Leave(s, "t")
	}
	eventually(t, "no subscription", func() bool { return len(b.active()) == 0 })
}

func TestPublishError(t *testing.T) {
	t.Parallel()
	b := newMemBroker()
	b.publishErr = errInjected
	h := hub.New(&hub.Options{Broker: b})
	defer h.Close(t.Context())
	if err := h.Publish(t.Context(), "t", "x"); !errors.Is(err, errInjected) {
		t.Errorf("Publish: %v, want the broker's error", err)
	}
}

// TestCloseCancelsSubscribe: Close abandons a subscription stuck in the
// broker, and its goroutine ends (goleak checks) before Close returns.
func TestCloseCancelsSubscribe(t *testing.T) {
	t.Parallel()
	b := newMemBroker()
	b.gate = make(chan struct{}) // never opened
	h := hub.New(&hub.Options{Broker: b})
	s := newFake("s", 0)
	short, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := h.Join(short, s, "t"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join: %v", err)
	}
	start := time.Now()
	if err := h.Close(t.Context()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}

// TestCloseDeadline: when Close's context ends while the broker is stuck
// unsubscribing, the call is cancelled, the goroutine ends, and Close
// returns the context's error.
func TestCloseDeadline(t *testing.T) {
	t.Parallel()
	b := newMemBroker()
	b.unsubGate = make(chan struct{}) // never opened
	h := hub.New(&hub.Options{Broker: b})
	if err := h.Join(t.Context(), newFake("s", 0), "t"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
}
