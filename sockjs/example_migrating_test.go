package sockjs_test

// The code samples of MIGRATING.md (igm/sockjs-go v3 to this package), kept
// here so that they compile in CI.

import (
	"context"
	"errors"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/go-sockjs/sockjs/hub"
	"github.com/go-sockjs/sockjs/sockjs"
)

// igm: sockjs.NewHandler("/chat", sockjs.DefaultOptions, chat) with
// http.Handle("/chat/", handler). Here the handler knows no prefix: Mount
// registers it (or use http.StripPrefix).
func Example_migratingMount() {
	chat := func(s sockjs.Session) {
		for {
			msg, err := s.Recv(s.Context()) // igm: s.Recv()
			if err != nil {
				return // closed; igm: err == sockjs.ErrSessionNotOpen
			}
			if err := s.Send(s.Context(), msg); err != nil { // igm: s.Send(msg)
				return
			}
		}
	}
	h := sockjs.New(chat, nil) // nil: the defaults; igm: sockjs.DefaultOptions
	mux := http.NewServeMux()
	sockjs.Mount(mux, "/chat", h)
	// or: mux.Handle("/chat/", http.StripPrefix("/chat", h))
	_ = &http.Server{Addr: ":8080", Handler: mux}
}

// igm's Options, field by field.
func Example_migratingOptions() {
	h := sockjs.New(func(s sockjs.Session) {}, &sockjs.Options{
		ClientURL:       "https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js", // igm: SockJSURL
		ResponseLimit:   128 << 10,                                                             // igm: ResponseLimit (uint32)
		HeartbeatDelay:  25 * time.Second,                                                      // same
		DisconnectDelay: 5 * time.Second,                                                       // same
		WriteTimeout:    10 * time.Second,                                                      // igm: WebsocketWriteTimeout (0: none)
		// igm: Websocket: false, RawWebsocket: false (its default),
		// DisableXHR, DisableXHRStreaming, DisableEventSource,
		// DisableHtmlFile, DisableJSONP.
		DisabledTransports: []sockjs.Transport{sockjs.RawWebsocket, sockjs.JSONPPolling},
		// igm: WebsocketUpgrader: &websocket.Upgrader{EnableCompression: true}
		WebsocketCompression: true,
		// igm: JSessionID: sockjs.DefaultJSessionID
		CookieNeeded: true,
		// igm: CheckOrigin, and Origin: "*" for CORS; here one policy
		// for CORS, websockets and the iframe transports.
		AllowedOrigins: []string{"https://app.example.com"},
		CheckOrigin: func(r *http.Request) bool {
			return strings.HasSuffix(r.Header.Get("Origin"), ".tenants.example.com")
		},
	})
	_ = h
}

// igm: a JSessionID function that set its own cookie. Here a template:
// cross-site pages need SameSite=None; Secure.
func Example_migratingJSessionID() {
	h := sockjs.New(func(s sockjs.Session) {}, &sockjs.Options{
		JSessionCookie: &http.Cookie{Name: "JSESSIONID", Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode},
	})
	_ = h
}

// igm: authentication inside the session function, after the client had
// already been told the session was open. Here Accept runs before the open
// frame: a refused client gets the close frame instead, the session
// function never runs, and what Accept sends or joins is in place before
// the client can act.
func Example_migratingAccept() {
	rooms := hub.New(nil)
	users := map[string]string{"secret-token": "alice"}
	h := sockjs.New(func(s sockjs.Session) {
		defer rooms.LeaveAll(s)
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			rooms.Publish(s.Context(), "lobby", msg)
		}
	}, &sockjs.Options{
		Accept: func(s sockjs.Session) error {
			// sockjs-client keeps the query string of the service URL
			// (new SockJS("/chat?token=...")) on every transport URL.
			user, ok := users[s.Request().URL.Query().Get("token")]
			if !ok {
				return &sockjs.CloseError{Code: 4001, Reason: "Unauthorized"}
			}
			if err := rooms.Join(s.Context(), s, "lobby"); err != nil {
				return err // closes with CodeRefused (3000 "Refused")
			}
			return s.Send(s.Context(), "welcome, "+user)
		},
	})
	_ = h
}

// igm: s.GetSessionState() and s.ReceiverType(). Here a closed session is
// one whose Context is done (or whose Recv/Send return an error matching
// ErrClosed), and Transport names the transport.
func Example_migratingState() {
	_ = sockjs.New(func(s sockjs.Session) {
		log.Printf("session over %s", s.Transport()) // igm: s.ReceiverType()
		go func() {
			<-s.Context().Done() // igm: GetSessionState() == SessionClosed
			log.Printf("closed")
		}()
		ctx, cancel := context.WithTimeout(s.Context(), 2*time.Second)
		defer cancel()
		// Send blocks while the session's queue is full (igm's never did:
		// its queue had no bound).
		if err := s.Send(ctx, "hello"); errors.Is(err, sockjs.ErrClosed) {
			return
		}
		s.Close(3000, "Go away!") // igm: Close(uint32, string)
	}, nil)
}
