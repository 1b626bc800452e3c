package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// settleTimeout bounds acknowledgements and dead-letter writes, which run even while the
// process shuts down.
const settleTimeout = 10 * time.Second

// handle delivers one message and settles it. ctx is the delivery context: it ends
// ShutdownGrace after Run's.
func (d *Dispatcher) handle(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message: nothing to settle.
		d.log.Error("cannot read message metadata", "subject", msg.Subject(), "error", err)
		return
	}
	log := d.log.With("seq", meta.Sequence.Stream, "attempt", meta.NumDelivered)
	n, err := d.decode(msg)
	if err != nil {
		c := &Error{Err: err, Reason: "malformed_event", Permanent: true}
		d.o.Metrics.failure(d.sink, c.Reason)
		d.giveUp(msg, meta, nil, c, log)
		return
	}
	n.Seq = meta.Sequence.Stream
	log = log.With("event", n.ID())
	if wf := n.WorkflowOf(); wf != nil {
		log = log.With("workflow", wf.ID)
	}

	stop := d.keepAlive(msg, log)
	err = d.stage.Deliver(ctx, n)
	stop()
	d.settle(ctx, msg, meta, n, err, log)
}

// decode reads the event a message carries.
func (d *Dispatcher) decode(msg jetstream.Msg) (*Notification, error) {
	return decodeNotification(msg.Data())
}

// decodeNotification reads an event of any kind, by its CloudEvents type.
func decodeNotification(b []byte) (*Notification, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", events.ErrMalformed, err)
	}
	n := &Notification{Raw: b}
	var err error
	switch head.Type {
	case events.Type:
		n.Event, err = events.Decode(b)
	case events.WorkflowType:
		n.Workflow, err = events.DecodeWorkflowEvent(b)
	case events.ActionType:
		n.Action, err = events.DecodeActionEvent(b)
	case events.DigestType:
		n.Digest, err = events.DecodeDigestEvent(b)
	default:
		err = fmt.Errorf("%w: type %q is no lcwnotify event", events.ErrMalformed, head.Type)
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

// keepAlive tells JetStream the message is still being worked on, three times per
// AckWait, until stop is called: a sink holding it behind a rate limit must not lose it
// to another replica.
func (d *Dispatcher) keepAlive(msg jetstream.Msg, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(d.o.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					log.Debug("cannot extend the acknowledgement deadline", "error", err)
				}
			}
		}
	}()
	return func() { close(done); <-exited }
}

func (d *Dispatcher) settle(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata, n *Notification, err error, log *slog.Logger) {
	if errors.Is(err, ErrNotTaken) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer cancel()
		if err := msg.DoubleAck(actx); err != nil {
			log.Debug("nothing to send, but the acknowledgement failed", "error", err)
		}
		return
	}
	if err == nil {
		d.o.Metrics.delivered(d.sink, time.Since(n.Time()))
		if d.o.Delivered != nil {
			d.o.Delivered(n)
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer cancel()
		if err := msg.DoubleAck(actx); err != nil {
			// The event comes back; the sink recognises it as delivered.
			log.Warn("delivered, but the acknowledgement failed", "error", err)
			return
		}
		log.Debug("delivered")
		return
	}
	c := Classify(err)
	if !c.Permanent && ctx.Err() != nil {
		// Shutting down: hand the event to another replica now.
		_ = msg.Nak()
		log.Info("delivery cut short by shutdown; returned for redelivery")
		return
	}
	if c.Deferred {
		_ = msg.NakWithDelay(max(c.RetryAfter, d.o.MinBackoff))
		log.Debug("deferred: another delivery of this event is under way", "reason", c.Reason, "error", c.Err)
		return
	}
	d.o.Metrics.failure(d.sink, c.Reason)
	if !c.Permanent && meta.NumDelivered >= uint64(d.o.MaxDeliver) {
		c = &Error{
			Err:       fmt.Errorf("gave up after %d attempts, the last: %w", meta.NumDelivered, c.Err),
			Reason:    c.Reason,
			Permanent: true,
		}
	}
	if c.Permanent {
		d.giveUp(msg, meta, n, c, log)
		return
	}
	delay := d.backoff(meta.NumDelivered, c.RetryAfter)
	if err := msg.NakWithDelay(delay); err != nil {
		log.Warn("cannot schedule the retry; JetStream redelivers after AckWait", "error", err)
	}
	log.Warn("delivery failed; will retry", "reason", c.Reason, "retry_in", delay, "error", c.Err)
}

// giveUp records a dead letter and terminates the message. If the dead letter cannot be
// written the message is retried instead: an event is never dropped without a record.
func (d *Dispatcher) giveUp(msg jetstream.Msg, meta *jetstream.MsgMetadata, n *Notification, c *Error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := d.deadLetter(ctx, msg, meta, n, c); err != nil {
		delay := d.backoff(meta.NumDelivered, 0)
		_ = msg.NakWithDelay(delay)
		log.Error("cannot record a dead letter; will retry the event", "reason", c.Reason, "error", err, "retry_in", delay)
		return
	}
	if err := msg.TermWithReason(c.Reason); err != nil {
		// Redelivered later, dead-lettered again under the same message id: deduplicated.
		log.Warn("dead-lettered, but terminating the message failed", "error", err)
	}
	d.o.Metrics.deadLetter(d.sink)
	log.Error("notification dead-lettered: fix the cause, then replay it from the dead-letter subject",
		"reason", c.Reason, "error", c.Err, "dead_letter_subject", events.DeadLetterSubject(d.o.Prefix, d.sink))
}

// backoff returns the delay before attempt+1: MinBackoff doubling per attempt up to
// MaxBackoff, with ±20% jitter so that replicas do not retry in step, and never less
// than the destination's Retry-After.
func (d *Dispatcher) backoff(attempt uint64, retryAfter time.Duration) time.Duration {
	delay := d.o.MaxBackoff
	if attempt < 32 {
		if exp := d.o.MinBackoff << (max(attempt, 1) - 1); exp > 0 && exp < delay {
			delay = exp
		}
	}
	delay = time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
	delay = min(delay, d.o.MaxBackoff)
	return max(delay, retryAfter)
}
