package hub_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/sockjs"
)

// panicStore is a memStore whose first Update panics.
type panicStore struct {
	*memStore
	panicked atomic.Bool
}

func (p *panicStore) Update(ctx context.Context, changes []hub.PresenceChange) error {
	if p.panicked.CompareAndSwap(false, true) {
		panic("store bug")
	}
	return p.memStore.Update(ctx, changes)
}

// panicBroker is a memBroker whose first Subscribe and every Unsubscribe
// panic.
type panicBroker struct {
	*memBroker
	panicked atomic.Bool
}

func (b *panicBroker) Subscribe(ctx context.Context, topic string, fn func(string)) (hub.Subscription, error) {
	if b.panicked.CompareAndSwap(false, true) {
		panic("broker bug")
	}
	sub, err := b.memBroker.Subscribe(ctx, topic, fn)
	if err != nil {
		return nil, err
	}
	return panicSub{sub}, nil
}

type panicSub struct{ hub.Subscription }

func (panicSub) Unsubscribe(context.Context) error { panic("unsubscribe bug") }

// TestPanickingStore: a panic in PresenceStore.Update, which the hub calls
// from its own goroutine, does not end the process: it is the JoinAs
// error, and the hub goes on (the next join is recorded, Close returns).
func TestPanickingStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := &panicStore{memStore: newMemStore()}
	h := hub.New(&hub.Options{Presence: st})
	err := h.JoinAs(ctx, newFake("a", 0), "r", "a")
	if err == nil || !strings.Contains(err.Error(), "store bug") {
		t.Errorf("JoinAs with a panicking store: %v, want the panic as an error", err)
	}
	if err := h.JoinAs(ctx, newFake("b", 0), "r", "b"); err != nil {
		t.Errorf("JoinAs after the panic: %v", err)
	}
	if n, _ := h.PresenceCount(ctx, "r"); n != 1 {
		t.Errorf("count %d, want 1 (b)", n)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.Close(cctx); err != nil {
		t.Fatal(err)
	}
}

// TestPanickingBroker: a panic in Broker.Subscribe is a failed subscribe
// (retried), one in Subscription.Unsubscribe a failed unsubscribe; neither
// ends the process.
func TestPanickingBroker(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := &panicBroker{memBroker: newMemBroker()}
	h := hub.New(&hub.Options{Broker: b})
	s := newFake("a", 0)
	jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.Join(jctx, s, "r"); err != nil {
		t.Fatalf("Join after a panicking Subscribe: %v", err)
	}
	h.Leave(s, "r")
	eventually(t, "the unsubscribe attempt", func() bool { return h.Stats().Topics == 0 })
	cctx, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	if err := h.Close(cctx); err != nil {
		t.Fatal(err)
	}
}

// reentrantSession is a session whose ID and Transport call into the hub,
// as an application's wrapper (logging, metrics) may.
type reentrantSession struct {
	*fakeSession
	h *hub.Hub
}

func (s reentrantSession) ID() string                  { s.h.Stats(); return s.fakeSession.ID() }
func (s reentrantSession) Transport() sockjs.Transport { s.h.Stats(); return "xhr" }

// TestSessionMethodsOutsideLocks: the hub calls no method of a session
// while it holds its lock (joins, leaves, presence events and lists), so a
// session whose methods use the hub does not deadlock it.
func TestSessionMethodsOutsideLocks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(nil)
	w := h.WatchPresence(0)
	s := reentrantSession{newFake("a", 0), h}
	done := make(chan error, 1)
	go func() {
		err := h.JoinAs(ctx, s, "r", "alice")
		if err == nil {
			var ms []hub.Member
			ms, _, err = h.Presence(ctx, "r", 0)
			if err == nil && (len(ms) != 1 || ms[0].SessionID != "a" || ms[0].Transport != "xhr") {
				err = fmt.Errorf("members %+v", ms)
			}
		}
		h.Leave(s, "r")
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
		w.Close()
		h.Close(ctx)
	case <-time.After(5 * time.Second): // the hub stays locked: no Close
		t.Fatal("deadlock: the hub called a session method under its lock")
	}
}
