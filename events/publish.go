package events

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher stores change events in the stream. It is safe for concurrent use.
type Publisher struct {
	js     jetstream.JetStream
	stream string
	prefix string
}

// NewPublisher returns a Publisher for the stream named stream, whose subjects start with prefix.
func NewPublisher(js jetstream.JetStream, stream, prefix string) *Publisher {
	return &Publisher{js: js, stream: stream, prefix: prefix}
}

// Ack is the outcome of publishing one event.
type Ack struct {
	Sequence uint64
	// Duplicate reports that the stream already held an event with this id, within its
	// duplicate window: a re-publication after a crash, absorbed.
	Duplicate bool
	Err       error
}

// Subject returns the subject ev is published on.
func (p *Publisher) Subject(ev *Event) (string, error) {
	r, err := ev.Data.Result()
	if err != nil {
		return "", err
	}
	return ResultSubject(p.prefix, ev.Data.Workflow.ID, r.ProcessingStatus), nil
}

func (p *Publisher) msg(ev *Event) (*nats.Msg, error) {
	subj, err := p.Subject(ev)
	if err != nil {
		return nil, err
	}
	b, err := ev.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	m := nats.NewMsg(subj)
	m.Header.Set("Content-Type", ContentType)
	m.Data = b
	return m, nil
}

func (p *Publisher) opts(ev *Event) []jetstream.PublishOpt {
	return []jetstream.PublishOpt{jetstream.WithMsgID(ev.ID), jetstream.WithExpectStream(p.stream)}
}

// Publish stores ev and waits for the stream's acknowledgement. The event id is sent as
// Nats-Msg-Id, so publishing the same event twice stores it once.
func (p *Publisher) Publish(ctx context.Context, ev *Event) Ack {
	m, err := p.msg(ev)
	if err != nil {
		return Ack{Err: err}
	}
	pa, err := p.js.PublishMsg(ctx, m, p.opts(ev)...)
	if err != nil {
		return Ack{Err: fmt.Errorf("publish event %s to %s: %w", ev.ID, m.Subject, err)}
	}
	return Ack{Sequence: pa.Sequence, Duplicate: pa.Duplicate}
}

// PublishAll publishes evs without waiting between them and then waits for every
// acknowledgement, or for ctx. The returned acks are in the order of evs; an event whose
// Ack has an error may or may not have been stored, and must be published again before
// anything that depends on it is recorded.
func (p *Publisher) PublishAll(ctx context.Context, evs []*Event) []Ack {
	acks := make([]Ack, len(evs))
	futures := make([]jetstream.PubAckFuture, len(evs))
	for i, ev := range evs {
		m, err := p.msg(ev)
		if err != nil {
			acks[i].Err = err
			continue
		}
		f, err := p.js.PublishMsgAsync(m, p.opts(ev)...)
		if err != nil {
			acks[i].Err = fmt.Errorf("publish event %s to %s: %w", ev.ID, m.Subject, err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case pa := <-f.Ok():
			acks[i] = Ack{Sequence: pa.Sequence, Duplicate: pa.Duplicate}
		case err := <-f.Err():
			acks[i].Err = fmt.Errorf("publish event %s: %w", evs[i].ID, err)
		case <-ctx.Done():
			acks[i].Err = fmt.Errorf("publish event %s: %w", evs[i].ID, ctx.Err())
		}
	}
	return acks
}

// Message is an event of another kind than a result's change: a workflow's change, an
// action's record, a digest.
type Message interface {
	// SubjectFor returns the subject the event goes on under prefix.
	SubjectFor(prefix string) string
	Marshal() ([]byte, error)
}

// PublishMessage stores m, whose id is id, and waits for the stream's acknowledgement.
// The id is sent as Nats-Msg-Id, so publishing the same event twice stores it once.
func (p *Publisher) PublishMessage(ctx context.Context, id string, m Message) Ack {
	b, err := m.Marshal()
	if err != nil {
		return Ack{Err: fmt.Errorf("encode event %s: %w", id, err)}
	}
	msg := nats.NewMsg(m.SubjectFor(p.prefix))
	msg.Header.Set("Content-Type", ContentType)
	msg.Data = b
	pa, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(p.stream))
	if err != nil {
		return Ack{Err: fmt.Errorf("publish event %s to %s: %w", id, msg.Subject, err)}
	}
	return Ack{Sequence: pa.Sequence, Duplicate: pa.Duplicate}
}
