package notify

import (
	"context"

	"github.com/lcwnotify/lcwnotify/events"
)

// Sink delivers change events to one destination.
//
// Deliver is called concurrently, from as many goroutines as the Dispatcher has events in
// flight, and may block for as long as ctx allows: a sink that paces a destination holds
// events and groups them into one message, returning for each when the message that covers
// it was accepted. The Dispatcher keeps held events from being redelivered meanwhile.
//
// Deliver returns nil once the destination has the event, or knows it had it already (a
// redelivery after a crash between delivery and acknowledgement). Otherwise it returns an
// error classified with Retryable or Permanent, free of secrets; an unclassified error is
// treated as retryable. When ctx ends before delivery, Deliver returns ctx's error.
type Sink interface {
	// Name names the sink in the durable consumer, the dead-letter subject, logs and
	// metrics: letters, digits, '-' and '_'.
	Name() string
	Deliver(ctx context.Context, ev *events.Event) error
}

type rawEventKey struct{}

// withRawEvent returns ctx carrying the event as stored in the stream.
func withRawEvent(ctx context.Context, b []byte) context.Context {
	return context.WithValue(ctx, rawEventKey{}, b)
}

// RawEvent returns the bytes of the event being delivered exactly as the stream stores
// them, or nil outside a Dispatcher's delivery. A sink that forwards the event itself
// (the webhook) sends these, so that fields this version of lcwnotify does not know
// reach the receiver too.
func RawEvent(ctx context.Context) []byte {
	b, _ := ctx.Value(rawEventKey{}).([]byte)
	return b
}
