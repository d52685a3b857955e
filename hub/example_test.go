package hub_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/sockjs"
)

// A chat service: every session joins the room named in its URL
// (/chat?room=x) and everything it sends goes to the whole room.
func Example() {
	h := hub.New(nil)
	chat := sockjs.New(func(s sockjs.Session) {
		room := s.Request().URL.Query().Get("room")
		if err := h.Join(s.Context(), s, room); err != nil {
			s.Close(4000, "cannot join")
			return
		}
		// No Leave needed: a session leaves its topics when it closes.
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			h.Publish(s.Context(), room, msg)
		}
	}, nil)
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/chat", chat)
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux}
	srv.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		chat.Shutdown(ctx) // the sessions first,
		h.Close(ctx)       // then the hub
	})
	_ = srv // srv.ListenAndServe()
}

// A live feed where only the latest values matter: a session that cannot
// keep up misses some updates instead of being disconnected.
func ExampleOptions_dropWhenFull() {
	feed := hub.New(&hub.Options{DropWhenFull: true})
	go func() {
		for tick := range time.Tick(time.Second) {
			feed.Publish(context.Background(), "clock", tick.Format(time.RFC3339))
		}
	}()
	_ = sockjs.New(func(s sockjs.Session) {
		feed.Join(s.Context(), s, "clock")
		<-s.Context().Done()
	}, nil)
}

// Stats tells what the hub holds and what it did.
func ExampleHub_Stats() {
	h := hub.New(nil)
	defer h.Close(context.Background())
	st := h.Stats()
	fmt.Printf("%d topics, %d sessions, %d delivered, %d closed as too slow\n",
		st.Topics, st.Sessions, st.Delivered, st.ClosedSlow)
	// Output: 0 topics, 0 sessions, 0 delivered, 0 closed as too slow
}

// A chat room that knows who is there: each session joins with its user
// name, gets the member list, and its messages go to everyone else; one
// goroutine tells the room who joins and leaves.
func ExampleHub_PublishExcept() {
	h := hub.New(nil)
	w := h.WatchPresence(0)
	go func() {
		for {
			ev, err := w.Next(context.Background())
			if err != nil {
				return // the hub has closed
			}
			verb := " left"
			if ev.Joined {
				verb = " joined"
			}
			h.Publish(context.Background(), ev.Topic, ev.Member.Identity+verb)
		}
	}()
	chat := sockjs.New(func(s sockjs.Session) {
		name := s.Request().URL.Query().Get("name")
		if err := h.JoinAs(s.Context(), s, "lobby", name); err != nil {
			return
		}
		members, total, _ := h.Presence(s.Context(), "lobby", 50)
		s.Send(s.Context(), fmt.Sprintf("%d here, among them %v", total, members))
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			h.PublishExcept(s.Context(), "lobby", name+": "+msg, s) // no echo
		}
	}, nil)
	_ = chat
}
