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
	// PagerDuty routing key; "" when the sink takes no such notification. Notifications
	// for the same key are paced and grouped together. It is called once per
	// notification and must not block.
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
	Find(ctx context.Context, key string, since time.Time, batches []Sought) (map[string]Found, error)
}

// Sought is a batch Find looks for, and where inside the key (Batch.Within).
type Sought struct {
	Batch, Within string
}

// Fanout is implemented by sinks that send some notifications to several destination
// keys (a digest to every channel). Keys replaces Key: it returns every key n goes to,
// none when the sink takes no such notification. The Stage delivers to each key apart,
// exactly once each.
type Fanout interface {
	Keys(n *Notification) []string
}

// Interested is implemented by sinks that take more than the results entering the
// statuses to notify: the Dispatcher then also consumes what Interests names.
type Interested interface {
	Interests() Interests
}

// Interests are the kinds of event a sink takes besides failures.
type Interests struct {
	// Resolutions: results that complete, so that a sink can resolve the failure of the
	// same user and workflow it told before. Completions that follow no failure told are
	// not handed to the sink.
	Resolutions bool
	// Workflows: workflows entering and leaving quarantine, disabled and enabled.
	Workflows bool
	// Actions: the records of actions taken on failures.
	Actions bool
	// Digests: the periodic reports.
	Digests bool
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

// Notification is one event on its way to a destination: a result's change, a
// workflow's, an action's record or a digest. Exactly one of Event, Workflow, Action and
// Digest is set.
type Notification struct {
	// Event is a result's change.
	Event *events.Event
	// Workflow is a workflow's change of state.
	Workflow *events.WorkflowEvent
	// Action is the record of a step of an action taken on a failure.
	Action *events.ActionEvent
	// Digest is a periodic report.
	Digest *events.DigestEvent
	// Raw is the event exactly as the stream stores it. A sink that forwards the event
	// itself (the webhook) sends these bytes, so that fields this version of lcwnotify
	// does not know reach the receiver too.
	Raw []byte
	// Seq is the event's stream sequence, 0 when it did not come from the stream.
	Seq uint64
	// Replay, when set, names a deliberate re-announcement (`lcwnotify replay`, a dead
	// letter replayed): the delivery is recorded under it, apart from the event's first
	// delivery, so that it is sent again — once per replay.
	Replay string
	// Follows is the earlier notification this one follows up at this sink, where the
	// Stage found one: the open failure of the same user and workflow that a success
	// resolves or an action acts on, the quarantine a release ends. A sink renders a
	// follow-up as an update or a reply, or as a notification of its own.
	Follows *Incident
}

// ID returns the event's id.
func (n *Notification) ID() string {
	switch {
	case n.Event != nil:
		return n.Event.ID
	case n.Workflow != nil:
		return n.Workflow.ID
	case n.Action != nil:
		return n.Action.ID
	case n.Digest != nil:
		return n.Digest.ID
	}
	return ""
}

// Time returns when the event was observed.
func (n *Notification) Time() time.Time {
	switch {
	case n.Event != nil:
		return n.Event.Time
	case n.Workflow != nil:
		return n.Workflow.Time
	case n.Action != nil:
		return n.Action.Time
	case n.Digest != nil:
		return n.Digest.Time
	}
	return time.Time{}
}

// WorkflowOf returns the workflow the notification is about, nil for a digest.
func (n *Notification) WorkflowOf() *events.Workflow {
	switch {
	case n.Event != nil:
		return &n.Event.Data.Workflow
	case n.Workflow != nil:
		return &n.Workflow.Data.Workflow
	case n.Action != nil:
		return &n.Action.Data.Workflow
	}
	return nil
}

// Incident is what a sink's ledger remembers of a notification that others may follow
// up: a failure, a quarantine, a disabled workflow.
type Incident struct {
	// Topic is what the incident is about: a workflow's user, or a workflow.
	Topic string `json:"topic"`
	// State is IncidentOpen until a follow-up resolves it.
	State string `json:"state"`
	// EventID and Status are the latest event's id and what it announced (a processing
	// status, or a workflow change): the opening event's, or a later failure's told as a
	// follow-up.
	EventID string `json:"eventId"`
	Status  string `json:"status"`
	// Seq and Opened are the stream sequence and id of the event whose message the
	// incident points at; Original is that event, where the Stage read it back for a sink
	// that re-renders the message.
	Seq      uint64        `json:"seq"`
	Opened   string        `json:"opened"`
	Original *Notification `json:"-"`
	// Key is the destination key the opening notification went to, Receipt.ID the
	// destination's id of its first message, and Grouped whether that message carried
	// other notifications too.
	Key     string    `json:"key"`
	ID      string    `json:"id,omitempty"`
	Grouped bool      `json:"grouped,omitempty"`
	At      time.Time `json:"at"`
	// User is the failure's user as the watcher could read them, so that a follow-up
	// whose event names the user by id only (a completion) can say who.
	User *events.User `json:"user,omitempty"`
	// Action is the latest step of an action taken on the incident, if any.
	Action *IncidentAction `json:"action,omitempty"`
	// Opening, when set, is a notification that opens the topic anew and is being
	// delivered: a follow-up that would close the topic waits for it rather than being
	// dropped for want of an open incident. An entry may hold only this.
	Opening *Opening `json:"opening,omitempty"`
}

// Opening is a notification on its way to opening an incident.
type Opening struct {
	EventID string `json:"eventId"`
	// Seq and Time are the event's stream sequence (0 when unknown) and time, to tell
	// which of it and a follow-up came first.
	Seq  uint64    `json:"seq,omitempty"`
	Time time.Time `json:"time"`
	// At is when a delivery of it last began.
	At time.Time `json:"at"`
}

// IncidentAction is the latest step of an action taken on an incident.
type IncidentAction struct {
	Kind   string       `json:"kind"`
	Action string       `json:"action"`
	Actor  events.Actor `json:"actor"`
	At     time.Time    `json:"at"`
}

// Incident states.
const (
	IncidentOpen     = "open"
	IncidentResolved = "resolved"
)

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
	// Reply reports that the batch follows up its notification's Follows incident (an
	// update of its message, a reply in its thread): the incident keeps pointing at its
	// first message. Otherwise the batch's first message becomes the message of any
	// incident its notification opens.
	Reply bool
	// Within locates the batch's messages inside the key where Find should look for them
	// (a Slack thread), "" for the key itself.
	Within string
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
