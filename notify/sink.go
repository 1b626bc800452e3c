package notify

import (
	"context"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// Sink is a kind of destination (Slack, a webhook, the console) as the delivery stage
// uses it. A sink holds only what is particular to its destination: where a notification
// goes, how notifications read there, and how one message is sent. The Stage owns
// everything else: queueing and grouping per destination key, pacing, Retry-After
// windows, the ledger that makes delivery exactly once, dead letters and metrics.
//
// The Stage calls Key and Render from any goroutine, and Send concurrently for different
// keys, and for the same key when its Rate allows more than one message at a time. All
// methods must be safe for that. None may keep the notifications they are given.
type Sink interface {
	// Name names the sink in its durable consumer, ledger bucket, dead-letter subject,
	// logs and metrics: letters, digits, '-' and '_'.
	Name() string
	// Key returns the destination key n goes to: a Slack channel, a Teams webhook, a
	// PagerDuty routing key. Notifications for the same key are paced and grouped
	// together. It is called once per notification and must not block.
	Key(n *Notification) string
	// Rate returns how fast key may be sent to.
	Rate(key string) Rate
	// Render lays out notifications for key in batches: each batch covers some of them
	// (Items, indexes into ns) in one or more messages within the destination's limits,
	// never dropping or truncating one. Every notification is in exactly one batch, and
	// a batch of several messages covers a single notification. The same input must give
	// the same messages: a batch cut short by a crash is resumed from a later message.
	//
	// lead asks the first batch able to carry them to carry the round's one-time
	// additions (Slack's mention); a batch that does says so in Lead.
	Render(key string, ns []*Notification, lead bool) []Batch
	// Send sends message p.Index of p.Count of batch p.Batch to key. It returns nil once
	// the destination took the message, with what the destination said about it, or an
	// error classified with Retryable, RateLimited, Permanent or Refused, free of
	// secrets, and marked with Unsent when the destination certainly did not take it (an
	// unclassified error is retryable and may have been taken). Send must return when
	// ctx ends.
	Send(ctx context.Context, key string, m Message, p Part) (Receipt, error)
}

// Finder is implemented by sinks whose destination can show what was sent to it (Slack
// reads a channel's history, with the message metadata Send attached). The Stage uses it
// after a crash or an unknown outcome to tell a message that arrived from one that did
// not, which makes delivery exactly once. Sinks without it are delivered at least once,
// with a window narrowed to the moment between the destination taking a message and the
// ledger recording it.
type Finder interface {
	// Find reports, for each of batches found at key among what was sent since since,
	// how many of its messages arrived (a batch's messages are sent in order) and the
	// receipt of its first. A batch not found is left out. A key the destination cannot
	// be asked about (a Slack channel known only by name) is a Permanent error, after
	// which the Stage sends again.
	Find(ctx context.Context, key string, since time.Time, batches []string) (map[string]Found, error)
}

// Resolver is implemented by sinks whose destination has a name of its own for a key,
// one that Find needs (the id of a Slack channel configured by name). The Stage resolves
// a key before its first message, records the answer in the ledger for other processes
// and later restarts, and also learns it from Receipt.Key.
type Resolver interface {
	// Resolve returns the destination's name for key: key itself when it is one, "" when
	// the destination does not know it.
	Resolve(ctx context.Context, key string) (string, error)
}

// Notification is one change event on its way to a destination.
type Notification struct {
	Event *events.Event
	// Raw is the event exactly as the stream stores it. A sink that forwards the event
	// itself (the webhook) sends these bytes, so that fields this version of lcwnotify
	// does not know reach the receiver too.
	Raw []byte
}

// Rate is how fast one destination key may be sent to: Burst messages at once, then one
// per Interval. With a Burst of 0 or 1 the key gets one message at a time, Interval after
// the previous one ended, across every replica. The zero Rate is unpaced: messages go
// as fast as the destination takes them, several at a time, and a Retry-After still
// holds the key.
type Rate struct {
	Interval time.Duration
	Burst    int
}

// Unpaced reports whether r sets no pace.
func (r Rate) Unpaced() bool { return r.Interval <= 0 }

// Batch is what Render lays out for some of the notifications it was given: the
// messages that carry them, sent in order. The notifications are delivered when the last
// message is.
type Batch struct {
	// Items are indexes into the notifications given to Render.
	Items []int
	// Messages are what Send gets, in order. A batch has at least one.
	Messages []Message
	// Lead reports that the batch carries the round's one-time additions.
	Lead bool
}

// Message is one message as its sink renders it; the Stage only hands it back to Send.
type Message any

// Part says which message of which batch Send is sending. A sink that implements Finder
// attaches it to the message, so that Find can recognise it.
type Part struct {
	// Batch names the batch; the ledger records it with every notification it covers.
	Batch string
	// Index counts the batch's messages from 1 to Count.
	Index, Count int
}

// Receipt is what a destination said about a message it took.
type Receipt struct {
	// Key is the destination's name for the key where Send learnt it (the channel id
	// Slack answers with), else empty.
	Key string
	// ID identifies the message at the destination (a Slack timestamp), where it has one.
	ID string
}

// Found is what Find learnt of one batch.
type Found struct {
	// Parts is how many of the batch's messages arrived; Count how many it has.
	Parts, Count int
	// Receipt is the first message's.
	Receipt Receipt
}
