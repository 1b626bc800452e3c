package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Operation names: the "operation" label of the metrics and logs.
const (
	opListWorkflows   = "list_workflows"
	opGetWorkflow     = "get_workflow"
	opListRuns        = "list_runs"
	opListResults     = "list_results"
	opListRunResults  = "list_run_results"
	opGetResult       = "get_result"
	opListTaskResults = "list_task_results"
	opGetUser         = "get_user"
	opUserSummary     = "user_summary"
	opRunSummary      = "run_summary"
)

// workflowPath returns the URL of a workflow, or an error for an empty id (which would
// address another resource).
func (c *Client) workflowPath(id string) (string, error) {
	if id == "" {
		return "", errors.New("graph: empty workflow id")
	}
	return c.WorkflowURL(id), nil
}

// withQuery appends a validated query to u.
func withQuery(u string, r *resource, q Query) (string, error) {
	if err := r.validate(q); err != nil {
		return "", err
	}
	if enc := q.encode(); enc != "" {
		u += "?" + enc
	}
	return u, nil
}

// workflowSelect is the $select of workflow reads: what Workflow holds, the state
// (schedule, quarantine) included, so that one list request a poll gives all of it,
// without executionConditions and settings the watcher does not use.
const workflowSelect = "?$select=id,displayName,description,category,version,isEnabled,isSchedulingEnabled," +
	"lastModifiedDateTime,nextScheduleRunDateTime,quarantineDetails"

// ListWorkflows returns every lifecycle workflow of the tenant (at most 100 exist),
// with their state: enabled, scheduled, next scheduled run, quarantine.
func (c *Client) ListWorkflows(ctx context.Context) ([]Workflow, error) {
	return list(ctx, c, opListWorkflows, c.root+lcwPath+"/workflows"+workflowSelect, decodeWorkflow)
}

// GetWorkflow returns one workflow, with its state.
func (c *Client) GetWorkflow(ctx context.Context, id string) (Workflow, error) {
	u, err := c.workflowPath(id)
	if err != nil {
		return Workflow{}, err
	}
	return one(ctx, c, opGetWorkflow, u+workflowSelect, decodeWorkflow)
}

// ListRuns returns the runs of a workflow that match q, every page. q.Filter must hold
// a date range (see Between); runs without an id or processingStatus are skipped.
func (c *Client) ListRuns(ctx context.Context, workflowID string, q Query) ([]Run, error) {
	u, err := c.workflowPath(workflowID)
	if err != nil {
		return nil, err
	}
	if u, err = withQuery(u+"/runs", runResource, q); err != nil {
		return nil, err
	}
	return list(ctx, c, opListRuns, u, decodeRun)
}

// ListResults returns the userProcessingResults of a workflow that match q, every page.
// q.Filter must hold a date range; results without an id or processingStatus are
// skipped.
func (c *Client) ListResults(ctx context.Context, workflowID string, q Query) ([]UserProcessingResult, error) {
	u, err := c.workflowPath(workflowID)
	if err != nil {
		return nil, err
	}
	if u, err = withQuery(u+"/userProcessingResults", resultResource, q); err != nil {
		return nil, err
	}
	return list(ctx, c, opListResults, u, decodeResult)
}

// ListRunResults returns the userProcessingResults of one run that match q, every page.
// Like every list of results, q.Filter must hold a date range (e.g. around the run's
// scheduledDateTime).
func (c *Client) ListRunResults(ctx context.Context, workflowID, runID string, q Query) ([]UserProcessingResult, error) {
	u, err := c.workflowPath(workflowID)
	if err != nil {
		return nil, err
	}
	if runID == "" {
		return nil, errors.New("graph: empty run id")
	}
	if u, err = withQuery(u+"/runs/"+url.PathEscape(runID)+"/userProcessingResults", resultResource, q); err != nil {
		return nil, err
	}
	return list(ctx, c, opListRunResults, u, decodeResult)
}

// resultPath returns the URL of a userProcessingResult: under its run when runID is
// set, else under the workflow.
func (c *Client) resultPath(workflowID, runID, resultID string) (string, error) {
	u, err := c.workflowPath(workflowID)
	if err != nil {
		return "", err
	}
	if resultID == "" {
		return "", errors.New("graph: empty userProcessingResult id")
	}
	if runID != "" {
		u += "/runs/" + url.PathEscape(runID)
	}
	return u + "/userProcessingResults/" + url.PathEscape(resultID), nil
}

// GetResult returns one userProcessingResult; runID "" addresses it through the
// workflow. A result Graph no longer has is ErrNotFound; one without an id or
// processingStatus is ErrMalformedResponse.
func (c *Client) GetResult(ctx context.Context, workflowID, runID, resultID string) (UserProcessingResult, error) {
	u, err := c.resultPath(workflowID, runID, resultID)
	if err != nil {
		return UserProcessingResult{}, err
	}
	return one(ctx, c, opGetResult, u, decodeResult)
}

// ListTaskResults returns the taskProcessingResults of a userProcessingResult with
// their task expanded; runID "" addresses the result through the workflow.
func (c *Client) ListTaskResults(ctx context.Context, workflowID, runID, resultID string) ([]TaskProcessingResult, error) {
	u, err := c.resultPath(workflowID, runID, resultID)
	if err != nil {
		return nil, err
	}
	return list(ctx, c, opListTaskResults, u+"/taskProcessingResults?$expand=task", decodeTaskResult)
}

// LookupUser returns the id, display name and user principal name of a user. When the
// application may not read users (403: no User.Read.All) or the user is gone (404), it
// returns User{ID: id} and no error, and warns once per Client: names are a comfort,
// not a reason to hold back a notification. So does a user object it cannot decode.
func (c *Client) LookupUser(ctx context.Context, id string) (User, error) {
	if id == "" {
		return User{}, errors.New("graph: empty user id")
	}
	u := c.root + "/users/" + url.PathEscape(id) + "?$select=id,displayName,userPrincipalName"
	user, err := one(ctx, c, opGetUser, u, decodeUser)
	switch {
	case err == nil:
		return user, nil
	case errorsIsStatus(err, http.StatusForbidden, http.StatusNotFound), errors.Is(err, ErrMalformedResponse):
		c.userWarn.Do(func() {
			c.log.WarnContext(ctx, "graph: cannot read users, showing ids instead of names "+
				"(grant User.Read.All for names; see docs/graph-permissions.md); warned once",
				"user", id, "error", err)
		})
		return User{ID: id}, nil
	}
	return User{}, err
}

// UserSummary returns the user processing summary of a workflow between from and to.
func (c *Client) UserSummary(ctx context.Context, workflowID string, from, to time.Time) (UserSummary, error) {
	u, err := c.summaryPath(workflowID, "/userProcessingResults", from, to)
	if err != nil {
		return UserSummary{}, err
	}
	return one(ctx, c, opUserSummary, u, decodeUserSummary)
}

// RunSummary returns the run summary of a workflow between from and to.
func (c *Client) RunSummary(ctx context.Context, workflowID string, from, to time.Time) (RunSummary, error) {
	u, err := c.summaryPath(workflowID, "/runs", from, to)
	if err != nil {
		return RunSummary{}, err
	}
	return one(ctx, c, opRunSummary, u, decodeRunSummary)
}

// summaryPath returns the URL of a summary function; its parameters are unquoted
// DateTimeOffset literals.
func (c *Client) summaryPath(workflowID, collection string, from, to time.Time) (string, error) {
	u, err := c.workflowPath(workflowID)
	if err != nil {
		return "", err
	}
	if !from.Before(to) {
		return "", fmt.Errorf("%w: summary from %s is not before to %s", ErrInvalidQuery, FormatTime(from), FormatTime(to))
	}
	return fmt.Sprintf("%s%s/summary(startDateTime=%s,endDateTime=%s)", u, collection, FormatTime(from), FormatTime(to)), nil
}
