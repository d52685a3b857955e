package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sockjs/sockjs/sockjs"
)

// ErrLimit matches, with errors.Is, the error Join returns when a limit of
// Options (MaxTopics, MaxTopicsPerSession) would be passed.
var ErrLimit = errors.New("hub: limit reached")

// ErrHubClosed is returned by Join and Publish after Close.
var ErrHubClosed = errors.New("hub: closed")

// Defaults, used for zero fields of Options.
const (
	DefaultMaxTopics           = 100_000
	DefaultMaxTopicsPerSession = 1000
	DefaultBrokerTimeout       = 10 * time.Second
)

// Delays between attempts to subscribe a topic on the broker after a
// failure: doubling from the first to the second.
const (
	minRetryDelay = 100 * time.Millisecond
	maxRetryDelay = 5 * time.Second
)

// Options configures a Hub. The zero value (or a nil *Options) is a valid
// configuration: one process, default limits, slow sessions closed. New
// copies the options.
type Options struct {
	// Broker carries publications to the hubs of other processes (see the
	// package documentation). Nil means this process only: Publish
	// delivers before it returns.
	Broker Broker

	// MaxTopics bounds the topics that have at least one member. Join on
	// a new topic beyond it fails with ErrLimit. Zero means 100 000.
	MaxTopics int

	// MaxTopicsPerSession bounds the topics one session is in. Join beyond
	// it fails with ErrLimit. Zero means 1000.
	MaxTopicsPerSession int

	// DropWhenFull keeps a session whose outbound queue is full open and
	// drops the message for it (counted in Stats.Dropped). By default such
	// a session is closed with sockjs.CodeTooSlow.
	DropWhenFull bool

	// BrokerTimeout bounds each subscribe and unsubscribe call to the
	// Broker; a failed subscription is retried, with a delay growing from
	// 100 ms to 5 s. Zero means 10 s.
	BrokerTimeout time.Duration

	// Logger receives broker failures. Nil means no logging.
	Logger *slog.Logger
}

// Stats are a hub's counts. The first three are current values on this
// process; the others count since New.
type Stats struct {
	Topics      int // topics with at least one member
	Sessions    int // sessions in at least one topic
	Memberships int // (session, topic) pairs

	Delivered  uint64 // messages queued for a session
	Dropped    uint64 // messages not queued because the session's queue was full (DropWhenFull)
	ClosedSlow uint64 // sessions closed with sockjs.CodeTooSlow
}

// Hub is a set of topics with their member sessions. Create it with New;
// all methods are safe for concurrent use.
type Hub struct {
	broker        Broker
	maxTopics     int
	maxPerSession int
	dropWhenFull  bool
	brokerTimeout time.Duration
	log           *slog.Logger

	// mu guards the maps and closed; each topic's member list has its own
	// lock, always taken after mu, so that a publication to a large topic
	// does not hold up joins to others.
	mu          sync.RWMutex
	topics      map[string]*topicState
	sessions    map[sockjs.Session]*member
	memberships int
	dirty       map[string]struct{} // topics whose broker subscription may have to change
	closed      bool

	wake     chan struct{} // one slot: wakes the broker loop
	done     chan struct{} // closed by Close
	loopDone chan struct{} // closed when the broker loop has returned; nil without a broker

	// runCtx bounds the broker calls while the hub runs (Close cancels
	// it); opsCtx those of Close (cancelled if Close's context ends).
	runCtx, opsCtx   context.Context
	runStop, opsStop context.CancelFunc

	delivered, dropped, closedSlow atomic.Uint64
}

// topicState is one topic's members. ready is closed once the broker has
// confirmed the topic's subscription, or when the topic loses its last
// member.
type topicState struct {
	ready   chan struct{}
	isReady bool // guarded by Hub.mu

	mu      sync.RWMutex
	members []sockjs.Session
	index   map[sockjs.Session]int // position in members
}

// member is one session's topics, and the stop function of the
// context.AfterFunc that removes it when the session closes.
type member struct {
	topics map[string]struct{}
	stop   func() bool
}

// closedChan is the ready channel of every topic of a hub without a broker.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// New returns a hub. With a Broker it starts one goroutine, which Close
// ends. New panics, naming the field, if a limit or duration in opts is
// negative.
func New(opts *Options) *Hub {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.MaxTopics < 0:
		panic(fmt.Sprintf("hub: Options.MaxTopics is negative (%d); zero means the default", o.MaxTopics))
	case o.MaxTopicsPerSession < 0:
		panic(fmt.Sprintf("hub: Options.MaxTopicsPerSession is negative (%d); zero means the default", o.MaxTopicsPerSession))
	case o.BrokerTimeout < 0:
		panic(fmt.Sprintf("hub: Options.BrokerTimeout is negative (%v); zero means the default", o.BrokerTimeout))
	}
	h := &Hub{
		broker:        o.Broker,
		maxTopics:     orDefault(o.MaxTopics, DefaultMaxTopics),
		maxPerSession: orDefault(o.MaxTopicsPerSession, DefaultMaxTopicsPerSession),
		dropWhenFull:  o.DropWhenFull,
		brokerTimeout: orDefault(o.BrokerTimeout, DefaultBrokerTimeout),
		log:           o.Logger,
		topics:        make(map[string]*topicState),
		sessions:      make(map[sockjs.Session]*member),
		dirty:         make(map[string]struct{}),
		wake:          make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.runCtx, h.runStop = context.WithCancel(context.Background())
	h.opsCtx, h.opsStop = context.WithCancel(context.Background())
	if h.broker != nil {
		h.loopDone = make(chan struct{})
		go h.loop()
	}
	return h
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Join adds s to the topic. The session leaves by itself when it closes.
// Joining a topic s is already in does nothing more than wait (below).
//
// With a Broker, Join then waits until the hub's subscription to the topic
// is confirmed, so that every message published after Join returns, on
// any process, reaches s. If ctx ends first, Join returns ctx.Err() and s
// stays in the topic: it receives messages once the subscription is up.
//
// Join returns an error matching ErrLimit when the topic would be one too
// many (for the hub or for s), sockjs.ErrClosed when the session has
// closed, and ErrHubClosed after Close. The session must be a comparable
// value (the sessions of package sockjs are).
func (h *Hub) Join(ctx context.Context, s sockjs.Session, topic string) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrHubClosed
	}
	if s.Context().Err() != nil {
		h.mu.Unlock()
		return sockjs.ErrClosed
	}
	m := h.sessions[s]
	t := h.topics[topic]
	if m != nil {
		if _, in := m.topics[topic]; in {
			ready := t.ready
			h.mu.Unlock()
			return h.await(ctx, s, ready)
		}
		if len(m.topics) >= h.maxPerSession {
			h.mu.Unlock()
			return fmt.Errorf("%w: session %s is in %d topics (MaxTopicsPerSession)", ErrLimit, s.ID(), len(m.topics))
		}
	}
	if t == nil {
		if len(h.topics) >= h.maxTopics {
			h.mu.Unlock()
			return fmt.Errorf("%w: %d topics (MaxTopics)", ErrLimit, len(h.topics))
		}
		t = &topicState{ready: closedChan, isReady: true, index: make(map[sockjs.Session]int)}
		if h.broker != nil {
			t.ready, t.isReady = make(chan struct{}), false
		}
		h.topics[topic] = t
		h.markDirtyLocked(topic)
	}
	if m == nil {
		m = &member{topics: make(map[string]struct{})}
		h.sessions[s] = m
		// If the session closes between the check above and this call,
		// AfterFunc runs LeaveAll at once (it waits for h.mu).
		m.stop = context.AfterFunc(s.Context(), func() { h.LeaveAll(s) })
	}
	m.topics[topic] = struct{}{}
	h.memberships++
	t.mu.Lock()
	t.index[s] = len(t.members)
	t.members = append(t.members, s)
	t.mu.Unlock()
	ready := t.ready
	h.mu.Unlock()
	return h.await(ctx, s, ready)
}

// await waits for a topic's subscription to be confirmed.
func (h *Hub) await(ctx context.Context, s sockjs.Session, ready <-chan struct{}) error {
	select {
	case <-ready:
		return nil
	default:
	}
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.Context().Done():
		return sockjs.ErrClosed
	case <-h.done:
		return ErrHubClosed
	}
}

// Leave removes s from the topic, if it is in it. It never blocks for
// long.
func (h *Hub) Leave(s sockjs.Session, topic string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.sessions[s]
	if m == nil {
		return
	}
	if _, in := m.topics[topic]; !in {
		return
	}
	delete(m.topics, topic)
	h.removeLocked(s, topic)
	if len(m.topics) == 0 {
		delete(h.sessions, s)
		m.stop()
	}
}

// LeaveAll removes s from every topic it is in. A session does this by
// itself when it closes.
func (h *Hub) LeaveAll(s sockjs.Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.sessions[s]
	if m == nil {
		return
	}
	for name := range m.topics {
		h.removeLocked(s, name)
	}
	delete(h.sessions, s)
	m.stop()
}

// removeLocked takes s out of the topic's members and drops the topic when
// it has no member left. h.mu is held.
func (h *Hub) removeLocked(s sockjs.Session, name string) {
	t := h.topics[name]
	h.memberships--
	t.mu.Lock()
	i := t.index[s]
	last := len(t.members) - 1
	if i != last {
		moved := t.members[last]
		t.members[i] = moved
		t.index[moved] = i
	}
	t.members[last] = nil
	t.members = t.members[:last]
	if c := cap(t.members); c > 64 && last < c/4 {
		t.members = slices.Clip(slices.Clone(t.members)) // give back what a crowd left
	}
	delete(t.index, s)
	empty := last == 0
	t.mu.Unlock()
	if !empty {
		return
	}
	delete(h.topics, name)
	if !t.isReady {
		t.isReady = true
		close(t.ready) // a Join still waiting has nothing left to wait for
	}
	h.markDirtyLocked(name)
}

// markDirtyLocked asks the broker loop to look at the topic's
// subscription. h.mu is held.
func (h *Hub) markDirtyLocked(name string) {
	if h.broker == nil {
		return
	}
	h.dirty[name] = struct{}{}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Publish sends msg to every session in the topic. Without a Broker it
// queues the message for this process's members before it returns, and ctx
// is not used. With a Broker it hands the message to the broker, which
// passes it to every hub subscribed to the topic, this one included; ctx
// bounds that call and its error is returned.
//
// Members whose queue is full are closed with sockjs.CodeTooSlow (or, with
// Options.DropWhenFull, skipped); see the package documentation.
func (h *Hub) Publish(ctx context.Context, topic, msg string) error {
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return ErrHubClosed
	}
	if h.broker == nil {
		h.deliver(topic, msg)
		return nil
	}
	return h.broker.Publish(ctx, topic, msg)
}

// deliver queues msg for every local member of the topic, without waiting
// on any of them.
func (h *Hub) deliver(name, msg string) {
	h.mu.RLock()
	t := h.topics[name]
	h.mu.RUnlock()
	if t == nil {
		return
	}
	p := sockjs.Prepare(msg)
	var (
		slow       []sockjs.Session
		sent, drop uint64
	)
	t.mu.RLock()
	for _, s := range t.members {
		switch err := sockjs.TrySendPrepared(s, p); {
		case err == nil:
			sent++
		case errors.Is(err, sockjs.ErrQueueFull):
			if h.dropWhenFull {
				drop++
			} else {
				slow = append(slow, s)
			}
		}
		// Any other error means the session has closed: its AfterFunc
		// takes it out of the topic.
	}
	t.mu.RUnlock()
	// Closed outside the lock: closing runs the session's AfterFunc, which
	// takes h.mu.
	for _, s := range slow {
		s.Close(sockjs.CodeTooSlow, "Client too slow")
	}
	h.delivered.Add(sent)
	h.dropped.Add(drop)
	h.closedSlow.Add(uint64(len(slow)))
}

// Stats returns the hub's counts.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	st := Stats{Topics: len(h.topics), Sessions: len(h.sessions), Memberships: h.memberships}
	h.mu.RUnlock()
	st.Delivered = h.delivered.Load()
	st.Dropped = h.dropped.Load()
	st.ClosedSlow = h.closedSlow.Load()
	return st
}

// Close empties the hub: every session leaves every topic, and later Join
// and Publish calls return ErrHubClosed. With a Broker, Close then
// unsubscribes the hub's topics (within one BrokerTimeout in all) and
// waits for its goroutine to end; if ctx ends first, the broker calls
// under way are cancelled, Close still waits for the goroutine (which then
// ends promptly) and returns ctx.Err(). Sessions are not closed. Close may
// be called more than once.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
		h.runStop() // a subscription under way is of no use any more
		for _, m := range h.sessions {
			m.stop()
		}
		for _, t := range h.topics {
			if !t.isReady {
				t.isReady = true
				close(t.ready)
			}
		}
		clear(h.sessions)
		clear(h.topics)
		clear(h.dirty)
		h.memberships = 0
	}
	h.mu.Unlock()
	if h.loopDone == nil {
		h.opsStop()
		return nil
	}
	stop := context.AfterFunc(ctx, h.opsStop)
	<-h.loopDone
	stop()
	h.opsStop()
	return ctx.Err()
}

// loop is the hub's one goroutine, present only with a broker. It alone
// holds the broker subscriptions, and makes them follow the topics that
// have members: it subscribes a topic that gained its first member (then
// marks it ready) and unsubscribes one that lost its last.
func (h *Hub) loop() {
	defer close(h.loopDone)
	subs := make(map[string]Subscription)
	failed := make(map[string]struct{})
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	armed := false
	delay := minRetryDelay
	for {
		select {
		case <-h.done:
			// One deadline for all: a broker that is down must not hold
			// Close for a timeout per topic.
			ctx, cancel := context.WithTimeout(h.opsCtx, h.brokerTimeout)
			for name, sub := range subs {
				h.unsubscribe(ctx, name, sub)
			}
			cancel()
			return
		case <-h.wake:
		case <-retry.C:
			armed = false
			h.mu.Lock()
			for name := range failed {
				h.dirty[name] = struct{}{}
			}
			h.mu.Unlock()
			clear(failed)
		}
		h.mu.Lock()
		batch := h.dirty
		h.dirty = make(map[string]struct{})
		h.mu.Unlock()
		for name := range batch {
			if h.isDone() {
				break
			}
			h.mu.RLock()
			_, want := h.topics[name]
			h.mu.RUnlock()
			sub, have := subs[name]
			switch {
			case want && !have:
				ctx, cancel := context.WithTimeout(h.runCtx, h.brokerTimeout)
				sub, err := h.broker.Subscribe(ctx, name, func(msg string) { h.deliver(name, msg) })
				cancel()
				if err != nil {
					if !h.isDone() {
						h.log.Warn("hub: broker subscribe failed; will retry", "topic", name, "err", err)
					}
					failed[name] = struct{}{}
					continue
				}
				subs[name] = sub
				h.markReady(name)
			case want && have:
				h.markReady(name)
			case !want && have:
				ctx, cancel := context.WithTimeout(h.runCtx, h.brokerTimeout)
				err := h.unsubscribe(ctx, name, sub)
				cancel()
				if err != nil {
					failed[name] = struct{}{} // try again later, or in Close
					continue
				}
				delete(subs, name)
			}
		}
		switch {
		case len(failed) == 0:
			delay = minRetryDelay
		case !armed:
			retry.Reset(delay)
			armed = true
			delay = min(2*delay, maxRetryDelay)
		}
	}
}

func (h *Hub) isDone() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

func (h *Hub) unsubscribe(ctx context.Context, name string, sub Subscription) error {
	err := sub.Unsubscribe(ctx)
	if err != nil {
		h.log.Warn("hub: broker unsubscribe failed", "topic", name, "err", err)
	}
	return err
}

// markReady wakes the Join calls waiting for the topic's subscription.
func (h *Hub) markReady(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[name]; t != nil && !t.isReady {
		t.isReady = true
		close(t.ready)
	}
}
