package interact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// Graph is what the handler needs of Microsoft Graph: reading what a button names, and
// running the workflow. *graph.Client implements it.
type Graph interface {
	GetWorkflow(ctx context.Context, id string) (graph.Workflow, error)
	GetResult(ctx context.Context, workflowID, runID, resultID string) (graph.UserProcessingResult, error)
	LookupUser(ctx context.Context, id string) (graph.User, error)
	ListRuns(ctx context.Context, workflowID string, q graph.Query) ([]graph.Run, error)
	ListResults(ctx context.Context, workflowID string, q graph.Query) ([]graph.UserProcessingResult, error)
	// Activate and ActivateWithScope are not idempotent: each accepted call starts a
	// run. A failure that may have started one wraps graph.ErrUnconfirmed.
	Activate(ctx context.Context, workflowID string, userIDs []string) error
	ActivateWithScope(ctx context.Context, workflowID string, scope graph.ActivationScope) error
	// WorkflowURL is the workflow's Graph URL, the source of its events.
	WorkflowURL(workflowID string) string
}

// graphReach is how far back Graph keeps runs and results, and lets a filter reach.
const graphReach = 30 * 24 * time.Hour

// clockSkew widens every window of runs searched by Graph's timestamps, which another
// machine's clock wrote.
const clockSkew = 2 * time.Minute

// refusal is a reason not to act, in plain words, told to the clicker and recorded.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error {
	return &refusal{reason: fmt.Sprintf(format, args...)}
}

// target is what a click acts on, as Graph has it.
type target struct {
	workflow events.Workflow
	subject  string // the result's user
	user     *events.User
	status   string
}

// verify checks the button's ids against Graph: the workflow exists; for a result's
// buttons, the result exists under that workflow, failed or completed with errors, and
// is about the user the button names; for a run's, the run exists, finished, and has
// failed users. A failure to read Graph refuses too: nothing is done unchecked.
func (h *Handler) verify(ctx context.Context, d *events.ActionData, wantSubject string) (target, error) {
	var t target
	wf, err := h.graph.GetWorkflow(ctx, d.Workflow.ID)
	if err != nil {
		return t, readRefusal("the workflow", err)
	}
	t.workflow = events.Workflow{ID: wf.ID, DisplayName: wf.DisplayName, Category: wf.Category, Version: wf.Version}
	if !wf.IsEnabled {
		return t, refuse("the workflow %q is disabled: enable it in the Entra admin center first", wf.DisplayName)
	}
	if d.Action == events.RerunFailedUsers {
		return t, h.verifyRun(ctx, d)
	}
	r, err := h.graph.GetResult(ctx, d.Workflow.ID, "", d.Target.ResultID)
	if err != nil {
		return t, readRefusal("the result", err)
	}
	t.status, t.subject = r.ProcessingStatus, r.SubjectID
	switch {
	case !events.IsFailure(r.ProcessingStatus):
		return t, refuse("the result is %s now, not a failure: there is nothing to re-run", r.ProcessingStatus)
	case d.Action == events.RerunFailedTasks && r.FailedTasksCount == 0:
		return t, refuse("Graph reports no failed tasks in this result: there is nothing to re-run")
	case r.SubjectID == "":
		return t, refuse("Graph does not say whose result this is")
	case wantSubject != "" && wantSubject != r.SubjectID:
		return t, refuse("the button names another user than the result does")
	}
	u, err := h.graph.LookupUser(ctx, r.SubjectID)
	if err != nil {
		u = graph.User{ID: r.SubjectID}
	}
	t.user = &events.User{ID: u.ID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName}
	return t, nil
}

// verifyRun checks the run of a run's button.
func (h *Handler) verifyRun(ctx context.Context, d *events.ActionData) error {
	now := time.Now()
	runs, err := h.graph.ListRuns(ctx, d.Workflow.ID, graph.Query{Filter: graph.Between("scheduledDateTime", now.Add(-graphReach+time.Hour), now.Add(clockSkew))})
	if err != nil {
		return readRefusal("the run", err)
	}
	i := slices.IndexFunc(runs, func(r graph.Run) bool { return r.ID == d.Target.RunID })
	switch {
	case i < 0:
		return refuse("Graph no longer has this run (it keeps 30 days)")
	case !events.IsFinal(runs[i].ProcessingStatus):
		return refuse("the run is still %s: re-run it once it has finished", runs[i].ProcessingStatus)
	case runs[i].FailedUsersCount == 0:
		return refuse("Graph reports no failed users in this run: there is nothing to re-run")
	}
	return nil
}

// readRefusal says why what was read from Graph stops the action.
func readRefusal(what string, err error) error {
	switch {
	case errors.Is(err, graph.ErrNotFound):
		return refuse("Graph no longer has %s (it keeps 30 days)", what)
	case errors.Is(err, graph.ErrForbidden):
		return refuse("lcwnotify may not read %s in Graph (403): see docs/graph-permissions.md", what)
	case errors.Is(err, graph.ErrThrottled):
		return refuse("Graph is throttling lcwnotify, so it could not check %s; nothing was done: click again in a few minutes", what)
	}
	return refuse("lcwnotify could not read %s from Graph (%s); nothing was done: click again later", what, shortError(err))
}

// call makes the activation a claim stands for.
func (h *Handler) call(ctx context.Context, cl *claim) error {
	d := cl.Data
	switch d.Action {
	case events.RerunFailedTasks:
		return h.graph.ActivateWithScope(ctx, d.Workflow.ID, graph.ProcessingResultScope(graph.TaskScopeFailed, d.Target.ResultID))
	case events.RerunFailedUsers:
		return h.graph.ActivateWithScope(ctx, d.Workflow.ID, graph.RunScope(d.Target.RunID, graph.UserScopeFailed, graph.TaskScopeFailed))
	case events.RerunWorkflow:
		return h.graph.Activate(ctx, d.Workflow.ID, []string{cl.SubjectID})
	}
	return fmt.Errorf("interact: unknown action %q", d.Action)
}

// outcome is what became of a call.
type outcome struct {
	// lost: the call may have started a run (graph.ErrUnconfirmed).
	lost   bool
	failed bool
	// dead: a test stopped the process in the middle of the call.
	dead   bool
	reason string
	graph  *events.GraphAnswer
}

// classify turns Graph's answer into an outcome with a reason in plain words.
func classify(err error) outcome {
	if err == nil {
		return outcome{graph: &events.GraphAnswer{Status: http.StatusNoContent}}
	}
	o := outcome{failed: true, graph: &events.GraphAnswer{}}
	var ge *graph.Error
	if errors.As(err, &ge) {
		o.graph = &events.GraphAnswer{Status: ge.StatusCode, Code: ge.Code, Message: ge.Message, RequestID: ge.RequestID}
	}
	switch {
	case errors.Is(err, graph.ErrUnconfirmed):
		o.lost, o.failed = true, false
		o.reason = "Graph's answer was lost (" + shortError(err) + "): the re-run may or may not have started"
	case errors.Is(err, graph.ErrForbidden):
		o.reason = "lcwnotify's app lacks " + graph.PermissionActivate + ": grant it and consent (docs/graph-permissions.md)"
	case errors.Is(err, graph.ErrUnauthorized):
		o.reason = "Graph refused lcwnotify's token (401): check the app's credential"
	case errors.Is(err, graph.ErrConflict):
		o.reason = "Graph refused: the workflow is disabled, or the result or run has not finished (409)"
	case errors.Is(err, graph.ErrNotFound):
		o.reason = "Graph no longer has the workflow, result or run (404)"
	case errors.Is(err, graph.ErrThrottled):
		o.reason = "Graph kept throttling lcwnotify (429) and nothing was sent: click again in a few minutes"
		o.graph.Status = http.StatusTooManyRequests
	case ge != nil && ge.StatusCode == http.StatusNotAcceptable:
		o.reason = "the user no longer exists in the directory (406)"
	case ge != nil && ge.StatusCode == http.StatusBadRequest:
		o.reason = "Graph refused the request as invalid (400): " + ge.Message
	case ge != nil:
		o.reason = fmt.Sprintf("Graph refused the activation (%d %s)", ge.StatusCode, ge.Code)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		o.reason = "Graph did not take the request in time, and it was not sent: click again"
	default:
		o.reason = "lcwnotify could not reach Graph, and nothing was sent (" + shortError(err) + "): click again"
	}
	return o
}

// shortError keeps an error fit for a reply: Graph's errors name no secret, but can be
// long.
func shortError(err error) string {
	s := err.Error()
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// findRun looks for the run a claimed activation started: since the claim was first
// made (less clockSkew), a run activated on the claim's result (activatedOnScope names
// it) or run, or for activate an on-demand result of the user. It reports whether one
// is there; the run may take a moment to appear (see Options.Grace).
func (h *Handler) findRun(ctx context.Context, cl *claim) (bool, error) {
	d := cl.Data
	from, to := cl.First.Add(-clockSkew), time.Now().Add(clockSkew)
	if d.Action == events.RerunWorkflow {
		results, err := h.graph.ListResults(ctx, d.Workflow.ID, graph.Query{
			Filter: graph.Between("scheduledDateTime", from, to).And(graph.Where("subject/id", graph.Eq, cl.SubjectID)),
		})
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(results, func(r graph.UserProcessingResult) bool {
			return r.SubjectID == cl.SubjectID && r.WorkflowExecutionType == "onDemand"
		}), nil
	}
	runs, err := h.graph.ListRuns(ctx, d.Workflow.ID, graph.Query{Filter: graph.Between("scheduledDateTime", from, to)})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(runs, func(r graph.Run) bool {
		s := r.ActivatedOnScope
		switch {
		case s == nil:
			return false
		case d.Action == events.RerunFailedTasks:
			return s.Kind == graph.ScopeProcessingResults && s.Names(d.Target.ResultID)
		default:
			return s.Kind == graph.ScopeRun && s.RunID == d.Target.RunID
		}
	}), nil
}
