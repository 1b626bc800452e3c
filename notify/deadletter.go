package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// DeadLetter is the record a Dispatcher publishes on <prefix>.dlq.<sink> for an event it
// gave up on. It holds the event itself, so that an operator can replay it once the cause
// is fixed, and never a secret.
type DeadLetter struct {
	Sink string `json:"sink"`
	// EventID is empty when the message was not a readable event.
	EventID string `json:"eventId,omitempty"`
	// Reason labels the failure as in lcwnotify_notifications_failed_total.
	Reason string `json:"reason"`
	// Error says what went wrong and, where the sink knows, what to fix.
	Error    string    `json:"error"`
	Attempts uint64    `json:"attempts"`
	Time     time.Time `json:"time"`
	// Subject and StreamSequence locate the original message in the stream.
	Subject        string `json:"subject"`
	StreamSequence uint64 `json:"streamSequence"`
	// Event is the original message when it is JSON; Data holds it as text otherwise.
	Event json.RawMessage `json:"event,omitempty"`
	Data  string          `json:"data,omitempty"`
}

// ReasonHeader is the header of a dead-letter message that names the failure reason, for
// subscribers that filter without decoding.
const ReasonHeader = "Lcw-Reason"

func (d *Dispatcher) deadLetter(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata, n *Notification, c *Error) error {
	rec := DeadLetter{
		Sink:           d.sink,
		Reason:         c.Reason,
		Error:          c.Err.Error(),
		Attempts:       meta.NumDelivered,
		Time:           time.Now().UTC(),
		Subject:        msg.Subject(),
		StreamSequence: meta.Sequence.Stream,
	}
	if n != nil {
		rec.EventID = n.ID()
	}
	if data := msg.Data(); json.Valid(data) {
		rec.Event = data
	} else {
		rec.Data = strings.ToValidUTF8(string(data), "\uFFFD")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	m := nats.NewMsg(events.DeadLetterSubject(d.o.Prefix, d.sink))
	m.Header.Set("Content-Type", "application/json")
	m.Header.Set(ReasonHeader, c.Reason)
	m.Data = b
	// A crash between this publish and Term writes the same dead letter again, which the
	// stream's duplicate window absorbs.
	id := "dlq-" + d.sink + "-" + strconv.FormatUint(meta.Sequence.Stream, 10)
	if _, err := d.o.JS.PublishMsg(ctx, m, jetstream.WithMsgID(id), jetstream.WithExpectStream(d.o.Stream)); err != nil {
		return fmt.Errorf("publish dead letter: %w", err)
	}
	return nil
}
