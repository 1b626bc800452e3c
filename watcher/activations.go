package watcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// activationRetry is how long the watcher waits before following the activation records
// again after NATS refused or lost the consumer. Real time: it waits for NATS.
const activationRetry = 5 * time.Second

// watchActivations follows the records of the activations lcwnotify made that Graph
// accepted (<prefix>.action.<workflowId>.accepted, published by whichever process handled
// the action) and holds each workflow active for a while after one, until ctx ends. It
// reads the stream, not the process's memory, so it works with the action handler in
// another process and across restarts: it starts from the last accepted record of each
// workflow, and an ordered consumer resumes by itself when NATS comes back. Losing it
// costs latency, never an event: the run an activation starts is still caught by the
// next full poll.
func (w *Watcher) watchActivations(ctx context.Context) {
	for {
		err := w.followActivations(ctx)
		if ctx.Err() != nil {
			return
		}
		w.log.Warn("cannot follow the accepted activations: workflows re-run from Slack are polled at the poll interval until this recovers",
			"err", err, "retry_in", activationRetry)
		t := time.NewTimer(activationRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// followActivations reads accepted activation records until ctx ends or the consumer fails.
func (w *Watcher) followActivations(ctx context.Context) error {
	stream, err := w.js.Stream(ctx, w.stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", w.stream, err)
	}
	filter := events.ActionFilter(w.prefix, events.ActionAccepted)
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		// The last accepted record of each workflow (one subject per workflow): a restart
		// within an activation's hold still knows of it, and the replay is bounded by the
		// number of workflows, not by history.
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		return fmt.Errorf("follow %s: %w", filter, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow activations: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("follow activations: %w", err)
		}
		w.noteActivation(msg.Data())
	}
}

// noteActivation records the activation an accepted action record tells of. A record
// that cannot be decoded is skipped: it is the action handler's audit, not ours to judge.
func (w *Watcher) noteActivation(data []byte) {
	ev, err := events.DecodeActionEvent(data)
	if err != nil || ev.Data.Kind != events.ActionAccepted {
		w.log.Debug("skipped an action record that is not an accepted activation", "err", err)
		return
	}
	// At is on the action handler's clock; one ahead of ours counts from now.
	now := w.now()
	at := ev.Data.At
	if at.IsZero() || at.After(now) {
		at = now
	}
	if now.Sub(at) >= activationHold {
		return // an old record, replayed at start
	}
	w.log.Debug("an activation lcwnotify made was accepted: polling its workflow at the active interval",
		"workflow", ev.Data.Workflow.ID, "action", ev.Data.Action, "at", at)
	w.sched.activated(ev.Data.Workflow.ID, at)
}
