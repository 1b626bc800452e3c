package notify

import (
	"context"
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
	ev, err := events.Decode(msg.Data())
	if err != nil {
		c := &Error{Err: err, Reason: "malformed_event", Permanent: true}
		d.o.Metrics.failure(d.sink, c.Reason)
		d.giveUp(msg, meta, nil, c, log)
		return
	}
	log = log.With("event", ev.ID, "workflow", ev.Data.Workflow.ID)

	stop := d.keepAlive(msg, log)
	err = d.stage.Deliver(ctx, &Notification{Event: ev, Raw: msg.Data()})
	stop()
	d.settle(ctx, msg, meta, ev, err, log)
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

func (d *Dispatcher) settle(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata, ev *events.Event, err error, log *slog.Logger) {
	if err == nil {
		d.o.Metrics.delivered(d.sink, time.Since(ev.Time))
		if d.o.Delivered != nil {
			d.o.Delivered(ev)
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
		d.giveUp(msg, meta, ev, c, log)
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
func (d *Dispatcher) giveUp(msg jetstream.Msg, meta *jetstream.MsgMetadata, ev *events.Event, c *Error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := d.deadLetter(ctx, msg, meta, ev, c); err != nil {
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
