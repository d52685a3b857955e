package hub

import (
	"context"
	"errors"
	"sync"

	"github.com/go-sockjs/sockjs/sockjs"
)

// DefaultPresenceWatchQueue is the queue of a PresenceWatcher made with a
// size of zero.
const DefaultPresenceWatchQueue = 1024

// ErrWatcherClosed is returned by PresenceWatcher.Next after Close.
var ErrWatcherClosed = errors.New("hub: presence watcher closed")

// Member is one session in a topic, as Presence reports it.
type Member struct {
	// ID names this membership's session uniquely in the cluster: a
	// random prefix of its hub, then a number. It stays the same while
	// the session is in at least one topic of the hub. Session ids are
	// chosen by clients and are not unique (raw websocket sessions have
	// none), so this is the key to use.
	ID string `json:"id"`
	// SessionID is the session's ID().
	SessionID string `json:"sid,omitempty"`
	// Transport is the session's transport, when the session tells it
	// (the sessions of package sockjs do).
	Transport sockjs.Transport `json:"transport,omitempty"`
	// Identity is what the application gave JoinAs.
	Identity string `json:"identity,omitempty"`
	// Node is the Options.Node of the hub the session is on.
	Node string `json:"node,omitempty"`
}

// PresenceChange is a member joining or leaving a topic, as a
// PresenceStore is told.
type PresenceChange struct {
	Topic  string
	Member Member
	Joined bool // false: left
}

// A PresenceStore keeps the members of topics for several processes, so
// that Hub.Presence answers for the whole cluster. Implementations must be
// safe for concurrent use. A hub calls Update from its one goroutine, with
// the changes that happened since its last call, in batches; it does not
// retry a failed Update (a panic in Update is recovered, logged and
// counts as a failure). A store should therefore keep what it was told
// and converge by itself (redisbroker's store rewrites its members at
// every refresh), and should forget the members of a process that stopped
// without leaving after a bounded time. The module
// github.com/go-sockjs/sockjs/redisbroker has one on Redis.
type PresenceStore interface {
	// Update records the changes: a Joined member is added to its topic
	// (replacing any record of the same Member.ID in that topic), the
	// others are removed. Changes to one member of one topic come in
	// order. Update must return soon after ctx ends (the hub's
	// BrokerTimeout, or Close's context): the hub's goroutine, and so
	// its JoinAs and Close calls, wait for it.
	Update(ctx context.Context, changes []PresenceChange) error
	// Members returns up to limit members of the topic and the number
	// of its members in all.
	Members(ctx context.Context, topic string, limit int) (members []Member, total int, err error)
	// Count returns the number of members of the topic.
	Count(ctx context.Context, topic string) (int, error)
}

// PresenceEvent is a session of this hub joining or leaving a topic.
type PresenceEvent struct {
	Topic  string
	Member Member
	Joined bool // false: left
	// Missed counts the events lost just before this one because the
	// watcher's queue was full.
	Missed int
}

// A PresenceWatcher receives the joins and leaves of a hub's sessions, in
// the order they happened (see WatchPresence).
type PresenceWatcher struct {
	h      *Hub
	size   int
	notify chan struct{} // one slot: an event was queued or the watcher closed

	mu     sync.Mutex
	queue  []PresenceEvent
	missed int
	closed bool
}

// WatchPresence returns a watcher of the joins and leaves of this hub's
// sessions, in every topic: JoinAs (not a repeated one), Leave, LeaveAll and
// sessions that close. Only this process's sessions are reported, also with
// a PresenceStore: to tell a room "alice joined" on every process, publish
// it to the room. Close does not report the members it drops.
//
// The watcher queues up to size events (zero means
// DefaultPresenceWatchQueue) until Next takes them; while its queue is
// full, new events are dropped and counted in the next event's Missed, a
// sign to read the member list again with Presence. Close the watcher when
// done with it.
func (h *Hub) WatchPresence(size int) *PresenceWatcher {
	if size <= 0 {
		size = DefaultPresenceWatchQueue
	}
	w := &PresenceWatcher{h: h, size: size, notify: make(chan struct{}, 1)}
	h.mu.Lock()
	if !h.closed {
		h.watchers = append(h.watchers, w)
	}
	h.mu.Unlock()
	return w
}

// push queues an event. The hub's mu is held, so events are queued in the
// order the memberships changed.
func (w *PresenceWatcher) push(ev PresenceEvent) {
	w.mu.Lock()
	if len(w.queue) >= w.size {
		w.missed++
	} else {
		ev.Missed, w.missed = w.missed, 0
		w.queue = append(w.queue, ev)
	}
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting for one until ctx ends (ctx.Err()).
// After the hub's Close it returns the events queued, then ErrHubClosed;
// after the watcher's Close, ErrWatcherClosed.
func (w *PresenceWatcher) Next(ctx context.Context) (PresenceEvent, error) {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return PresenceEvent{}, ErrWatcherClosed
		}
		if len(w.queue) > 0 {
			ev := w.queue[0]
			w.queue[0] = PresenceEvent{}
			w.queue = w.queue[1:]
			if len(w.queue) == 0 {
				w.queue = nil // let a burst's array go
			}
			w.mu.Unlock()
			return ev, nil
		}
		w.mu.Unlock()
		if w.h.isDone() {
			return PresenceEvent{}, ErrHubClosed
		}
		select {
		case <-w.notify:
		case <-w.h.done:
		case <-ctx.Done():
			return PresenceEvent{}, ctx.Err()
		}
	}
}

// Close stops the watcher: its events are dropped, and Next returns
// ErrWatcherClosed. Later calls do nothing.
func (w *PresenceWatcher) Close() {
	h := w.h
	h.mu.Lock()
	if i := indexOf(h.watchers, w); i >= 0 {
		h.watchers = append(h.watchers[:i], h.watchers[i+1:]...)
	}
	h.mu.Unlock()
	w.mu.Lock()
	w.closed, w.queue = true, nil
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func indexOf[T comparable](s []T, v T) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// changeKey names one member of one topic in Hub.changes.
type changeKey struct{ id, topic string }

// presenceChange is a change waiting for the hub's goroutine to give it
// to the store. done (joins only) is closed once the store has answered,
// with err, or once the change is superseded by a later one.
type presenceChange struct {
	PresenceChange
	done chan struct{}
	err  error
}

// presenceChangedLocked reports a membership change to the watchers and,
// with a store, queues it for the hub's goroutine; for a join, it returns
// the change, whose done channel is closed once the store has it. h.mu is
// held.
func (h *Hub) presenceChangedLocked(topic string, e entry, joined bool) *presenceChange {
	if len(h.watchers) == 0 && h.store == nil {
		return nil
	}
	info := h.info(e)
	for _, w := range h.watchers {
		w.push(PresenceEvent{Topic: topic, Member: info, Joined: joined})
	}
	if h.store == nil {
		return nil
	}
	return h.queueChangeLocked(topic, info, joined)
}

// queueChangeLocked queues a change for the store (see
// presenceChangedLocked). h.mu is held.
func (h *Hub) queueChangeLocked(topic string, info Member, joined bool) *presenceChange {
	k := changeKey{info.ID, topic}
	if old := h.changes[k]; old != nil && old.done != nil {
		close(old.done) // superseded before it reached the store
	}
	c := &presenceChange{PresenceChange: PresenceChange{Topic: topic, Member: info, Joined: joined}}
	if joined {
		c.done = make(chan struct{})
	}
	h.changes[k] = c
	select {
	case h.wake <- struct{}{}:
	default:
	}
	return c
}

// failed reports whether the store answered the change with an error.
func (c *presenceChange) failed() bool {
	select {
	case <-c.done:
		return c.err != nil
	default:
		return false
	}
}

// queueRemovalsLocked queues the removal of every membership for the
// store, for Close. h.mu is held.
func (h *Hub) queueRemovalsLocked() {
	for topic, t := range h.topics {
		for _, e := range t.members {
			info := h.info(e)
			k := changeKey{info.ID, topic}
			if old := h.changes[k]; old != nil && old.done != nil {
				close(old.done)
			}
			h.changes[k] = &presenceChange{PresenceChange: PresenceChange{Topic: topic, Member: info}}
		}
	}
}

// flushPresence gives the store the changes queued since the last call.
// It runs on the hub's goroutine.
func (h *Hub) flushPresence(ctx context.Context) {
	h.mu.Lock()
	if len(h.changes) == 0 {
		h.mu.Unlock()
		return
	}
	taken := h.changes
	h.changes = make(map[changeKey]*presenceChange)
	h.mu.Unlock()
	batch := make([]PresenceChange, 0, len(taken))
	for _, c := range taken {
		batch = append(batch, c.PresenceChange)
	}
	err := h.guard("PresenceStore.Update", func() error { return h.store.Update(ctx, batch) })
	if err != nil {
		h.log.Warn("hub: presence store update failed", "changes", len(batch), "err", err)
	}
	for _, c := range taken {
		if c.done != nil {
			c.err = err
			close(c.done)
		}
	}
}

// Presence returns up to limit members of the topic (Options.MaxPresenceList
// if limit is zero or more than that) and the number of its members in
// all. Without a PresenceStore these are this process's members, read in
// memory: the count costs nothing, the list one copy per member returned.
// With a store, it answers for the whole cluster and ctx bounds the call.
// Members are in no particular order.
func (h *Hub) Presence(ctx context.Context, topic string, limit int) (members []Member, total int, err error) {
	if limit <= 0 || limit > h.maxList {
		limit = h.maxList
	}
	if h.isDone() {
		return nil, 0, ErrHubClosed
	}
	if h.store != nil {
		return h.store.Members(ctx, topic, limit)
	}
	h.mu.RLock()
	t := h.topics[topic]
	h.mu.RUnlock()
	if t == nil {
		return nil, 0, nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	total = len(t.members)
	members = make([]Member, min(limit, total))
	for i := range members {
		members[i] = h.info(t.members[i])
	}
	return members, total, nil
}

// PresenceCount returns the number of members of the topic: this
// process's without a PresenceStore (a length read, whatever the number),
// the whole cluster's with one (ctx bounds the call).
func (h *Hub) PresenceCount(ctx context.Context, topic string) (int, error) {
	if h.isDone() {
		return 0, ErrHubClosed
	}
	if h.store != nil {
		return h.store.Count(ctx, topic)
	}
	h.mu.RLock()
	t := h.topics[topic]
	h.mu.RUnlock()
	if t == nil {
		return 0, nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.members), nil
}
