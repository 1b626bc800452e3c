package interact

import (
	"context"
	"fmt"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// publishAttempts is how often a record is offered to the stream before the failure
// is reported; the stream's duplicate window makes a repeat harmless.
const publishAttempts = 3

// record stores the kind record of an action (d as its claim or click has it) at at,
// and logs it. Its id derives from the action, the kind and the request, so recording
// the same step again stores nothing new.
func (h *Handler) record(ctx context.Context, d events.ActionData, kind string, at time.Time, reason string, g *events.GraphAnswer) error {
	d.Kind, d.At, d.Reason, d.Graph = kind, at.UTC(), reason, g
	ev, err := events.NewActionEvent(h.graph.WorkflowURL(d.Workflow.ID), time.Now(), d)
	if err != nil {
		return fmt.Errorf("interact: build the %s record: %w", kind, err)
	}
	var ack events.Ack
	for attempt := range publishAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
			}
		}
		if ack = h.pub.PublishMessage(ctx, ev.ID, ev); ack.Err == nil {
			break
		}
	}
	if ack.Err != nil {
		return fmt.Errorf("interact: store the %s record: %w", kind, ack.Err)
	}
	if !ack.Duplicate {
		h.m.recorded(d.Action, kind)
		attrs := []any{"kind", kind, "action_id", d.ActionID, "action", d.Action, "workflow", d.Workflow.ID,
			"result", d.Target.ResultID, "run", d.Target.RunID, "actor", d.Actor.ID, "actor_name", d.Actor.Name,
			"request", d.Request, "event_id", ev.ID}
		if reason != "" {
			attrs = append(attrs, "reason", reason)
		}
		if g != nil {
			attrs = append(attrs, "graph_status", g.Status, "graph_code", g.Code, "graph_request_id", g.RequestID)
		}
		h.log.Info("action recorded", attrs...)
	}
	return nil
}
