package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// StoredEvent is one message of the events stream.
type StoredEvent struct {
	Seq     uint64
	Subject string
	// MsgID is the Nats-Msg-Id header the publisher sent.
	MsgID string
	// Event is the decoded CloudEvent; nil when Err says why it is not one.
	Event *events.Event
	Err   error
}

// ReadStream returns every message of stream on subjects matching filter, in stream
// order, read with an ordered consumer of its own.
func ReadStream(ctx context.Context, js jetstream.JetStream, stream, filter string) ([]StoredEvent, error) {
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	var out []StoredEvent
	for {
		batch, err := c.Fetch(1000, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		n, last := 0, false
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", stream, err)
			}
			se := StoredEvent{Seq: md.Sequence.Stream, Subject: m.Subject(), MsgID: m.Headers().Get(jetstream.MsgIDHeader)}
			se.Event, se.Err = events.Decode(m.Data())
			out = append(out, se)
			last = md.NumPending == 0
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		if n == 0 || last {
			return out, nil
		}
	}
}
