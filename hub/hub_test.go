package hub_test

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

	"go.uber.org/goleak"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/sockjs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSession is a sockjs.Session kept in memory: Send appends to msgs
// until limit messages are queued (0: no limit), then waits like a full
// session queue.
type fakeSession struct {
	id     string
	limit  int
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	msgs   []string
	closed *sockjs.CloseError
}

func newFake(id string, limit int) *fakeSession {
	f := &fakeSession{id: id, limit: limit}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

func (f *fakeSession) ID() string                               { return f.id }
func (f *fakeSession) Transport() sockjs.Transport              { return "" }
func (f *fakeSession) Request() *http.Request                   { return nil }
func (f *fakeSession) Context() context.Context                 { return f.ctx }
func (f *fakeSession) Recv(ctx context.Context) (string, error) { <-ctx.Done(); return "", ctx.Err() }

func (f *fakeSession) Send(ctx context.Context, msg string) error {
	f.mu.Lock()
	if f.closed != nil {
		err := f.closed
		f.mu.Unlock()
		return err
	}
	if f.limit > 0 && len(f.msgs) >= f.limit {
		f.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	f.msgs = append(f.msgs, msg)
	f.mu.Unlock()
	return nil
}

func (f *fakeSession) Close(code int, reason string) error {
	f.mu.Lock()
	if f.closed == nil {
		f.closed = &sockjs.CloseError{Code: code, Reason: reason}
	}
	f.mu.Unlock()
	f.cancel()
	return nil
}

func (f *fakeSession) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.msgs)
}

func (f *fakeSession) closeCode() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed == nil {
		return 0
	}
	return f.closed.Code
}

// eventually polls cond until it holds or a few seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMembership runs a scenario of joins, leaves, closes and publications
// against a local hub and checks what each session received and the hub's
// counts afterwards.
func TestMembership(t *testing.T) {
	t.Parallel()
	type step struct {
		op      string // join, leave, leaveall, close, publish
		session int
		topic   string
		msg     string
		wantErr error
	}
	tests := []struct {
		name    string
		opts    hub.Options
		limits  []int // per session queue limit; its length is the number of sessions
		steps   []step
		want    [][]string // messages per session
		closed  []int      // close code per session (0: open)
		stats   hub.Stats
		settled bool // wait for sessions closed during the test to leave
	}{
		{
			name:   "publish reaches every member, and only them",
			limits: []int{0, 0, 0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 1, topic: "a"},
				{op: "join", session: 2, topic: "b"},
				{op: "publish", topic: "a", msg: "1"},
				{op: "publish", topic: "b", msg: "2"},
				{op: "publish", topic: "c", msg: "3"},
			},
			want:  [][]string{{"1"}, {"1"}, {"2"}},
			stats: hub.Stats{Topics: 2, Sessions: 3, Memberships: 3, Delivered: 3},
		},
		{
			name:   "join twice is one membership",
			limits: []int{0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 0, topic: "a"},
				{op: "publish", topic: "a", msg: "x"},
			},
			want:  [][]string{{"x"}},
			stats: hub.Stats{Topics: 1, Sessions: 1, Memberships: 1, Delivered: 1},
		},
		{
			name:   "leave stops delivery and drops the empty topic",
			limits: []int{0, 0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 1, topic: "a"},
				{op: "join", session: 0, topic: "b"},
				{op: "publish", topic: "a", msg: "1"},
				{op: "leave", session: 0, topic: "a"},
				{op: "leave", session: 0, topic: "a"},
				{op: "leave", session: 1, topic: "zzz"},
				{op: "publish", topic: "a", msg: "2"},
				{op: "leave", session: 1, topic: "a"},
				{op: "publish", topic: "a", msg: "3"},
				{op: "publish", topic: "b", msg: "4"},
			},
			want:  [][]string{{"1", "4"}, {"1", "2"}},
			stats: hub.Stats{Topics: 1, Sessions: 1, Memberships: 1, Delivered: 4},
		},
		{
			name:   "leaveall",
			limits: []int{0, 0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 0, topic: "b"},
				{op: "join", session: 1, topic: "b"},
				{op: "leaveall", session: 0},
				{op: "leaveall", session: 0},
				{op: "publish", topic: "a", msg: "1"},
				{op: "publish", topic: "b", msg: "2"},
			},
			want:  [][]string{nil, {"2"}},
			stats: hub.Stats{Topics: 1, Sessions: 1, Memberships: 1, Delivered: 1},
		},
		{
			name:   "a closed session leaves by itself and cannot join",
			limits: []int{0, 0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 0, topic: "b"},
				{op: "join", session: 1, topic: "a"},
				{op: "close", session: 0},
				{op: "join", session: 0, topic: "c", wantErr: sockjs.ErrClosed},
			},
			want:    [][]string{nil, nil},
			closed:  []int{3000, 0},
			stats:   hub.Stats{Topics: 1, Sessions: 1, Memberships: 1},
			settled: true,
		},
		{
			name:   "a full queue closes the session with CodeTooSlow",
			limits: []int{1, 0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 1, topic: "a"},
				{op: "publish", topic: "a", msg: "1"},
				{op: "publish", topic: "a", msg: "2"},
				{op: "publish", topic: "a", msg: "3"},
			},
			want:    [][]string{{"1"}, {"1", "2", "3"}},
			closed:  []int{sockjs.CodeTooSlow, 0},
			stats:   hub.Stats{Topics: 1, Sessions: 1, Memberships: 1, Delivered: 4, ClosedSlow: 1},
			settled: true,
		},
		{
			name:   "DropWhenFull keeps the session",
			opts:   hub.Options{DropWhenFull: true},
			limits: []int{1, 0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 1, topic: "a"},
				{op: "publish", topic: "a", msg: "1"},
				{op: "publish", topic: "a", msg: "2"},
				{op: "publish", topic: "a", msg: "3"},
			},
			want:  [][]string{{"1"}, {"1", "2", "3"}},
			stats: hub.Stats{Topics: 1, Sessions: 2, Memberships: 2, Delivered: 4, Dropped: 2},
		},
		{
			name:   "MaxTopics",
			opts:   hub.Options{MaxTopics: 2},
			limits: []int{0, 0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 1, topic: "b"},
				{op: "join", session: 1, topic: "c", wantErr: hub.ErrLimit},
				{op: "join", session: 1, topic: "a"}, // an existing topic is fine
				{op: "leave", session: 0, topic: "a"},
				{op: "leave", session: 1, topic: "a"},
				{op: "join", session: 1, topic: "c"}, // room again
			},
			want:  [][]string{nil, nil},
			stats: hub.Stats{Topics: 2, Sessions: 1, Memberships: 2},
		},
		{
			name:   "MaxTopicsPerSession",
			opts:   hub.Options{MaxTopicsPerSession: 2},
			limits: []int{0, 0},
			steps: []step{
				{op: "join", session: 0, topic: "a"},
				{op: "join", session: 0, topic: "b"},
				{op: "join", session: 0, topic: "c", wantErr: hub.ErrLimit},
				{op: "join", session: 0, topic: "b"},
				{op: "join", session: 1, topic: "c"},
				{op: "publish", topic: "c", msg: "1"},
			},
			want:  [][]string{nil, {"1"}},
			stats: hub.Stats{Topics: 3, Sessions: 2, Memberships: 3, Delivered: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			h := hub.New(&tt.opts)
			defer h.Close(ctx)
			ss := make([]*fakeSession, len(tt.limits))
			for i, l := range tt.limits {
				ss[i] = newFake(fmt.Sprint("s", i), l)
			}
			for i, st := range tt.steps {
				var err error
				switch st.op {
				case "join":
					err = h.Join(ctx, ss[st.session], st.topic)
				case "leave":
					h.Leave(ss[st.session], st.topic)
				case "leaveall":
					h.LeaveAll(ss[st.session])
				case "close":
					ss[st.session].Close(3000, "bye")
				case "publish":
					err = h.Publish(ctx, st.topic, st.msg)
				}
				if !errors.Is(err, st.wantErr) || (err != nil) != (st.wantErr != nil) {
					t.Fatalf("step %d (%s): err %v, want %v", i, st.op, err, st.wantErr)
				}
			}
			if tt.settled {
				eventually(t, "closed sessions to leave", func() bool { return h.Stats() == tt.stats })
			}
			if got := h.Stats(); got != tt.stats {
				t.Errorf("stats %+v, want %+v", got, tt.stats)
			}
			for i, s := range ss {
				if got := s.received(); !slices.Equal(got, tt.want[i]) {
					t.Errorf("session %d received %q, want %q", i, got, tt.want[i])
				}
				wantCode := 0
				if tt.closed != nil {
					wantCode = tt.closed[i]
				}
				if got := s.closeCode(); got != wantCode {
					t.Errorf("session %d close code %d, want %d", i, got, wantCode)
				}
			}
		})
	}
}

func TestClosedHub(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(nil)
	s := newFake("s", 0)
	if err := h.Join(ctx, s, "a"); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := h.Stats(); got != (hub.Stats{}) {
		t.Errorf("stats after Close %+v, want zero", got)
	}
	if err := h.Join(ctx, s, "a"); !errors.Is(err, hub.ErrHubClosed) {
		t.Errorf("Join after Close: %v, want ErrHubClosed", err)
	}
	if err := h.Publish(ctx, "a", "x"); !errors.Is(err, hub.ErrHubClosed) {
		t.Errorf("Publish after Close: %v, want ErrHubClosed", err)
	}
	s.Close(1000, "") // its AfterFunc was stopped: nothing may run
	h.Leave(s, "a")
	h.LeaveAll(s)
}

// TestOrder checks that one publisher's messages reach every member in
// order while others publish to the same topic concurrently.
func TestOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(nil)
	defer h.Close(ctx)
	ss := make([]*fakeSession, 20)
	for i := range ss {
		ss[i] = newFake(fmt.Sprint(i), 0)
		if err := h.Join(ctx, ss[i], "t"); err != nil {
			t.Fatal(err)
		}
	}
	const publishers, each = 4, 200
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				h.Publish(ctx, "t", fmt.Sprintf("%d/%d", p, i))
			}
		})
	}
	wg.Wait()
	for _, s := range ss {
		got := s.received()
		if len(got) != publishers*each {
			t.Fatalf("session %s got %d messages, want %d", s.id, len(got), publishers*each)
		}
		next := make([]int, publishers)
		for _, m := range got {
			var p, i int
			fmt.Sscanf(m, "%d/%d", &p, &i)
			if i != next[p] {
				t.Fatalf("session %s: message %q out of order (want %d/%d)", s.id, m, p, next[p])
			}
			next[p]++
		}
	}
}

// TestConcurrentChurn joins, leaves, publishes and closes from many
// goroutines at once (run it with -race); at the end, every session has
// closed and the hub must be empty.
func TestConcurrentChurn(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(&hub.Options{MaxTopicsPerSession: 5})
	defer h.Close(ctx)
	topics := []string{"a", "b", "c", "d", "e", "f"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := newFake(fmt.Sprintf("%d-%d", w, i), 3)
				for j := range 3 {
					err := h.Join(ctx, s, topics[(i+j+w)%len(topics)])
					if err != nil && !errors.Is(err, sockjs.ErrClosed) {
						t.Errorf("join: %v", err)
					}
				}
				h.Publish(ctx, topics[i%len(topics)], "m")
				switch i % 3 {
				case 0:
					h.Leave(s, topics[(i+w)%len(topics)])
				case 1:
					h.LeaveAll(s)
				}
				s.Close(1000, "")
			}
		})
	}
	wg.Wait()
	eventually(t, "an empty hub", func() bool {
		st := h.Stats()
		return st.Topics == 0 && st.Sessions == 0 && st.Memberships == 0
	})
}

// TestManyMembers fills one topic, empties most of it in a scattered order
// (the member list is compacted on the way), and checks that exactly the
// remaining members get the next message.
func TestManyMembers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(nil)
	defer h.Close(ctx)
	ss := make([]*fakeSession, 1000)
	for i := range ss {
		ss[i] = newFake(fmt.Sprint(i), 0)
		if err := h.Join(ctx, ss[i], "t"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ss {
		if i%97 != 0 {
			h.Leave(ss[(i*7919)%len(ss)], "t") // a permutation: 7919 is prime
		}
	}
	if err := h.Publish(ctx, "t", "x"); err != nil {
		t.Fatal(err)
	}
	got := 0
	for i, s := range ss {
		n := len(s.received())
		got += n
		kept := false
		for j := range ss {
			if j%97 == 0 && (j*7919)%len(ss) == i {
				kept = true
			}
		}
		if (n == 1) != kept {
			t.Errorf("session %d: %d messages, kept=%v", i, n, kept)
		}
	}
	if st := h.Stats(); st.Memberships != got || got != 11 {
		t.Errorf("%d delivered, stats %+v, want 11 members", got, st)
	}
}

// TestOptionsValidation: negative limits and durations panic, naming the
// field (a negative MaxTopics refused every Join, a negative BrokerTimeout
// failed every broker call).
func TestOptionsValidation(t *testing.T) {
	for _, tt := range []struct {
		field string
		opts  hub.Options
	}{
		{"MaxTopics", hub.Options{MaxTopics: -1}},
		{"MaxTopicsPerSession", hub.Options{MaxTopicsPerSession: -1}},
		{"BrokerTimeout", hub.Options{BrokerTimeout: -time.Second}},
		{"MaxIdentityBytes", hub.Options{MaxIdentityBytes: -1}},
		{"MaxPresenceList", hub.Options{MaxPresenceList: -1}},
	} {
		t.Run(tt.field, func(t *testing.T) {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "Options."+tt.field+" ") {
					t.Fatalf("New panicked with %v, want a message naming Options.%s", p, tt.field)
				}
			}()
			hub.New(&tt.opts).Close(context.Background())
		})
	}
}
