package redisbroker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-sockjs/sockjs/hub"
)

// DefaultPresenceTTL is how long a member outlives the last refresh of its
// process, for a zero PresenceOptions.TTL.
const DefaultPresenceTTL = 30 * time.Second

// maxPipeline bounds the commands of one pipeline a refresh sends.
const maxPipeline = 1000

// PresenceOptions configures a Presence. The zero value (or a nil
// *PresenceOptions) is a valid configuration.
type PresenceOptions struct {
	// Prefix starts the name of each topic's key, Prefix + "presence:" +
	// topic. Empty means "sockjs:".
	Prefix string

	// TTL is how long a member stays listed after its process last
	// refreshed it: the longest a member of a process that died without
	// leaving (a ghost) is still counted. Each process refreshes its
	// members every TTL/3. Zero means 30 s.
	TTL time.Duration

	// Logger receives refresh failures. Nil means no logging.
	Logger *slog.Logger
}

// Presence is a hub.PresenceStore on Redis: with it, Hub.Presence and
// Hub.PresenceCount answer for every process that shares the Redis server.
// Create it with NewPresence and give it to the hubs (hub.Options.Presence)
// of each process; it may serve several hubs of one process.
//
//	p := redisbroker.NewPresence(rdb, nil)
//	h := hub.New(&hub.Options{Broker: b, Presence: p, Node: "web-1"})
//	// ... serve ...
//	h.Close(ctx) // the hubs first (they remove their members),
//	p.Close()    // then the store.
//
// # Layout and costs
//
// Each topic is one sorted set, Prefix + "presence:" + topic, whose
// elements are the members (their hub.Member as JSON, at most a few
// hundred bytes with hub.Options.MaxIdentityBytes) and whose scores are the
// times, in Unix milliseconds, at which they expire.
//
//   - Joins and leaves: a hub hands its changes to the store in batches,
//     and each batch is one pipeline, so one round trip, however many
//     changes it holds: per join a ZADD, per leave a ZREM (O(log N) each),
//     and per topic touched a PEXPIRE and a ZREMRANGEBYSCORE that drops
//     the members that have expired.
//   - Count: one ZCOUNT over the members that have not expired, one
//     round trip, O(log N): Redis does not walk the members.
//   - Members: ZCOUNT and ZRANGE ... BYSCORE LIMIT in one pipeline, one
//     round trip, O(log N + limit).
//   - Refresh: every TTL/3 each process rewrites the expiry of each of
//     its own members (a ZADD each, pipelined by 1000): a process with M
//     members sends 3M/TTL commands per second (100 per second for 1000
//     members and the default 30 s). The refresh also adds again a member
//     whose join failed to reach Redis.
//
// # Ghosts
//
// A process that dies without closing its hubs leaves its members in
// Redis. They are no longer counted nor listed once their expiry passes,
// at most TTL after the process's last refresh, so at most TTL after it
// died; the next write to the topic removes them, and a topic key no
// process writes to disappears after 2×TTL. Expiry times come from each
// process's clock: clocks that differ by more than a small part of TTL
// (no NTP) make ghosts live longer, or members vanish early.
//
// # Concurrency
//
// All methods are safe for concurrent use. Updates and refreshes are
// written one at a time, in order (a refresh never adds back a member an
// update removed); the refresh runs from a time.AfterFunc timer and holds
// no goroutine between refreshes. An Update waiting behind a refresh (a
// Redis server that does not answer) gives up when its context ends, and
// its leaves are forgotten all the same: those members expire within TTL.
// Members and Count do not wait for them.
type Presence struct {
	rdb      redis.UniversalClient
	prefix   string
	ttl      time.Duration
	interval time.Duration
	log      *slog.Logger

	// ctx is cancelled by Close, which ends a refresh under way.
	ctx    context.Context
	cancel context.CancelFunc

	// io is a one-slot lock (see lock) that orders the writes (Update,
	// refresh) and guards timer. It is held across their round trips: an
	// Update waiting for it gives up when its context ends.
	io    chan struct{}
	timer *time.Timer

	// mu guards what follows, and is never held across I/O. An Update
	// changes records before it waits for io, so that a leave whose
	// write gave up is not refreshed again.
	mu      sync.Mutex
	records map[record]string // this process's members → their element in Redis
	closed  bool
}

// lock takes p.io, or returns ctx.Err() if ctx ends first.
func (p *Presence) lock(ctx context.Context) error {
	select {
	case p.io <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Presence) unlock() { <-p.io }

// record is one member of one topic.
type record struct{ topic, id string }

var _ hub.PresenceStore = (*Presence)(nil)

// NewPresence returns a presence store on rdb. The store does not own rdb:
// close rdb after the store.
func NewPresence(rdb redis.UniversalClient, opts *PresenceOptions) *Presence {
	var o PresenceOptions
	if opts != nil {
		o = *opts
	}
	p := &Presence{
		rdb:     rdb,
		prefix:  o.Prefix,
		ttl:     o.TTL,
		log:     o.Logger,
		io:      make(chan struct{}, 1),
		records: make(map[record]string),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if p.prefix == "" {
		p.prefix = DefaultPrefix
	}
	if p.ttl <= 0 {
		p.ttl = DefaultPresenceTTL
	}
	p.interval = p.ttl / 3
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.io <- struct{}{} // refresh reads p.timer under it
	p.timer = time.AfterFunc(p.interval, p.refresh)
	p.unlock()
	return p
}

func (p *Presence) key(topic string) string { return p.prefix + "presence:" + topic }

// millis formats a time as a sorted set score bound.
func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Update records the changes in one pipeline (see Layout and costs). The
// changes are kept by the store before they are sent, so a member whose
// join failed to reach Redis is added by the next refresh.
func (p *Presence) Update(ctx context.Context, changes []hub.PresenceChange) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	now := time.Now()
	expiry := float64(now.Add(p.ttl).UnixMilli())
	pipe := p.rdb.Pipeline()
	touched := make(map[string]struct{})
	for _, c := range changes {
		key := p.key(c.Topic)
		r := record{c.Topic, c.Member.ID}
		old, had := p.records[r]
		if !c.Joined {
			if !had {
				old = encodeMember(c.Member)
			}
			pipe.ZRem(ctx, key, old)
			delete(p.records, r)
			continue
		}
		elem := encodeMember(c.Member)
		if had && old != elem {
			pipe.ZRem(ctx, key, old)
		}
		pipe.ZAdd(ctx, key, redis.Z{Score: expiry, Member: elem})
		p.records[r] = elem
		touched[key] = struct{}{}
	}
	p.mu.Unlock()
	for key := range touched {
		pipe.PExpire(ctx, key, 2*p.ttl)
		pipe.ZRemRangeByScore(ctx, key, "-inf", millis(now))
	}
	if err := p.lock(ctx); err != nil {
		return fmt.Errorf("redisbroker: presence update: %w", err)
	}
	defer p.unlock()
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisbroker: presence update: %w", err)
	}
	return nil
}

// refresh runs from the timer: it rewrites the expiry of every member of
// this process.
func (p *Presence) refresh() {
	p.io <- struct{}{}
	defer p.unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	records := make([]struct {
		r    record
		elem string
	}, 0, len(p.records))
	for r, elem := range p.records {
		records = append(records, struct {
			r    record
			elem string
		}{r, elem})
	}
	p.mu.Unlock()
	defer p.timer.Reset(p.interval)
	if len(records) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.interval)
	defer cancel()
	now := time.Now()
	expiry := float64(now.Add(p.ttl).UnixMilli())
	pipe := p.rdb.Pipeline()
	touched := make(map[string]struct{})
	flush := func() error {
		if pipe.Len() == 0 {
			return nil
		}
		_, err := pipe.Exec(ctx)
		return err
	}
	var err error
	for _, rec := range records {
		r, elem := rec.r, rec.elem
		key := p.key(r.topic)
		if _, ok := touched[key]; !ok {
			touched[key] = struct{}{}
			pipe.PExpire(ctx, key, 2*p.ttl)
			pipe.ZRemRangeByScore(ctx, key, "-inf", millis(now))
		}
		pipe.ZAdd(ctx, key, redis.Z{Score: expiry, Member: elem})
		if pipe.Len() >= maxPipeline {
			if err = flush(); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		p.log.Warn("redisbroker: presence refresh failed", "members", len(records), "err", err)
	}
}

// Members returns up to limit members of the topic that have not expired,
// and their number, in one round trip. They are in the order of their
// expiry times.
func (p *Presence) Members(ctx context.Context, topic string, limit int) ([]hub.Member, int, error) {
	key := p.key(topic)
	from := "(" + millis(time.Now())
	pipe := p.rdb.Pipeline()
	count := pipe.ZCount(ctx, key, from, "+inf")
	var elems *redis.StringSliceCmd
	if limit > 0 {
		elems = pipe.ZRangeArgs(ctx, redis.ZRangeArgs{Key: key, Start: from, Stop: "+inf", ByScore: true, Count: int64(limit)})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, fmt.Errorf("redisbroker: presence of %q: %w", topic, err)
	}
	if elems == nil {
		return nil, int(count.Val()), nil
	}
	members := make([]hub.Member, 0, len(elems.Val()))
	for _, e := range elems.Val() {
		var m hub.Member
		if json.Unmarshal([]byte(e), &m) == nil {
			members = append(members, m)
		}
	}
	return members, int(count.Val()), nil
}

// Count returns the number of members of the topic that have not expired,
// with one ZCOUNT.
func (p *Presence) Count(ctx context.Context, topic string) (int, error) {
	n, err := p.rdb.ZCount(ctx, p.key(topic), "("+millis(time.Now()), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("redisbroker: presence count of %q: %w", topic, err)
	}
	return int(n), nil
}

// Close stops refreshing and waits for the write under way to end: a
// refresh stuck on a Redis server that does not answer ends at its timeout,
// TTL/3, or sooner if the client honours its context's cancellation. Members still recorded stay in Redis until
// they expire: close the hubs first, which remove theirs. Later calls do
// nothing.
func (p *Presence) Close() error {
	p.cancel()
	p.io <- struct{}{}
	defer p.unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.timer.Stop()
	}
	return nil
}

// encodeMember is a member's element in the sorted set.
func encodeMember(m hub.Member) string {
	b, _ := json.Marshal(m) // a struct of strings: cannot fail
	return string(b)
}
