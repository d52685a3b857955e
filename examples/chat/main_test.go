package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-sockjs/sockjs/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the chat on a free port until the test ends.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return "http://" + addr
}

type chatter struct {
	t *testing.T
	c *client.Conn
}

func dial(t *testing.T, base, query string, tr client.Transport) *chatter {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, base+"/chat?"+query, &client.Options{Transports: []client.Transport{tr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(1000, "") })
	return &chatter{t: t, c: c}
}

// raw returns the next message.
func (c *chatter) raw() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	msg, err := c.c.Recv(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	return msg
}

// members returns the member list a session hears first, as nick@node,
// sorted.
func (c *chatter) members() []string {
	c.t.Helper()
	for {
		msg := c.raw()
		var l memberList
		if err := json.Unmarshal([]byte(msg), &l); err != nil {
			c.t.Fatalf("%q: %v", msg, err)
		}
		switch l.Type {
		case "members":
			return listNicks(c.t, l)
		case "join": // its own, published by another goroutine
		default:
			c.t.Fatalf("message %q before the member list", msg)
		}
	}
}

func listNicks(t *testing.T, l memberList) []string {
	t.Helper()
	var out []string
	for _, m := range l.Members {
		out = append(out, m.Nick+"@"+m.Node)
	}
	sort.Strings(out)
	if l.Count != len(out) {
		t.Fatalf("member list: count %d, %d members", l.Count, len(out))
	}
	return out
}

// next returns the next event of one of the types, skipping the others
// (joins and leaves come from another goroutine, in no fixed order with
// the rest).
func (c *chatter) next(types ...string) event {
	c.t.Helper()
	for {
		msg := c.raw()
		var e event
		if err := json.Unmarshal([]byte(msg), &e); err != nil {
			c.t.Fatalf("%q: %v", msg, err)
		}
		if slices.Contains(types, e.Type) {
			e.ID = "" // random
			return e
		}
	}
}

// expect checks the next event of want's type; for joins and leaves,
// the next one of want's nick (its own join may come late).
func (c *chatter) expect(want event) {
	c.t.Helper()
	for {
		got := c.next(want.Type)
		if want.Type != "message" && got.Nick != want.Nick {
			continue
		}
		if got != want {
			c.t.Fatalf("got %+v, want %+v", got, want)
		}
		return
	}
}

func (c *chatter) send(msg string) {
	c.t.Helper()
	if err := c.c.Send(c.t.Context(), msg); err != nil {
		c.t.Fatal(err)
	}
}

// httpMembers asks GET /members.
func httpMembers(t *testing.T, base, room string) []string {
	t.Helper()
	resp, err := http.Get(base + "/members?room=" + room)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l memberList
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/members: %s, %v", resp.Status, err)
	}
	return listNicks(t, l)
}

// eventuallyMembers polls GET /members until it lists want.
func eventuallyMembers(t *testing.T, base, room string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := httpMembers(t, base, room)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/members?room=%s: %q, want %q", base, room, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPage(t *testing.T) {
	base := start(t, "-client-url", "/static/sockjs.min.js")
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<script src="/static/sockjs.min.js">`) {
		t.Fatalf("page: %s\n%s", resp.Status, body)
	}
	resp2, err := http.Get(base + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 404 {
		t.Errorf("/nothing: %s, want 404", resp2.Status)
	}
}

func TestChat(t *testing.T) {
	base := start(t, "-name", "N1")
	alice := dial(t, base, "room=r1&nick=alice", client.WebSocket)
	if got := alice.members(); !slices.Equal(got, []string{"alice@N1"}) {
		t.Fatalf("alice hears members %q", got)
	}
	bob := dial(t, base, "room=r1&nick=b%00ob", client.XHRStreaming)
	if got := bob.members(); !slices.Equal(got, []string{"alice@N1", "bob@N1"}) {
		t.Fatalf("bob hears members %q", got)
	}
	alice.expect(event{Type: "join", Nick: "bob", Node: "N1"})
	carol := dial(t, base, "room=r2&nick=carol", client.EventSource)
	carol.members()
	dave := dial(t, base, "room=r2&nick=dave", client.XHRPolling)
	dave.members()
	if got := httpMembers(t, base, "r1"); !slices.Equal(got, []string{"alice@N1", "bob@N1"}) {
		t.Fatalf("/members?room=r1: %q", got)
	}

	// Messages reach the others, never their sender.
	alice.send("  hi\x07 <b>bob</b>  ")
	bob.expect(event{Type: "message", Nick: "alice", Text: "hi <b>bob</b>", Node: "N1"})
	bob.send(strings.Repeat("é", maxText+10))
	alice.expect(event{Type: "message", Nick: "bob", Text: strings.Repeat("é", maxText), Node: "N1"}) // not her own "hi"
	carol.send("alone")
	dave.expect(event{Type: "message", Nick: "carol", Text: "alone", Node: "N1"})
	alice.send("again")
	bob.expect(event{Type: "message", Nick: "alice", Text: "again", Node: "N1"}) // not his own, nor room r2's
	bob.send("last")
	alice.expect(event{Type: "message", Nick: "bob", Text: "last", Node: "N1"})

	bob.c.Close(1000, "")
	alice.expect(event{Type: "leave", Nick: "bob", Node: "N1"})
	eventuallyMembers(t, base, "r1", "alice@N1")
}

// TestChatRedis runs two chat processes on one Redis server (REDIS_ADDR;
// skipped without it): a message sent on one node reaches the other, and
// both nodes list the members of both.
func TestChatRedis(t *testing.T) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		t.Skip("REDIS_ADDR not set")
	}
	a := start(t, "-redis", addr, "-name", "A", "-presence-ttl", "2s")
	b := start(t, "-redis", addr, "-name", "B", "-presence-ttl", "2s")
	room := "redis-" + time.Now().Format("150405.000000")
	alice := dial(t, a, "room="+room+"&nick=alice", client.WebSocket)
	if got := alice.members(); !slices.Equal(got, []string{"alice@A"}) {
		t.Fatalf("alice hears members %q", got)
	}
	bob := dial(t, b, "room="+room+"&nick=bob", client.XHRStreaming)
	if got := bob.members(); !slices.Equal(got, []string{"alice@A", "bob@B"}) {
		t.Fatalf("bob hears members %q", got)
	}
	alice.expect(event{Type: "join", Nick: "bob", Node: "B"})
	for _, base := range []string{a, b} {
		if got := httpMembers(t, base, room); !slices.Equal(got, []string{"alice@A", "bob@B"}) {
			t.Fatalf("%s/members: %q", base, got)
		}
	}
	alice.send("hello from A")
	bob.expect(event{Type: "message", Nick: "alice", Text: "hello from A", Node: "A"})
	bob.send("hello from B")
	alice.expect(event{Type: "message", Nick: "bob", Text: "hello from B", Node: "B"}) // not her own
	bob.c.Close(1000, "")
	alice.expect(event{Type: "leave", Nick: "bob", Node: "B"})
	eventuallyMembers(t, a, room, "alice@A")
}

// TestListenError: run returns the error when it cannot listen, and leaves
// no goroutine behind (the hub's watcher goroutine included: goleak).
func TestListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := run(t.Context(), []string{"-addr", ln.Addr().String()}, io.Discard, nil); err == nil {
		t.Fatal("run on a busy address: no error")
	}
	goleak.VerifyNone(t)
}
