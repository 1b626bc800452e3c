package watcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
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
// results that Graph refuses (403, 404, any answer it would give again: see refused)
// are left out with a warning rather than holding the notification back — and with it
// every change of the workflow, for good; other failures fail the poll of the
// workflow, which retries. An unreadable user is never a reason to hold a failure
// back: the event names the id.
func (w *Watcher) readDetails(ctx context.Context, log *slog.Logger, workflowID string, c *change) (*details, error) {
	res := c.obs.res
	d := &details{user: events.User{ID: res.SubjectID}}
	tasks, err := w.graph.ListTaskResults(ctx, workflowID, c.next.RunID, res.ID)
	switch {
	case err == nil:
		d.tasks = taskResults(tasks)
	case refused(err):
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

// refused reports an answer Graph gives again however often it is asked: a 4xx error
// other than 401 (the token's, every request's), 408 and 429 (which pass), or a
// next page link the client will not follow.
func refused(err error) bool {
	var ge *graph.Error
	if errors.As(err, &ge) {
		switch ge.StatusCode {
		case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
			return false
		}
		return ge.StatusCode >= 400 && ge.StatusCode < 500
	}
	return errors.Is(err, graph.ErrNotFound) || errors.Is(err, graph.ErrForbidden) ||
		errors.Is(err, graph.ErrForeignNextLink)
}

func taskResults(in []graph.TaskProcessingResult) []events.TaskResult {
	out := make([]events.TaskResult, 0, len(in))
	for _, t := range in {
		out = append(out, events.TaskResult{
			ID:                t.ID,
			ProcessingStatus:  t.ProcessingStatus,
			FailureReason:     t.FailureReason,
			ProcessingInfo:    t.ProcessingInfo,
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
func (w *Watcher) newEvent(log *slog.Logger, tenant string, wf graph.Workflow, c *change, d *details) (*events.Event, error) {
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
	ev, err := events.New(w.graph.WorkflowURL(wf.ID), c.obs.at, data)
	if !errors.Is(err, events.ErrMalformed) || len(res.Raw) == 0 {
		return ev, err
	}
	// A property of a type Graph does not document, which the client decoded leniently:
	// consumers could not decode the object as received, and dropping the change would
	// lose it. The event carries the values the client made of it instead.
	log.Warn("a result came with malformed properties: its event carries them as repaired",
		"result", res.ID, "err", err)
	data.UserProcessingResult = repairedRaw(res)
	return events.New(w.graph.WorkflowURL(wf.ID), c.obs.at, data)
}

// repairedRaw returns r as received, with the properties lcwnotify reads (those rawOf
// writes) replaced by the values the Graph client decoded; other properties stay as
// received.
func repairedRaw(r graph.UserProcessingResult) json.RawMessage {
	var obj, typed map[string]json.RawMessage
	if json.Unmarshal(r.Raw, &obj) != nil || json.Unmarshal(rawOf(r), &typed) != nil {
		return rawOf(r)
	}
	maps.Copy(obj, typed)
	b, err := json.Marshal(obj)
	if err != nil {
		return rawOf(r)
	}
	return b
}

// rawOf renders the typed fields of r in Graph's shape: for a result that came without
// the object as received (the Graph client always keeps it; this is a safety net), and
// for repairedRaw, which relies on it writing every property events.Result reads.
func rawOf(r graph.UserProcessingResult) json.RawMessage {
	b, _ := json.Marshal(struct {
		ID                         string `json:"id"`
		ProcessingStatus           string `json:"processingStatus"`
		WorkflowExecutionType      string `json:"workflowExecutionType"`
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
