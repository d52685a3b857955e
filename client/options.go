package client

import (
	"fmt"
	"net/http"
	"time"
)

// Transport names a way of carrying a SockJS session. The names are the
// ones sockjs-client uses (plus WebSocketRaw), so a list written for
// sockjs-client's "transports" option means the same here.
type Transport string

// The transports this package implements.
const (
	// WebSocket is SockJS over a WebSocket: GET <url>/<server>/<session>/websocket,
	// one SockJS frame per text message, messages sent as ["m"] arrays.
	WebSocket Transport = "websocket"

	// XHRStreaming holds one POST <url>/<server>/<session>/xhr_streaming
	// response open and reads one frame per line; the server ends the
	// response after its response limit, and the client opens the next one.
	// Messages go up with POST .../xhr_send.
	XHRStreaming Transport = "xhr-streaming"

	// EventSource holds one GET <url>/<server>/<session>/eventsource
	// (text/event-stream) open, one frame per event; reopened like
	// XHRStreaming. Messages go up with xhr_send.
	EventSource Transport = "eventsource"

	// XHRPolling issues one POST <url>/<server>/<session>/xhr at a time, each
	// answered with one frame, and polls again at once. Messages go up with
	// xhr_send.
	XHRPolling Transport = "xhr-polling"

	// WebSocketRaw is a plain WebSocket at <url>/websocket, without SockJS
	// framing: each text message is one message, both ways, and the server
	// closes with a WebSocket close frame. It is never chosen unless listed
	// in Options.Transports. ReceiveTimeout does not apply to it (the server
	// sends no heartbeats on it).
	WebSocketRaw Transport = "websocket-raw"
)

// defaultTransports is the order sockjs-client tries the transports this
// package has (its list, without the browser-only ones).
var defaultTransports = []Transport{WebSocket, XHRStreaming, EventSource, XHRPolling}

func (t Transport) valid() bool {
	switch t {
	case WebSocket, XHRStreaming, EventSource, XHRPolling, WebSocketRaw:
		return true
	}
	return false
}

// usesWebSocket reports whether t is disabled by "websocket":false in /info.
func (t Transport) usesWebSocket() bool { return t == WebSocket || t == WebSocketRaw }

// Options configures Dial. The zero value (or a nil *Options) gives the
// defaults described on each field. Dial copies the struct; changing it
// afterwards has no effect on connections already dialed.
type Options struct {
	// Transports lists the transports to try, in order. Dial reads /info,
	// drops WebSocket and WebSocketRaw when the server says
	// "websocket":false, then tries each remaining transport with a fresh
	// session id until one opens. A transport that fails to connect (refused,
	// 404, handshake error, timeout, no open frame) makes Dial try the next
	// one; a close frame received before the open frame ends Dial with that
	// *CloseError, as in sockjs-client.
	//
	// Empty means sockjs-client's order for the transports implemented
	// here: WebSocket, XHRStreaming, EventSource, XHRPolling. A single
	// entry forces that transport. An unknown name makes Dial fail.
	Transports []Transport

	// HTTPClient performs every HTTP request: /info, the receiving requests
	// and xhr_send. Nil means http.DefaultClient.
	//
	// Its Jar, if any, stores cookies such as JSESSIONID (which sticky load
	// balancers in front of SockJS servers rely on) and sends them back on
	// every request, the websocket handshake included. Its Timeout applies
	// to /info and xhr_send only: receiving requests are long-lived by
	// design and are bounded by ReceiveTimeout instead.
	//
	// The websocket transports cannot use the client's RoundTripper. When it
	// is an *http.Transport (or nil, meaning http.DefaultTransport), its
	// Proxy, TLSClientConfig, DialContext and DialTLSContext are used for the
	// websocket too; otherwise the websocket uses http.ProxyFromEnvironment
	// and default dialing.
	HTTPClient *http.Client

	// Header holds extra request headers sent with every request, the
	// websocket handshake included (for example Authorization, Origin or
	// User-Agent). Headers the WebSocket handshake sets itself (Upgrade,
	// Connection, Sec-WebSocket-*) must not be present.
	Header http.Header

	// TransportTimeout bounds how long one transport may take to deliver the
	// open frame before Dial gives up on it and tries the next one. Zero
	// means what sockjs-client computes from the /info round trip time (RTT):
	// twice the retransmission timeout (RTO = 4×RTT above 100 ms, else
	// 300 ms + RTT), but at least 2 s.
	TransportTimeout time.Duration

	// ReceiveTimeout ends the connection (1006, wrapping ErrTimeout) when
	// nothing at all arrives from the server for this long: no frame, no
	// heartbeat, no websocket ping, and for the polling and streaming
	// transports no new response. Servers send a heartbeat after 25 s of
	// silence by default, so zero means 35 s; a negative value disables the
	// check. It does not apply to WebSocketRaw.
	ReceiveTimeout time.Duration

	// MaxFrameBytes is the largest frame accepted from the server: one line
	// of an xhr response, the data of one eventsource event, one websocket
	// message. A larger frame ends the connection with an error wrapping
	// ErrFrameTooLarge. Zero means 16 MiB; values below 4096 are raised to
	// 4096 (the xhr-streaming prelude alone is 2049 bytes).
	MaxFrameBytes int

	// MaxRecvQueueBytes bounds the messages received but not yet returned by
	// Recv. Each message counts its length plus 16 bytes. When the queue is
	// full, the connection stops reading from the server (backpressure: the
	// TCP window fills, polls are not reissued, the server queues or drops
	// according to its own policy) until Recv makes room. A single message
	// larger than the limit is still accepted when the queue is empty. Zero
	// means 1 MiB.
	MaxRecvQueueBytes int

	// MaxSendQueueBytes bounds the messages accepted by Send but not yet
	// delivered to the server, the batch being sent included. Each message
	// counts its length plus 16 bytes. When the queue is full, Send blocks
	// until there is room, the connection ends, or its context is done. A
	// single message larger than the limit is accepted when the queue is
	// empty. Zero means 1 MiB.
	MaxSendQueueBytes int
}

// Defaults for the zero values of Options.
const (
	defaultReceiveTimeout   = 35 * time.Second
	minTransportTimeout     = 2 * time.Second
	defaultMaxFrameBytes    = 16 << 20
	minMaxFrameBytes        = 4096
	defaultMaxRecvQueue     = 1 << 20
	defaultMaxSendQueue     = 1 << 20
	messageOverhead         = 16 // queue accounting per message
	closeHandshakeTimeout   = time.Second
	maxCloseReasonBytes     = 123
	maxErrorBodyBytes       = 4096
	sessionIDLength         = 16
	serverIDDigits          = 3
	defaultTransportTimeout = 5 * time.Second // when /info gave no RTT
)

// config is Options with defaults applied.
type config struct {
	transports       []Transport
	httpClient       *http.Client // for /info and xhr_send
	streamClient     *http.Client // for receiving requests: Timeout cleared
	header           http.Header
	transportTimeout time.Duration
	receiveTimeout   time.Duration // 0: disabled
	maxFrame         int
	maxRecvQueue     int
	maxSendQueue     int
}

func newConfig(opts *Options) (*config, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	c := &config{
		header:           o.Header.Clone(),
		transportTimeout: o.TransportTimeout,
		receiveTimeout:   o.ReceiveTimeout,
		maxFrame:         o.MaxFrameBytes,
		maxRecvQueue:     o.MaxRecvQueueBytes,
		maxSendQueue:     o.MaxSendQueueBytes,
	}
	if len(o.Transports) == 0 {
		c.transports = defaultTransports
	} else {
		for _, t := range o.Transports {
			if !t.valid() {
				return nil, fmt.Errorf("sockjs client: unknown transport %q", t)
			}
		}
		c.transports = append([]Transport(nil), o.Transports...)
	}
	c.httpClient = o.HTTPClient
	if c.httpClient == nil {
		c.httpClient = http.DefaultClient
	}
	c.streamClient = c.httpClient
	if c.httpClient.Timeout != 0 {
		sc := *c.httpClient
		sc.Timeout = 0
		c.streamClient = &sc
	}
	if c.header == nil {
		c.header = http.Header{}
	}
	switch {
	case c.receiveTimeout == 0:
		c.receiveTimeout = defaultReceiveTimeout
	case c.receiveTimeout < 0:
		c.receiveTimeout = 0
	}
	if c.maxFrame <= 0 {
		c.maxFrame = defaultMaxFrameBytes
	}
	c.maxFrame = max(c.maxFrame, minMaxFrameBytes)
	if c.maxRecvQueue <= 0 {
		c.maxRecvQueue = defaultMaxRecvQueue
	}
	if c.maxSendQueue <= 0 {
		c.maxSendQueue = defaultMaxSendQueue
	}
	return c, nil
}

// timeoutFor returns the open timeout for a transport given the /info round
// trip time, as sockjs-client computes it.
func (c *config) timeoutFor(rtt time.Duration) time.Duration {
	if c.transportTimeout > 0 {
		return c.transportTimeout
	}
	if rtt <= 0 {
		return defaultTransportTimeout
	}
	rto := 300*time.Millisecond + rtt
	if rtt > 100*time.Millisecond {
		rto = 4 * rtt
	}
	const roundTrips = 2
	return max(minTransportTimeout, roundTrips*rto)
}
