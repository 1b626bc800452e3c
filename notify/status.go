package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// What a status page and the operator commands read of a sink's ledger, and how they
// replay through the delivery stage. Reading never writes: a reader can run beside the
// notifiers, in another process, without touching their claims.

// Delivery states, as a LedgerReader reports them.
const (
	// DeliveryPending: a notifier claimed the event and is sending it (or stopped while
	// it did, and the next one to get it reads the destination back).
	DeliveryPending = statePending
	// DeliveryPosted: the destination took the last message that carries the event.
	DeliveryPosted = statePosted
)

// Delivery is what a sink's ledger says of one event.
type Delivery struct {
	// State is DeliveryPending or DeliveryPosted.
	State string `json:"state"`
	// Key is the destination key (a Slack channel id) and MessageID the destination's id
	// of the first message that carried the event (a Slack ts), where it gave one.
	Key       string `json:"key"`
	MessageID string `json:"messageId,omitempty"`
	// Batch names the batch that carried the event: events told in one message share it.
	Batch string `json:"batch,omitempty"`
	// At is when the ledger entry was written: the claim, or the confirmation.
	At time.Time `json:"at"`
}

// ErrNoLedger reports a sink that has no ledger yet: no notifier of it ever started.
var ErrNoLedger = errors.New("notify: the sink has no ledger")

// LedgerReader reads one sink's ledger, the KV bucket <stream>-<sink>.
type LedgerReader struct {
	kv jetstream.KeyValue
}

// OpenLedgerReader opens the ledger of sink on stream for reading. It fails with
// ErrNoLedger when the bucket does not exist, and never creates it.
func OpenLedgerReader(ctx context.Context, js jetstream.JetStream, stream, sink string) (*LedgerReader, error) {
	kv, err := js.KeyValue(ctx, LedgerBucket(stream, sink))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoLedger, LedgerBucket(stream, sink))
	}
	if err != nil {
		return nil, fmt.Errorf("notify: open ledger %s: %w", LedgerBucket(stream, sink), err)
	}
	return &LedgerReader{kv: kv}, nil
}

// Delivery returns what became of event eventID at the sink, nil when the sink has no
// record of it (not delivered yet, dead-lettered, or never meant for it).
func (r *LedgerReader) Delivery(ctx context.Context, eventID string) (*Delivery, error) {
	return r.delivery(ctx, eventID)
}

// Replayed returns what became of the replay named replay of event eventID (see
// Notification.Replay), nil when it was not replayed under that name.
func (r *LedgerReader) Replayed(ctx context.Context, replay, eventID string) (*Delivery, error) {
	return r.delivery(ctx, replayDeliveryID(replay, eventID))
}

func (r *LedgerReader) delivery(ctx context.Context, id string) (*Delivery, error) {
	rec, _, err := (&ledger{kv: r.kv}).get(ctx, id)
	if err != nil || rec == nil {
		return nil, err
	}
	return &Delivery{State: rec.State, Key: rec.Key, MessageID: rec.ID, Batch: rec.Batch, At: rec.At}, nil
}

// Incident returns the incident of a user's failure of a workflow as the sink knows it:
// open until a later result completes, with the latest action taken on it. nil when the
// sink told no failure of that user and workflow.
func (r *LedgerReader) Incident(ctx context.Context, workflowID, subjectID string) (*Incident, error) {
	l := &ledger{kv: r.kv}
	inc, err := l.incident(ctx, userTopic(workflowID, subjectID))
	if inc != nil && inc.State == "" {
		return nil, err // only a failure on its way (Incident.Opening): nothing told yet
	}
	return inc, err
}

// replayDeliveryID names the delivery of a replay in the ledger, apart from the event's
// first delivery. Stage.Deliver derives the same name.
func replayDeliveryID(replay, eventID string) string {
	return "replay-" + hashKey("", replay)[:16] + "-" + eventID
}

// DecodeNotification reads a stored event of any kind (a result's change, a workflow's,
// an action record, a digest) into the notification the stage delivers. It is how a
// dead letter's event is read back for a replay.
func DecodeNotification(b []byte) (*Notification, error) { return decodeNotification(b) }

// Replay delivers n once more under the name replayID (Notification.Replay): through the
// whole stage — the key's queue, pacing, the ledger — recorded apart from its first
// delivery, so that it is sent again, once per replayID: a replay asked for twice under
// the same name sends once. n is not changed. The stage must be running.
func (s *Stage) Replay(ctx context.Context, n *Notification, replayID string) error {
	if replayID == "" {
		return errors.New("notify: a replay needs a name")
	}
	c := *n
	c.Replay, c.Follows = replayID, nil
	return s.Deliver(ctx, &c)
}

// Replay delivers n once more to the Dispatcher's sink under the name replayID, through
// its running stage (see Stage.Replay). It returns nil once the destination has it,
// ErrNotTaken when the sink takes no such notification, else a classified error.
func (d *Dispatcher) Replay(ctx context.Context, n *Notification, replayID string) error {
	return d.stage.Replay(ctx, n, replayID)
}

// Name returns the name of the Dispatcher's sink.
func (d *Dispatcher) Name() string { return d.sink }
