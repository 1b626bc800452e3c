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
