package watcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// details is what the event of a result entering a notify status carries besides the
// result, so that no subscriber needs Graph access to say what failed and for whom.
type details struct {
	tasks []events.TaskResult
	user  events.User
}

// readDetails reads the task results and the user of the result c announces. Task
// results that Graph refuses (403, 404) are left out with a warning rather than holding
// the notification back; other failures fail the poll of the workflow, which retries.
// An unreadable user is never a reason to hold a failure back: the event names the id.
func (w *Watcher) readDetails(ctx context.Context, log *slog.Logger, workflowID string, c *change) (*details, error) {
	res := c.obs.res
	d := &details{user: events.User{ID: res.SubjectID}}
	tasks, err := w.graph.ListTaskResults(ctx, workflowID, c.next.RunID, res.ID)
	switch {
	case err == nil:
		d.tasks = taskResults(tasks)
	case errors.Is(err, graph.ErrNotFound) || errors.Is(err, graph.ErrForbidden):
		log.Warn("cannot read the task results of a result: its event goes without them",
			"result", res.ID, "err", err)
	default:
		return nil, fmt.Errorf("task results of %s: %w", res.ID, err)
	}
	if res.SubjectID == "" {
		return d, nil
	}
	u, err := w.graph.LookupUser(ctx, res.SubjectID)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		log.Warn("cannot read a user: the event names the id only", "user", res.SubjectID, "err", err)
		return d, nil
	}
	d.user = events.User{ID: res.SubjectID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName}
	return d, nil
}

func taskResults(in []graph.TaskProcessingResult) []events.TaskResult {
	out := make([]events.TaskResult, 0, len(in))
	for _, t := range in {
		out = append(out, events.TaskResult{
			ID:                t.ID,
			ProcessingStatus:  t.ProcessingStatus,
			FailureReason:     t.FailureReason,
			StartedDateTime:   t.StartedDateTime,
			CompletedDateTime: t.CompletedDateTime,
			Task: events.Task{
				ID:                t.Task.ID,
				DisplayName:       t.Task.DisplayName,
				Category:          t.Task.Category,
				ExecutionSequence: t.Task.ExecutionSequence,
				ContinueOnError:   t.Task.ContinueOnError,
			},
		})
	}
	// Graph does not document an order; the workflow's does not change between reads.
	slices.SortStableFunc(out, func(a, b events.TaskResult) int {
		return a.Task.ExecutionSequence - b.Task.ExecutionSequence
	})
	return out
}

// newEvent builds the event announcing c. d is nil unless the result enters a notify status.
func (w *Watcher) newEvent(tenant string, wf graph.Workflow, c *change, d *details) (*events.Event, error) {
	res := c.obs.res
	raw := res.Raw
	if len(raw) == 0 {
		raw = rawOf(res)
	}
	data := events.Data{
		TenantID:                 tenant,
		Workflow:                 events.Workflow{ID: wf.ID, DisplayName: wf.DisplayName, Category: wf.Category, Version: wf.Version},
		RunID:                    c.next.RunID,
		UserProcessingResult:     raw,
		PreviousProcessingStatus: c.previous(),
		User:                     events.User{ID: res.SubjectID},
	}
	if d != nil {
		data.TaskProcessingResults, data.User = d.tasks, d.user
	}
	return events.New(w.graph.WorkflowURL(wf.ID), c.obs.at, data)
}

// rawOf renders the typed fields of r in Graph's shape, for a result that came without
// the object as received (the Graph client always keeps it; this is a safety net).
func rawOf(r graph.UserProcessingResult) json.RawMessage {
	b, _ := json.Marshal(struct {
		ID                         string `json:"id"`
		ProcessingStatus           string `json:"processingStatus"`
		WorkflowExecutionType      string `json:"workflowExecutionType,omitempty"`
		WorkflowVersion            int    `json:"workflowVersion"`
		FailedTasksCount           int    `json:"failedTasksCount"`
		TotalTasksCount            int    `json:"totalTasksCount"`
		TotalUnprocessedTasksCount int    `json:"totalUnprocessedTasksCount"`
		ScheduledDateTime          any    `json:"scheduledDateTime"`
		StartedDateTime            any    `json:"startedDateTime"`
		CompletedDateTime          any    `json:"completedDateTime"`
		Subject                    struct {
			ID string `json:"id"`
		} `json:"subject"`
	}{
		ID: r.ID, ProcessingStatus: r.ProcessingStatus, WorkflowExecutionType: r.WorkflowExecutionType,
		WorkflowVersion: r.WorkflowVersion, FailedTasksCount: r.FailedTasksCount, TotalTasksCount: r.TotalTasksCount,
		TotalUnprocessedTasksCount: r.TotalUnprocessedTasksCount,
		ScheduledDateTime:          r.ScheduledDateTime, StartedDateTime: r.StartedDateTime, CompletedDateTime: r.CompletedDateTime,
		Subject: struct {
			ID string `json:"id"`
		}{r.SubjectID},
	})
	return b
}
