// Package client is a SockJS 0.3.3 client: it lets a Go program talk to a
// SockJS service (this module's server, sockjs-node, Spring, ...) the way
// sockjs-client does in a browser.
//
//	c, err := client.Dial(ctx, "http://localhost:8081/echo", nil)
//	if err != nil { ... }
//	defer c.Close(1000, "")
//	err = c.Send(ctx, "hello")
//	msg, err := c.Recv(ctx)
//
// Dial reads the service's /info, then tries the transports in
// sockjs-client's order, falling back to the next one when a transport
// cannot connect: websocket, xhr-streaming, eventsource, xhr-polling.
// Options.Transports restricts or reorders the list, or forces a single
// transport; the raw websocket (<url>/websocket, no SockJS framing) is used
// only when listed there.
//
// What the transports take care of: the open frame, heartbeats (h frames and
// websocket pings are consumed; Options.ReceiveTimeout ends a connection
// that has gone silent), reopening a stream when the server ends it at its
// response limit, polling again after each poll, batching queued messages
// into one xhr_send POST or websocket frame, and close frames, which become
// a *CloseError returned by Recv after the messages that arrived before
// them. The eventsource data escapes (%25, %0D, %0A, %00) are undone.
// Unpaired UTF-16 surrogates survive in both directions as WTF-8 bytes.
//
// # Errors
//
// Every error that ends a connection matches ErrClosed with errors.Is. A
// close from the server is a *CloseError with the server's code and reason
// (errors.As); a failure of the connection is a *CloseError with code 1006
// that also wraps its cause (a *StatusError, ErrProtocol, ErrFrameTooLarge,
// ErrTimeout, a network error). CloseError and ErrClosed are the server
// package's own, so code handling both sides tests one type.
//
// # Concurrency
//
// All methods of Conn are safe for concurrent use. A Conn runs two
// goroutines, both owned by the Conn: the receive goroutine, the only reader
// of the transport (it reads frames, reopens streams, polls, and fills the
// receive queue), and the send goroutine, the only writer (it takes
// everything Send has queued, delivers it as one batch, and repeats). They
// end by themselves when the connection ends (a close frame, an error), and
// Close waits for both: once Close has returned, the Conn has no goroutine
// left (idle keep-alive connections belong to the http.Client, as always).
// Recv and Send never do network I/O themselves; they wait on the queues,
// with their context. Timeouts use timers and context.AfterFunc, not
// watcher goroutines.
//
// Several goroutines may call Recv at once; each message goes to exactly one
// of them. Messages from Send calls on different goroutines are sent in the
// order the calls returned.
//
// # Limits
//
// Both queues are bounded in bytes (Options.MaxRecvQueueBytes,
// Options.MaxSendQueueBytes). A full receive queue stops the receive
// goroutine from reading, so the server sees backpressure rather than the
// client buffering without bound; a full send queue makes Send wait. A frame
// larger than Options.MaxFrameBytes ends the connection. Nothing is ever
// dropped silently, except by Close, which discards what is still queued.
//
// # HTTP
//
// All HTTP requests go through Options.HTTPClient; give it a cookie jar for
// services behind sticky load balancers (JSESSIONID). Options.Header adds
// headers to every request, the websocket handshake included.
package client
