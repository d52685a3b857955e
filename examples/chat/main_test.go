package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
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

// next returns the next event.
func (c *chatter) next() event {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	msg, err := c.c.Recv(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	var e event
	if err := json.Unmarshal([]byte(msg), &e); err != nil {
		c.t.Fatalf("%q: %v", msg, err)
	}
	return e
}

func (c *chatter) expect(want event) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("got %+v, want %+v", got, want)
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
	alice.expect(event{Type: "join", Nick: "alice", Node: "N1"})
	bob := dial(t, base, "room=r1&nick=b%00ob", client.XHRStreaming)
	bob.expect(event{Type: "join", Nick: "bob", Node: "N1"})
	alice.expect(event{Type: "join", Nick: "bob", Node: "N1"})
	other := dial(t, base, "room=r2&nick=carol", client.EventSource)
	other.expect(event{Type: "join", Nick: "carol", Node: "N1"})

	ctx := t.Context()
	if err := alice.c.Send(ctx, "  hi\x07 <b>bob</b>  "); err != nil {
		t.Fatal(err)
	}
	want := event{Type: "message", Nick: "alice", Text: "hi <b>bob</b>", Node: "N1"}
	alice.expect(want)
	bob.expect(want)
	if err := bob.c.Send(ctx, strings.Repeat("é", maxText+10)); err != nil {
		t.Fatal(err)
	}
	long := event{Type: "message", Nick: "bob", Text: strings.Repeat("é", maxText), Node: "N1"}
	alice.expect(long)
	bob.expect(long)

	bob.c.Close(1000, "")
	alice.expect(event{Type: "leave", Nick: "bob", Node: "N1"})

	// Room r2 heard none of it.
	if err := other.c.Send(ctx, "alone"); err != nil {
		t.Fatal(err)
	}
	other.expect(event{Type: "message", Nick: "carol", Text: "alone", Node: "N1"})
}

// TestChatRedis runs two chat processes on one Redis server (REDIS_ADDR;
// skipped without it): a message sent on one node reaches the other.
func TestChatRedis(t *testing.T) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		t.Skip("REDIS_ADDR not set")
	}
	a := start(t, "-redis", addr, "-name", "A")
	b := start(t, "-redis", addr, "-name", "B")
	room := "room=redis-" + time.Now().Format("150405.000000")
	alice := dial(t, a, room+"&nick=alice", client.WebSocket)
	alice.expect(event{Type: "join", Nick: "alice", Node: "A"})
	bob := dial(t, b, room+"&nick=bob", client.XHRStreaming)
	bob.expect(event{Type: "join", Nick: "bob", Node: "B"})
	alice.expect(event{Type: "join", Nick: "bob", Node: "B"})
	if err := alice.c.Send(t.Context(), "hello from A"); err != nil {
		t.Fatal(err)
	}
	want := event{Type: "message", Nick: "alice", Text: "hello from A", Node: "A"}
	alice.expect(want)
	bob.expect(want)
}
