package session

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
)

// fakeConn models a transport's connection and reader: what the client
// sends arrives on data; Pull and the background reader read it; an
// interrupt cuts a parked reader's wait. A message taken off data by a
// reader that then has to let go stays in held for the next one, as bytes
// stay in a connection's buffer.
type fakeConn struct {
	s          *Session
	data       chan []string
	interrupts chan struct{}
	held       []string
	hasHeld    bool
}

func newFakeConn(t *testing.T, id string) (*fakeConn, *Receiver) {
	t.Helper()
	tb, _ := newTable(t, testConfig())
	s, err := tb.OpenDetached(id, "websocket", httptest.NewRequest("GET", "/x/"+id+"/websocket", nil))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.AttachPush()
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeConn{s: s, data: make(chan []string, 16), interrupts: make(chan struct{}, 1)}
	r.SetPuller(c)
	return c, r
}

func (c *fakeConn) Pull(ctx context.Context) []string {
	if c.hasHeld {
		c.hasHeld = false
		return c.held
	}
	select {
	case m := <-c.data:
		return m
	case <-ctx.Done():
		return nil
	}
}

func (c *fakeConn) Interrupt() {
	select {
	case c.interrupts <- struct{}{}:
	default:
	}
}

// background is the fake's background reader; it reports how it ended.
func (c *fakeConn) background() string {
	for {
		if !c.s.Park() {
			c.s.LetGo()
			return "handed to a waiting Recv"
		}
		var m []string
		select {
		case m = <-c.data:
		case <-c.interrupts:
			if c.s.Unpark() {
				continue
			}
			return "taken over"
		}
		if !c.s.Unpark() {
			c.held, c.hasHeld = m, true
			return "taken over"
		}
		c.s.Deliver(context.Background(), m)
	}
}

// recvLoop receives until the session closes.
func recvLoop(s *Session, got chan<- string) {
	for {
		m, err := s.Recv(s.Context())
		if err != nil {
			close(got)
			return
		}
		got <- m
	}
}

func expectRecv(t *testing.T, got <-chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		if m := <-got; m != w {
			t.Fatalf("Recv = %q; want %q", m, w)
		}
	}
}

// TestRecvPulls: Recv reads through the Puller when nothing is queued,
// returns every message of a batch in order, and a Recv that was already
// waiting when the Puller was installed starts pulling at once.
func TestRecvPulls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, _ := newTable(t, testConfig())
		s, err := tb.OpenDetached("p", "websocket", httptest.NewRequest("GET", "/x/p/websocket", nil))
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.AttachPush()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 10)
		go recvLoop(s, got)
		synctest.Wait() // Recv waits: no puller yet
		c := &fakeConn{s: s, data: make(chan []string, 2)}
		r.SetPuller(c)
		c.data <- []string{"a", "b"}
		c.data <- []string{"c"}
		expectRecv(t, got, "a", "b", "c")
		synctest.Wait()
		if st := s.ReadRole(); st != ReadPulling {
			t.Fatalf("read role %v while Recv waits for data; want Pulling", st)
		}
		s.Close(3000, "bye")
		c.data <- nil
		if _, ok := <-got; ok {
			t.Fatal("Recv returned a message after the close")
		}
		r.Release(nil)
	})
}

// TestRecvTakesOverParkedReader: a Recv caller that finds the background
// reader parked interrupts it, and reads once it has let go.
func TestRecvTakesOverParkedReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, r := newFakeConn(t, "t")
		if !c.s.Adopt() {
			t.Fatal("Adopt refused with the role free")
		}
		ended := make(chan string, 1)
		go func() { ended <- c.background() }()
		c.data <- []string{"early"}
		synctest.Wait()
		if st := c.s.ReadRole(); st != ReadParked {
			t.Fatalf("read role %v; want Parked", st)
		}
		got := make(chan string, 10)
		go recvLoop(c.s, got)
		expectRecv(t, got, "early") // queued: no takeover needed for it
		synctest.Wait()
		if how := <-ended; how != "taken over" {
			t.Fatalf("background reader %s; want taken over", how)
		}
		if st := c.s.ReadRole(); st != ReadPulling {
			t.Fatalf("read role %v after the takeover; want Pulling", st)
		}
		c.data <- []string{"late"}
		expectRecv(t, got, "late")
		c.s.Close(3000, "bye")
		c.data <- nil
		r.Release(nil)
	})
}

// TestParkHandsRoleToWaitingRecv: a Recv caller that waits while the
// background reader delivers gets the role when the reader would park,
// instead of waiting for the next delivery.
func TestParkHandsRoleToWaitingRecv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, r := newFakeConn(t, "h")
		c.s.Adopt() // Background: reading
		got := make(chan string, 10)
		go recvLoop(c.s, got)
		synctest.Wait() // Recv waits for the background reader
		if how := c.background(); how != "handed to a waiting Recv" {
			t.Fatalf("background reader %s", how)
		}
		synctest.Wait()
		if st := c.s.ReadRole(); st != ReadPulling {
			t.Fatalf("read role %v; want Pulling", st)
		}
		c.data <- []string{"x"}
		expectRecv(t, got, "x")
		c.s.Close(3000, "bye")
		c.data <- nil
		r.Release(nil)
	})
}

// TestPullContextEndWakesOtherRecv: when a Recv caller's own context ends
// while it pulls, the role falls free and another Recv caller that waits
// takes it at once (nobody is left waiting with nobody reading).
func TestPullContextEndWakesOtherRecv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, r := newFakeConn(t, "w")
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 1)
		go func() {
			_, err := c.s.Recv(ctx)
			errs <- err
		}()
		synctest.Wait() // pulling
		got := make(chan string, 10)
		go recvLoop(c.s, got)
		synctest.Wait() // the second Recv waits on the first
		cancel()
		if err := <-errs; err != context.Canceled {
			t.Fatalf("Recv with a cancelled context = %v", err)
		}
		synctest.Wait()
		if st := c.s.ReadRole(); st != ReadPulling {
			t.Fatalf("read role %v after the first Recv left; want Pulling (the second)", st)
		}
		c.data <- []string{"y"}
		expectRecv(t, got, "y")
		c.s.Close(3000, "bye")
		c.data <- nil
		r.Release(nil)
	})
}

// TestReadTransitions: setRead allows exactly the transitions listed on
// ReadState, and refuses to take the role for a Recv while messages wait.
func TestReadTransitions(t *testing.T) {
	allowed := map[string]bool{
		"Free→Pulling": true, "Free→Background": true,
		"Pulling→Free": true, "Pulling→Done": true,
		"Background→Parked": true, "Background→Free": true, "Background→Done": true,
		"Parked→Background": true, "Parked→Handover": true,
		"Handover→Free": true,
	}
	for from := ReadFree; from <= ReadDone; from++ {
		for to := ReadFree; to <= ReadDone; to++ {
			name := fmt.Sprintf("%v→%v", from, to)
			t.Run(name, func(t *testing.T) {
				s := &Session{read: from}
				panicked := func() (p bool) {
					defer func() { p = recover() != nil }()
					s.setRead(to)
					return false
				}()
				if panicked == allowed[name] {
					t.Errorf("setRead %s: panicked %v; allowed %v", name, panicked, allowed[name])
				}
			})
		}
	}
	for _, to := range []ReadState{ReadPulling, ReadHandover} {
		s := &Session{read: ReadFree, in: []string{"waiting"}}
		if to == ReadHandover {
			s.read = ReadParked
		}
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "queued") {
					t.Errorf("→%v with a message queued: panic %v; want one about the queue", to, p)
				}
			}()
			s.setRead(to)
		}()
	}
	if got := ReadState(9).String(); got != "ReadState(9)" {
		t.Errorf("String of an unknown state = %q", got)
	}
}
