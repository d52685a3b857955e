package hub_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/sockjs"
)

// chatService is a SockJS service whose sessions join "room" and publish
// every message they receive to it.
func chatService(h *hub.Hub, opts *sockjs.Options) *sockjs.Handler {
	return sockjs.New(func(s sockjs.Session) {
		if err := h.Join(s.Context(), s, "room"); err != nil {
			return
		}
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			h.Publish(s.Context(), "room", msg)
		}
	}, opts)
}

type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dialWS(t *testing.T, base, id string) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/room/000/" + id + "/websocket"
	c, _, err := websocket.DefaultDialer.DialContext(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &wsClient{t: t, c: c}
	if f := w.frame(); f != "o" {
		t.Fatalf("first frame %q", f)
	}
	return w
}

func (w *wsClient) frame() string {
	w.t.Helper()
	w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return string(p)
}

// messages reads a[...] frames until it has n messages.
func (w *wsClient) messages(n int) []string {
	w.t.Helper()
	var all []string
	for len(all) < n {
		f := w.frame()
		if f == "h" {
			continue
		}
		var batch []string
		if !strings.HasPrefix(f, "a") || json.Unmarshal([]byte(f[1:]), &batch) != nil {
			w.t.Fatalf("unexpected frame %q", f)
		}
		all = append(all, batch...)
	}
	return all
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSockJSSessions runs the hub with real sessions: websocket members
// get every publication, a member that never polls is closed with
// CodeTooSlow once its queue is full, and sessions leave when the client
// goes away or the handler shuts down.
func TestSockJSSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(nil)
	defer h.Close(ctx)
	// Two services feed one hub: /room with the default queue, /slow with
	// a 64-byte one.
	srv := chatService(h, nil)
	slow := chatService(h, &sockjs.Options{MaxQueuedBytes: 64})
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/room", srv)
	sockjs.Mount(mux, "/slow", slow)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.Shutdown(ctx)
	defer slow.Shutdown(ctx)

	clients := []*wsClient{dialWS(t, ts.URL, "a"), dialWS(t, ts.URL, "b"), dialWS(t, ts.URL, "c")}
	defer func() {
		for _, c := range clients {
			c.c.Close()
		}
	}()
	eventually(t, "three members", func() bool { return h.Stats().Memberships == 3 })

	// A message from one client reaches all three, encoded once.
	if err := clients[0].c.WriteMessage(websocket.TextMessage, []byte(`["hi \"there\""]`)); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if got := c.messages(1); !slices.Equal(got, []string{`hi "there"`}) {
			t.Fatalf("client %d got %q", i, got)
		}
	}

	// An xhr-polling session that stops polling: its 64-byte queue fills.
	if got := post(t, ts.URL+"/slow/000/slow/xhr", ""); got != "o\n" {
		t.Fatalf("open poll: %q", got)
	}
	eventually(t, "four members", func() bool { return h.Stats().Memberships == 4 })
	var want []string
	for i := range 8 {
		msg := strings.Repeat(string(rune('0'+i)), 20)
		want = append(want, msg)
		if err := h.Publish(ctx, "room", msg); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		if got := c.messages(len(want)); !slices.Equal(got, want) {
			t.Fatalf("client %d got %q, want %q", i, got, want)
		}
	}
	if st := h.Stats(); st.ClosedSlow != 1 {
		t.Errorf("ClosedSlow = %d, want 1", st.ClosedSlow)
	}
	eventually(t, "the slow session to leave", func() bool { return h.Stats().Memberships == 3 })
	var polls []string
	for range 3 {
		p := post(t, ts.URL+"/slow/000/slow/xhr", "")
		polls = append(polls, p)
		if strings.HasPrefix(p, "c[") {
			break
		}
	}
	if last := polls[len(polls)-1]; last != "c[3008,\"Client too slow\"]\n" {
		t.Errorf("polls of the slow session: %q, want to end with its close frame", polls)
	}

	// A client that goes away leaves.
	clients[1].c.Close()
	eventually(t, "the closed client to leave", func() bool { return h.Stats().Memberships == 2 })

	// Shutdown closes the rest.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(sctx) }()
	for _, i := range []int{0, 2} {
		for {
			f := clients[i].frame()
			if strings.HasPrefix(f, "c") {
				break
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	eventually(t, "an empty hub", func() bool { return h.Stats() == hub.Stats{Delivered: h.Stats().Delivered, ClosedSlow: 1} })
}

// TestSockJSPresence runs presence with real sessions of three transports:
// each member's transport is known, a raw websocket member (which has no
// session id) still has an ID of its own, and PublishExcept spares its
// sender.
func TestSockJSPresence(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := hub.New(nil)
	defer h.Close(ctx)
	srv := sockjs.New(func(s sockjs.Session) {
		name := s.Request().URL.Query().Get("name")
		if err := h.JoinAs(s.Context(), s, "room", name); err != nil {
			return
		}
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			h.PublishExcept(s.Context(), "room", name+": "+msg, s)
		}
	}, nil)
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/room", srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.Shutdown(ctx)

	ws := "ws" + strings.TrimPrefix(ts.URL, "http")
	framed, _, err := websocket.DefaultDialer.DialContext(ctx, ws+"/room/000/a/websocket?name=alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer framed.Close()
	alice := &wsClient{t: t, c: framed}
	if f := alice.frame(); f != "o" {
		t.Fatalf("first frame %q", f)
	}
	raw, _, err := websocket.DefaultDialer.DialContext(ctx, ws+"/room/websocket?name=rob", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if got := post(t, ts.URL+"/room/000/p/xhr?name=polly", ""); got != "o\n" {
		t.Fatalf("open poll: %q", got)
	}
	eventually(t, "three members", func() bool { return h.Stats().Memberships == 3 })

	ms, total, err := h.Presence(ctx, "room", 0)
	if err != nil || total != 3 {
		t.Fatalf("Presence: %d, %v", total, err)
	}
	got := map[string]string{}
	ids := map[string]bool{}
	for _, m := range ms {
		got[m.Identity] = m.SessionID + " " + string(m.Transport)
		ids[m.ID] = true
	}
	want := map[string]string{"alice": "a websocket", "rob": " websocket-raw", "polly": "p xhr-polling"}
	if len(got) != 3 || len(ids) != 3 {
		t.Fatalf("members %+v, want three with distinct IDs", ms)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}

	// alice's message reaches rob and polly, not her.
	if err := framed.WriteMessage(websocket.TextMessage, []byte(`["hi"]`)); err != nil {
		t.Fatal(err)
	}
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, p, err := raw.ReadMessage(); err != nil || string(p) != "alice: hi" {
		t.Fatalf("rob: %q, %v", p, err)
	}
	if got := post(t, ts.URL+"/room/000/p/xhr", ""); got != "a[\"alice: hi\"]\n" {
		t.Fatalf("polly: %q", got)
	}
	if err := raw.WriteMessage(websocket.TextMessage, []byte("yo")); err != nil {
		t.Fatal(err)
	}
	if got := alice.messages(1); !slices.Equal(got, []string{"rob: yo"}) {
		t.Fatalf("alice got %q, want rob's message and not her own", got)
	}
}
