package hub

import "context"

// A Broker carries publications between the hubs of several processes:
// a message published through any hub reaches the subscriptions of every
// hub to that topic, the publisher's own included. Implementations must be
// safe for concurrent use. A hub calls Subscribe and Unsubscribe from its
// one goroutine, and Publish from the goroutines that call Hub.Publish.
// A panic in Subscribe or Unsubscribe is recovered and logged (with
// Options.Logger), and counts as a failed call.
//
// A message goes through the broker as it was published, unless it starts
// with a NUL byte or comes from PublishExcept: the hub then frames it (NUL,
// 'm', the message; or NUL, 'x', the excluded member's ID, a newline, the
// message) and unframes it on the way out. Text published to the
// broker's channels by other programs reaches the sessions as it is, if
// its first byte is not NUL.
type Broker interface {
	// Publish sends msg to every subscription to topic, in every process.
	// It returns once the broker has accepted the message, or with an
	// error (ctx.Err() if ctx ended first). A nil error does not mean that
	// any subscriber received it.
	Publish(ctx context.Context, topic, msg string) error

	// Subscribe starts calling fn with every message published to topic,
	// and returns once the broker has confirmed that messages published
	// from then on will be passed to fn. Calls to fn for one subscription
	// are never concurrent and come in the order the broker accepted the
	// publications. fn must not block: it is called on the broker's
	// receiving path. It may still be called for a short time while or
	// after the subscription is cancelled.
	Subscribe(ctx context.Context, topic string, fn func(msg string)) (Subscription, error)
}

// A Subscription is one Broker.Subscribe that has succeeded.
type Subscription interface {
	// Unsubscribe cancels the subscription. Calls after the first return
	// nil and do nothing.
	Unsubscribe(ctx context.Context) error
}
