package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sockjs/sockjs/sockjs"
)

// ErrLimit matches, with errors.Is, the error Join returns when a limit of
// Options (MaxTopics, MaxTopicsPerSession, MaxIdentityBytes) would be
// passed.
var ErrLimit = errors.New("hub: limit reached")

// ErrHubClosed is returned by Join and Publish after Close.
var ErrHubClosed = errors.New("hub: closed")

// Defaults, used for zero fields of Options.
const (
	DefaultMaxTopics           = 100_000
	DefaultMaxTopicsPerSession = 1000
	DefaultBrokerTimeout       = 10 * time.Second
	DefaultMaxIdentityBytes    = 256
	DefaultMaxPresenceList     = 1000
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

	// Presence keeps the members of every topic for the whole cluster
	// (see Presence in the package documentation). Nil means this
	// process's members only.
	Presence PresenceStore

	// Node names this process in the Member values it reports. Empty
	// means none.
	Node string

	// MaxIdentityBytes bounds the identity given to JoinAs. Zero means
	// 256.
	MaxIdentityBytes int

	// MaxPresenceList bounds the members one Presence call returns,
	// whatever limit it is given. Zero means 1000.
	MaxPresenceList int

	// Logger receives broker and presence store failures. Nil means no
	// logging.
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
	store         PresenceStore
	node          string
	id            string // random, unique to this hub: the prefix of its Member IDs
	maxIdentity   int
	maxList       int
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
	seq         uint64                        // last Member ID number given out
	changes     map[changeKey]*presenceChange // for the store, not yet taken by the loop
	watchers    []*PresenceWatcher

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
	members []entry
	index   map[sockjs.Session]int // position in members
}

// member is one session's topics, the number of its Member ID, and the
// stop function of the context.AfterFunc that removes it when the session
// closes. Each topic maps to the change that records the join in the
// presence store (nil without a store).
type member struct {
	seq       uint64
	sid       string // the session's ID() and Transport(), read before h.mu
	transport sockjs.Transport
	topics    map[string]*presenceChange
	stop      func() bool
}

// entry is one membership in a topic's member list: the session, its
// member and the member's number (kept here too, so that PublishExcept
// does not read every member), and the identity it joined with.
type entry struct {
	s        sockjs.Session
	m        *member
	seq      uint64
	identity string
}

// memberID returns a member's Member.ID: the hub's id, a dash, its number.
func (h *Hub) memberID(m *member) string {
	return h.id + "-" + strconv.FormatUint(m.seq, 10)
}

// seqOf returns the number of a Member.ID of this hub, or 0.
func (h *Hub) seqOf(id string) uint64 {
	rest, ok := strings.CutPrefix(id, h.id)
	if !ok || len(rest) < 2 || rest[0] != '-' {
		return 0
	}
	n, err := strconv.ParseUint(rest[1:], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// info returns a membership as a Member.
func (h *Hub) info(e entry) Member {
	return Member{ID: h.memberID(e.m), SessionID: e.m.sid, Transport: e.m.transport, Identity: e.identity, Node: h.node}
}

// closedChan is the ready channel of every topic of a hub without a broker.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// New returns a hub. With a Broker or a PresenceStore it starts one
// goroutine, which Close ends. New panics, naming the field, if a limit or
// duration in opts is negative.
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
	case o.MaxIdentityBytes < 0:
		panic(fmt.Sprintf("hub: Options.MaxIdentityBytes is negative (%d); zero means the default", o.MaxIdentityBytes))
	case o.MaxPresenceList < 0:
		panic(fmt.Sprintf("hub: Options.MaxPresenceList is negative (%d); zero means the default", o.MaxPresenceList))
	}
	h := &Hub{
		broker:        o.Broker,
		store:         o.Presence,
		node:          o.Node,
		id:            strings.ToLower(rand.Text()[:12]),
		maxIdentity:   orDefault(o.MaxIdentityBytes, DefaultMaxIdentityBytes),
		maxList:       orDefault(o.MaxPresenceList, DefaultMaxPresenceList),
		maxTopics:     orDefault(o.MaxTopics, DefaultMaxTopics),
		maxPerSession: orDefault(o.MaxTopicsPerSession, DefaultMaxTopicsPerSession),
		dropWhenFull:  o.DropWhenFull,
		brokerTimeout: orDefault(o.BrokerTimeout, DefaultBrokerTimeout),
		log:           o.Logger,
		topics:        make(map[string]*topicState),
		sessions:      make(map[sockjs.Session]*member),
		dirty:         make(map[string]struct{}),
		changes:       make(map[changeKey]*presenceChange),
		wake:          make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.runCtx, h.runStop = context.WithCancel(context.Background())
	h.opsCtx, h.opsStop = context.WithCancel(context.Background())
	if h.broker != nil || h.store != nil {
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

// Join adds s to the topic, with an empty identity: it is JoinAs(ctx, s,
// topic, "").
func (h *Hub) Join(ctx context.Context, s sockjs.Session, topic string) error {
	return h.JoinAs(ctx, s, topic, "")
}

// JoinAs adds s to the topic, known in its presence (Member.Identity) by
// identity, an application's name for the user such as a user name or a
// JSON object of at most Options.MaxIdentityBytes. The session leaves by
// itself when it closes. Joining a topic s is already in does nothing more
// than wait (below), or give the member to the PresenceStore again if it
// failed to record it; the identity of the first join stays.
//
// With a Broker, JoinAs then waits until the hub's subscription to the
// topic is confirmed, so that every message published after JoinAs
// returns, on any process, reaches s; with a PresenceStore, it also waits
// until the store has recorded the new member, so that Presence on any
// process lists it. If ctx ends first, JoinAs returns ctx.Err() and s
// stays in the topic: it receives messages once the subscription is up. A
// store that fails to record the member makes JoinAs return its error,
// and s stays in the topic too.
//
// JoinAs returns an error matching ErrLimit when the topic would be one
// too many (for the hub or for s) or the identity is too long,
// sockjs.ErrClosed when the session has closed, and ErrHubClosed after
// Close. The session must be a comparable value (the sessions of package
// sockjs are).
func (h *Hub) JoinAs(ctx context.Context, s sockjs.Session, topic, identity string) error {
	if len(identity) > h.maxIdentity {
		return fmt.Errorf("%w: identity of %d bytes (MaxIdentityBytes %d)", ErrLimit, len(identity), h.maxIdentity)
	}
	// The session's methods are called before h.mu is taken: they are
	// the application's code when it wraps sessions, and may use the hub.
	sctx, sid, tr := s.Context(), s.ID(), s.Transport()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrHubClosed
	}
	if sctx.Err() != nil {
		h.mu.Unlock()
		return sockjs.ErrClosed
	}
	m := h.sessions[s]
	t := h.topics[topic]
	if m != nil {
		if add, in := m.topics[topic]; in {
			if add != nil && add.failed() {
				// The store did not record the member: give it again.
				add = h.queueChangeLocked(topic, h.info(t.members[t.index[s]]), true)
				m.topics[topic] = add
			}
			ready := t.ready
			h.mu.Unlock()
			return h.await(ctx, s, ready, add)
		}
		if len(m.topics) >= h.maxPerSession {
			h.mu.Unlock()
			return fmt.Errorf("%w: session %s is in %d topics (MaxTopicsPerSession)", ErrLimit, sid, len(m.topics))
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
		h.seq++
		m = &member{seq: h.seq, sid: sid, transport: tr, topics: make(map[string]*presenceChange)}
		h.sessions[s] = m
		// If the session closes between the check above and this call,
		// AfterFunc runs LeaveAll at once (it waits for h.mu).
		m.stop = context.AfterFunc(sctx, func() { h.LeaveAll(s) })
	}
	e := entry{s: s, m: m, seq: m.seq, identity: identity}
	h.memberships++
	t.mu.Lock()
	t.index[s] = len(t.members)
	t.members = append(t.members, e)
	t.mu.Unlock()
	add := h.presenceChangedLocked(topic, e, true)
	m.topics[topic] = add
	ready := t.ready
	h.mu.Unlock()
	return h.await(ctx, s, ready, add)
}

// await waits for a topic's subscription to be confirmed, then for the
// presence store to have recorded the membership (c, nil without a store
// or once recorded).
func (h *Hub) await(ctx context.Context, s sockjs.Session, ready <-chan struct{}, c *presenceChange) error {
	if err := h.wait(ctx, s, ready); err != nil {
		return err
	}
	if c == nil {
		return nil
	}
	if err := h.wait(ctx, s, c.done); err != nil {
		return err
	}
	if c.err != nil {
		return fmt.Errorf("hub: presence store: %w", c.err)
	}
	return nil
}

func (h *Hub) wait(ctx context.Context, s sockjs.Session, ready <-chan struct{}) error {
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

// removeLocked takes a membership out of the topic's members and drops
// the topic when it has no member left. h.mu is held.
func (h *Hub) removeLocked(s sockjs.Session, name string) {
	t := h.topics[name]
	h.memberships--
	i := t.index[s] // t.members changes under h.mu only: no t.mu to read it
	h.presenceChangedLocked(name, t.members[i], false)
	t.mu.Lock()
	last := len(t.members) - 1
	if i != last {
		moved := t.members[last]
		t.members[i] = moved
		t.index[moved.s] = i
	}
	t.members[last] = entry{}
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
	return h.publish(ctx, topic, msg, nil)
}

// PublishExcept is Publish to every member of the topic but one session,
// typically the sender of the message, on whichever process it is. The
// message is still encoded once. A session that is in no topic of this
// hub excludes no one; like JoinAs, it needs a comparable session. Through
// a Broker, the message carries the excluded member's ID (see Broker).
func (h *Hub) PublishExcept(ctx context.Context, topic, msg string, except sockjs.Session) error {
	return h.publish(ctx, topic, msg, except)
}

func (h *Hub) publish(ctx context.Context, topic, msg string, except sockjs.Session) error {
	h.mu.RLock()
	closed := h.closed
	var exceptSeq uint64
	if except != nil {
		if m := h.sessions[except]; m != nil {
			exceptSeq = m.seq
		}
	}
	h.mu.RUnlock()
	if closed {
		return ErrHubClosed
	}
	if h.broker == nil {
		h.deliver(topic, msg, exceptSeq)
		return nil
	}
	var exceptID string
	if exceptSeq != 0 {
		exceptID = h.id + "-" + strconv.FormatUint(exceptSeq, 10)
	}
	return h.broker.Publish(ctx, topic, wrap(msg, exceptID))
}

// Messages through a Broker are the published text, except when it starts
// with a NUL byte: then the hub frames it, as NUL 'm' text, or NUL 'x'
// member ID, newline, text for PublishExcept.
const (
	envelope       = '\x00'
	envelopeText   = 'm'
	envelopeExcept = 'x'
)

// wrap frames msg for the broker.
func wrap(msg, exceptID string) string {
	switch {
	case exceptID != "":
		return string([]byte{envelope, envelopeExcept}) + exceptID + "\n" + msg
	case msg != "" && msg[0] == envelope:
		return string([]byte{envelope, envelopeText}) + msg
	}
	return msg
}

// unwrap undoes wrap. Text the hub did not frame (published to the broker
// by other means) is passed on as it is.
func unwrap(raw string) (msg, exceptID string) {
	if len(raw) < 2 || raw[0] != envelope {
		return raw, ""
	}
	switch raw[1] {
	case envelopeText:
		return raw[2:], ""
	case envelopeExcept:
		if id, msg, ok := strings.Cut(raw[2:], "\n"); ok {
			return msg, id
		}
	}
	return raw, ""
}

// deliver queues msg for every local member of the topic but the one
// whose member number is exceptSeq (0: none), without waiting on any of
// them.
func (h *Hub) deliver(name, msg string, exceptSeq uint64) {
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
	for _, e := range t.members {
		if e.seq == exceptSeq {
			continue
		}
		s := e.s
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
// and Publish calls return ErrHubClosed. With a Broker or a PresenceStore,
// Close then unsubscribes the hub's topics and removes its members from
// the store (within one BrokerTimeout in all) and waits for its goroutine
// to end; if ctx ends first, the broker and store calls
// under way are cancelled, Close still waits for the goroutine (which then
// ends promptly) and returns ctx.Err(). Sessions are not closed. Close may
// be called more than once.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
		h.runStop() // a subscription under way is of no use any more
		if h.store != nil {
			h.queueRemovalsLocked()
		}
		h.watchers = nil
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

// loop is the hub's one goroutine, present only with a broker or a
// presence store. It alone holds the broker subscriptions, and makes them
// follow the topics that have members: it subscribes a topic that gained
// its first member (then marks it ready) and unsubscribes one that lost
// its last. It alone gives the presence store its changes.
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
			if h.store != nil {
				h.flushPresence(ctx) // Close queued the removal of every member
			}
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
				var sub Subscription
				err := h.guard("Broker.Subscribe", func() (err error) {
					sub, err = h.broker.Subscribe(ctx, name, func(raw string) {
						msg, except := unwrap(raw)
						h.deliver(name, msg, h.seqOf(except))
					})
					return err
				})
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
		if h.store != nil && !h.isDone() {
			ctx, cancel := context.WithTimeout(h.runCtx, h.brokerTimeout)
			h.flushPresence(ctx)
			cancel()
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

// guard calls fn, a call to the application's Broker or PresenceStore
// on the hub's goroutine, and turns a panic in it into an error, logged
// with its stack: as with a panic in a net/http handler, one bug must not
// end the process, nor leave the hub's goroutine gone and its Join and
// Close calls waiting for it.
func (h *Hub) guard(what string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("hub: panic in "+what, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("hub: panic in %s: %v", what, p)
		}
	}()
	return fn()
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
	err := h.guard("Subscription.Unsubscribe", func() error { return sub.Unsubscribe(ctx) })
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
