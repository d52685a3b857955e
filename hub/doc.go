// Package hub sends one message to many SockJS sessions: sessions join
// topics, and a message published to a topic reaches every session that is
// in it, on this process and, with a Broker, on every process.
//
//	h := hub.New(nil)
//	chat := sockjs.New(func(s sockjs.Session) {
//		if err := h.Join(s.Context(), s, "lobby"); err != nil {
//			return
//		}
//		for {
//			msg, err := s.Recv(s.Context())
//			if err != nil {
//				return // the session has closed: it has left "lobby" by itself
//			}
//			h.Publish(s.Context(), "lobby", msg)
//		}
//	}, nil)
//
// # Delivery
//
// A publication is encoded once (sockjs.Prepare) and queued for every
// member with sockjs.TrySendPrepared, which never waits: a slow session
// never delays the others, nor the publisher. A session whose outbound
// queue (sockjs.Options.MaxQueuedBytes) is full is closed with
// sockjs.CodeTooSlow ("Client too slow"): it cannot keep up, and a client
// that silently missed messages would be worse off than one that knows it
// must reconnect. Options.DropWhenFull keeps such sessions open and drops
// the message for them instead, for feeds where only the latest value
// matters.
//
// Messages published by one goroutine to one topic reach each member in
// the order they were published. Publications from different goroutines
// are not ordered with each other on this process; through a Broker, every
// process sees a topic's messages in the order the broker accepted them.
// Delivery is at most once: a message published while a session is
// joining may or may not reach it, and a Broker that loses its connection
// loses what is published meanwhile.
//
// # Brokers
//
// Without a Broker (the default), Publish delivers to this process's
// members before it returns. With one, Publish hands the message to the
// broker only, and every hub, this one included, delivers what the broker
// passes back, so that every process sees one order. The hub subscribes to
// a topic on the broker while at least one local session is in it, and
// Join waits until that subscription is confirmed: a message published
// anywhere after Join returns reaches the session. The module
// github.com/go-sockjs/sockjs/redisbroker is a Broker on Redis pub/sub.
//
// # Presence
//
// A hub knows who is in each topic: JoinAs gives a membership an identity
// chosen by the application (a user name, bounded by
// Options.MaxIdentityBytes), and Presence lists a topic's members as
// Member values (a unique ID, the session's id and transport, the
// identity, the node), up to a limit, with their number; PresenceCount
// gives the number alone. On one process these read memory: the count is
// a length, never a walk over the members. WatchPresence reports the joins
// and leaves of this process's sessions, in order, to tell a room "alice
// joined".
//
// With a PresenceStore (Options.Presence), Presence and PresenceCount
// answer for every process: each hub hands its joins and leaves to the
// store from its goroutine, in batches, and JoinAs waits until the store
// has recorded the member. The changes waiting for the store are at most
// one per member and topic that changed while the store was answering the
// previous batch (a later change replaces an earlier one), and a failed
// batch is not retried: the store converges by itself. A store forgets the
// members of a process that died after a bounded time;
// redisbroker.Presence keeps them in Redis with an expiry.
//
// # Publishing to all but one
//
// PublishExcept sends to every member of a topic but one session, such as
// the sender of a chat message, on this process and, through a Broker, on
// every process: the message is still encoded once per process, and
// carries the excluded member's ID through the broker.
//
// # Membership
//
// A session leaves its topics when it closes: Join registers a
// context.AfterFunc on the session's context, so no goroutine waits per
// session and a closed session never stays in a topic. Leave and LeaveAll
// leave earlier. Options.MaxTopics bounds how many topics have members at
// once and Options.MaxTopicsPerSession how many topics one session is in;
// Join beyond either fails with an error matching ErrLimit. Members are
// therefore bounded by the handler's session cap times
// MaxTopicsPerSession. A topic with no members takes no memory.
//
// # Concurrency
//
// Every method is safe for concurrent use. The hub starts one goroutine,
// only when it has a Broker or a PresenceStore: it alone subscribes and
// unsubscribes topics on the broker and updates the store, and Close ends
// it. Publish, Join and Leave never hold a lock while calling the broker,
// the store or a session's blocking methods.
package hub
