package sockjs

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-sockjs/sockjs/internal/session"
	"github.com/go-sockjs/sockjs/transports"
)

// RemoteIP returns the IP address of r.RemoteAddr: the default ClientKey,
// and a BindSession choice.
func RemoteIP(r *http.Request) string { return session.RemoteIP(r) }

// CookieValue returns a BindSession (or ClientKey) function that reads the
// named cookie, for example a login session cookie.
func CookieValue(name string) func(r *http.Request) string {
	return func(r *http.Request) string {
		c, err := r.Cookie(name)
		if err != nil {
			return ""
		}
		return c.Value
	}
}

// Transport names a SockJS transport, for Options.DisabledTransports.
type Transport string

// The transports a Handler serves. Every one is on unless disabled.
const (
	// Websocket is SockJS-framed websocket (/server/session/websocket).
	// Disabling it also disables RawWebsocket, and /info then tells clients
	// not to try websockets.
	Websocket Transport = "websocket"
	// RawWebsocket is the plain websocket endpoint (/websocket), for
	// clients that speak no SockJS framing.
	RawWebsocket Transport = "websocket-raw"
	XHRStreaming Transport = "xhr-streaming" // streaming XHR responses
	XHRPolling   Transport = "xhr-polling"   // long-polling XHR
	EventSource  Transport = "eventsource"   // server-sent events
	HTMLFile     Transport = "htmlfile"      // a streaming page in a hidden iframe
	JSONPPolling Transport = "jsonp-polling" // script-tag long polling
)

// Defaults, used for zero fields of Options.
const (
	DefaultHeartbeatDelay  = 25 * time.Second
	DefaultDisconnectDelay = 5 * time.Second
	DefaultResponseLimit   = 128 << 10
	DefaultMaxMessageBytes = 4 << 20
	DefaultMaxQueuedBytes  = 1 << 20
	DefaultMaxSessions     = 100_000
	DefaultMaxRequestBytes = 16 << 10
	DefaultWriteTimeout    = 10 * time.Second
	DefaultPongTimeout     = 10 * time.Second
	DefaultClientURL       = "https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js"
)

// MessageOverhead is what every queued message counts towards
// MaxQueuedBytes beyond its text, and what bounds the number of messages in
// one body (see MaxMessageBytes): a message's slot in a queue and its
// bookkeeping cost memory even when its text is empty.
const MessageOverhead = session.MessageOverhead

// MaxIDLength bounds the server and session ids of a session URL
// (/server/session/transport), in bytes as sent (escaped). Longer ones are
// answered 404. SockJS clients use 3 and 8 characters.
const MaxIDLength = transports.MaxIDLength

// Options configures a Handler. The zero value (or a nil *Options) is a
// valid configuration: the SockJS 0.3.3 defaults, every transport on,
// same-origin requests only. New copies the options; changing them
// afterwards has no effect. Negative durations, sizes and counts are
// refused: New panics, naming the field.
type Options struct {
	// HeartbeatDelay is how long a receiving connection may stay silent
	// before the server writes a heartbeat frame. Zero means 25 s.
	HeartbeatDelay time.Duration

	// DisconnectDelay is how long a session waits for the client's next
	// receiving request before it closes. Zero means 5 s.
	DisconnectDelay time.Duration

	// ResponseLimit is how many bytes of frames a streaming response
	// (xhr-streaming, eventsource, htmlfile) carries before the server ends
	// it and the client opens another. Zero means 128 KiB.
	ResponseLimit int

	// MaxMessageBytes bounds a request body (xhr_send, jsonp_send; answered
	// 413 beyond it) and an incoming websocket message (the connection is
	// closed with 1009). It counts encoded bytes, so JSON escaping counts
	// too. One body or framed websocket message may also carry at most
	// MaxMessageBytes/MessageOverhead messages (65 536 by default; 413 or
	// close 1009 beyond). Zero means 4 MiB.
	MaxMessageBytes int64

	// MaxQueuedBytes bounds each session's queues, in bytes: outbound
	// (Session.Send blocks while it is full) and inbound (the client's
	// sends wait while the application does not call Recv). Each message
	// counts its text plus MessageOverhead, so a queue holds at most
	// MaxQueuedBytes/MessageOverhead messages however small. One message
	// larger than the bound is accepted when its queue is empty. Zero
	// means 1 MiB.
	MaxQueuedBytes int

	// MaxSessions bounds the number of open sessions; a request that would
	// open one more is answered 503. Zero means 100 000.
	MaxSessions int

	// MaxRequestBytes bounds the URL and headers of a request that opens a
	// session: the session keeps them (Session.Request) for its whole
	// life. A larger request is answered 431 and opens nothing. Zero means
	// 16 KiB.
	MaxRequestBytes int

	// MaxSessionsPerClient bounds the sessions of one client (see
	// ClientKey); beyond it a new session is answered 503. Zero means no
	// per-client bound.
	MaxSessionsPerClient int

	// ClientKey names the client a request comes from, for
	// MaxSessionsPerClient. Nil means RemoteIP. Behind a reverse proxy,
	// return the address the proxy reports (only if you trust it).
	ClientKey func(r *http.Request) string

	// BindSession, when set, ties each session to the value it returns for
	// the request that opened the session: requests for which it returns
	// another value are answered as if the session did not exist, so a
	// leaked session id is useless from elsewhere. RemoteIP and
	// CookieValue("name") are ready-made choices. Nil: no binding (as in
	// SockJS, the id alone addresses the session).
	BindSession func(r *http.Request) string

	// WriteTimeout bounds every write to a client; a client that does not
	// read for this long is disconnected. Zero means 10 s.
	WriteTimeout time.Duration

	// PongTimeout is how long after a heartbeat a websocket client must
	// have answered (with any frame; browsers answer the server's ping by
	// themselves) before the connection is closed as dead. Zero means
	// 10 s, so a dead peer is closed within HeartbeatDelay + PongTimeout.
	PongTimeout time.Duration

	// Accept, when set, runs for every new session before the client is
	// told that the session is open (before the open frame), on every
	// transport, on the goroutine of the request that opens the session.
	// It may read s.Request() (cookies, headers, a token in the query
	// string: sockjs-client keeps the service URL's query on every
	// transport URL), s.ID() and s.Transport(); messages it queues with
	// s.Send arrive right after the open frame, and hub topics it joins
	// deliver from then on, so the client misses nothing published while
	// it was being set up. The session function runs only once Accept has
	// returned nil.
	//
	// A *CloseError refuses the session: the client gets that close frame
	// in place of the open frame (sockjs-client reports its code and
	// reason in the close event; the Go client's Dial returns it), and the
	// session function never runs. Any other error refuses it with
	// CodeRefused (3000, "Refused"); the error is only logged. A session
	// that Accept closes (s.Close) is refused the same way. A panic in
	// Accept is logged as one in the session function is, and refuses the
	// session with CodeInternalError.
	//
	// Accept holds the opening request, and any other request for the
	// session waits for it: keep it short. Nothing drains the session's
	// queue before Accept returns, so Send there does not wait: once
	// MaxQueuedBytes are queued it returns ErrQueueFull, as TrySend does.
	// Recv inside Accept does not wait either: with nothing queued it
	// returns ErrNotOpen.
	Accept func(s Session) error

	// CookieNeeded turns on JSESSIONID handling, for load balancers that
	// route on that cookie: /info tells clients to send cookies and every
	// session response sets JSESSIONID (the request's own value, or
	// "dummy"), with Path=/ and no other attribute unless JSessionCookie
	// says otherwise.
	CookieNeeded bool

	// JSessionCookie, when set, is the template of the cookie set when
	// CookieNeeded is on, and setting it turns CookieNeeded on. Name
	// (empty means JSESSIONID), Path (empty means /), Domain, Secure,
	// HttpOnly, SameSite, MaxAge, Expires and Partitioned are used as
	// they are; Value is the request's cookie of that name, or "dummy".
	// Pages on another site than the service need SameSite:
	// http.SameSiteNoneMode with Secure: true, or browsers do not send the
	// cookie back. New panics if the template is not a valid cookie, or
	// has SameSite=None without Secure (browsers drop such cookies).
	JSessionCookie *http.Cookie

	// ClientURL is the sockjs-client script the iframe page loads; it must
	// be the same version as the one on the client's page. Empty means
	// sockjs-client 1.6.1 from jsDelivr.
	ClientURL string

	// AllowedOrigins is the one origin policy for CORS requests, websocket
	// upgrades and the iframe, htmlfile and jsonp transports. Empty means
	// the same origin only (the Origin's host equals the request's Host).
	// Entries: "*" allows every origin (SockJS's classic behaviour: the
	// Origin is echoed with credentials); "https://example.com" allows that
	// exact origin; "example.com" or "*.example.com" allows a host (or its
	// subdomains) on any scheme and port, "example.com:8080" that port
	// only; "null" allows the null origin. Requests without an Origin (and,
	// for the iframe transports, without a Referer) are allowed: they do
	// not come from a browser page. A refused request gets 403.
	AllowedOrigins []string

	// CheckOrigin, when set, decides by code the origins that
	// AllowedOrigins does not allow (a tenant table, a database), at the
	// same places: CORS requests (/info, xhr, xhr_send, xhr_streaming,
	// eventsource and their preflights), websocket upgrades, and the
	// iframe, htmlfile and jsonp transports. A request is allowed when
	// AllowedOrigins allows it or CheckOrigin returns true; so with both
	// set, the list is checked first and CheckOrigin is asked about the
	// rest (with AllowedOrigins empty, same-origin requests are still
	// allowed without asking). It is not called for requests that carry
	// no origin (non-browser clients; refuse those in Accept if you must).
	// For the iframe transports, which browsers load without an Origin
	// header, r's Origin header holds the origin of its Referer. It is
	// called concurrently and on every such request: keep it fast. With
	// CheckOrigin set, the iframe and htmlfile pages carry no
	// Content-Security-Policy frame-ancestors (which can only list fixed
	// origins); their Referer check still applies.
	CheckOrigin func(r *http.Request) bool

	// DisabledTransports lists the transports not to serve; their URLs
	// answer 404.
	DisabledTransports []Transport

	// EnableHixie76 accepts the obsolete, insecure draft-76 websocket
	// handshake (pre-2011 browsers and proxies) on the framed websocket
	// URL. Off by default; the official protocol suite needs it.
	EnableHixie76 bool

	// WebsocketCompression negotiates permessage-deflate when the client
	// offers it.
	WebsocketCompression bool

	// KeepStreamsInNetHTTP serves the streaming transports (xhr-streaming,
	// eventsource, htmlfile) from net/http's connection goroutine for the
	// life of each response. By default an HTTP/1.x stream's connection is
	// taken over (hijacked) once its session is attached, as a websocket's
	// is: an idle stream then costs about a third of the memory, but its
	// connection closes with the response (Connection: close), and
	// http.Server's connection hooks and ResponseWriter middleware see the
	// handler return at once. HTTP/2 streams always stay in net/http.
	KeepStreamsInNetHTTP bool

	// WebsocketReadBufferSize and WebsocketWriteBufferSize are the I/O
	// buffer sizes of each websocket connection. Write buffers (zero means
	// 4096) are pooled between writes, so an idle connection holds none.
	// A zero read size means: plain TCP connections read into pooled
	// buffers too and keep only 320 bytes while idle; other connections
	// (TLS, custom listeners) reuse net/http's 4 KiB reader. A non-zero
	// read size is a buffer of that size held by each connection.
	WebsocketReadBufferSize  int
	WebsocketWriteBufferSize int

	// Metrics receives counts (see Metrics). Nil means none.
	Metrics Metrics

	// Logger receives the handler's logs (session ids only at debug
	// level). Nil means no logging, except for panics recovered from
	// session functions and Metrics, which then go to slog.Default() (as
	// net/http logs a handler's panic even without an ErrorLog).
	Logger *slog.Logger
}
