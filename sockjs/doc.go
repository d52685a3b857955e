// Package sockjs serves SockJS 0.3.3: the protocol behind sockjs-client's
// WebSocket-like object, with websocket and every HTTP fallback transport
// (xhr-streaming, xhr-polling, eventsource, htmlfile, jsonp-polling, and a
// raw websocket endpoint).
//
// A Handler serves one service. Mount it at a prefix and give it a function
// to run for every new connection:
//
//	h := sockjs.New(func(s sockjs.Session) {
//		for {
//			msg, err := s.Recv(s.Context())
//			if err != nil {
//				return // closed: errors.Is(err, sockjs.ErrClosed)
//			}
//			s.Send(s.Context(), msg)
//		}
//	}, nil)
//	mux := http.NewServeMux()
//	sockjs.Mount(mux, "/echo", h)
//
// Every transport feeds the same session; Session.Transport tells which one
// a client chose, should the function care.
//
// # Opening
//
// Options.Accept runs before the client is told that its session is open:
// check credentials there (s.Request() has the cookies and the query
// string), queue a welcome, join topics. Returning a *CloseError refuses the
// session with that close frame, and the function never runs.
//
// # Concurrency
//
// The function runs in its own goroutine, one per session; when it
// returns, the session closes. Every Session method is safe for concurrent
// use: one goroutine may Recv while others Send and another Closes. Send and
// Recv block (see Limits) and take a context; Close never blocks.
//
// A message the client sent is returned by exactly one Recv call, in the
// order sent, whatever the transport; a Recv whose context ends returns
// ctx.Err() and loses nothing. A session whose function waits in Recv costs
// no goroutine besides the function's own: on a websocket, Recv reads the
// connection itself. A function that never calls Recv still has its
// connection read, so its client's close is noticed. Send queues; on a
// plain (not TLS) websocket whose session has been quiet, it also writes
// the frame itself with one system call that does not wait for the client
// (what the socket does not take goes to a writer goroutine), which spares
// a goroutine hand-off per message. TrySend and Close only queue: a
// goroutine broadcasting with TrySend never writes to the clients it
// reaches.
// No lock is held while writing to a client or while calling the
// application, so a slow client delays only its own session.
//
// # Limits
//
// Every queue, body and count is bounded; the Options fields say the
// defaults. Session.Send blocks while the session's outbound queue is full
// (MaxQueuedBytes), until the client catches up, the session closes or the
// context ends: use a context with a deadline to drop slow clients.
// Messages from the client wait in an inbound queue of the same bound; when
// it is full, the client's next send waits (an xhr_send request is held, a
// websocket is not read) until Recv makes room. Queues count every message
// at its length plus MessageOverhead, so empty messages are bounded too.
// Bodies and websocket messages over MaxMessageBytes, or carrying more than
// MaxMessageBytes/MessageOverhead messages, are refused (413, close 1009).
// The sends (xhr_send, jsonp_send) of one session take turns: while one is
// read and delivered, the next waits with its body unread, and only while
// the inbound queue has room; at most 8 wait, more are answered 503. A send
// is answered with success only when all its messages were queued; one to
// a session that closed first gets 404. Server and session ids longer than
// MaxIDLength are answered 404, and a request that would open a session
// with a URL and headers over MaxRequestBytes is answered 431 (a session
// keeps them). Sessions over MaxSessions are refused with 503. Every write
// to a client has a deadline (WriteTimeout).
//
// # Panics
//
// A panic in a session function is handled as net/http handles one in a
// handler: it is logged with its stack (to Options.Logger, or slog.Default),
// the session is closed with CodeInternalError (1011, "Internal server
// error"), which a client can tell from a normal close, and every other
// session carries on. Panics in Metrics methods are recovered too (the
// first is logged). ClientKey and BindSession run on the request's
// goroutine, outside the handler's locks, where net/http recovers them.
//
// # Origins
//
// One allow-list (Options.AllowedOrigins) decides for CORS, websocket
// upgrades and the iframe-based transports. The default is the same origin
// only; "*" restores SockJS's classic allow-everything behaviour.
// Options.CheckOrigin decides by code, at the same places, about the
// origins the list does not allow.
//
// # TLS and HTTP/2
//
// Every transport works over TLS. Over HTTP/2 the HTTP transports work as
// over HTTP/1.1; websockets need HTTP/1.1 (gorilla/websocket has no RFC
// 8441 support), so clients, browsers included, open their websockets on a
// separate TLS connection that negotiates http/1.1. An idle websocket
// session costs about 3.5 times as much memory over TLS as over plain TCP
// (see BENCHMARKS.md).
//
// # Shutdown
//
// http.Server.Shutdown neither ends long polls nor closes hijacked
// websockets and streams. Call Handler.Shutdown: it refuses new sessions, sends every
// session a close frame (1001 "Going away") and waits for every session
// function and every receiving request to finish.
package sockjs
