package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// Activation is one activate or activateWithScope call the simulator accepted, as
// recorded for tests ("exactly one activation per click").
type Activation struct {
	// Seq numbers accepted activations from 1, in the order they arrived.
	Seq        int
	WorkflowID string
	// Action is "activate" or "activateWithScope".
	Action string
	// Scope is the scope type of activateWithScope (ScopeProcessingResults, ScopeRun,
	// ScopeUsers); empty for activate.
	Scope string
	// Users are the users the activation's run processes, in order.
	Users []string
	// ProcessingResults, ScopeRunID, TaskScope and UserScope are the scope's, as sent.
	ProcessingResults []string
	ScopeRunID        string
	TaskScope         string
	UserScope         string
	// RunID is the run the activation started; At its scheduledDateTime.
	RunID string
	At    time.Time
	// ClientRequestID is the request's client-request-id header.
	ClientRequestID string
}

// ActivationOutcome decides how a user's result of an activation's run goes. It is
// called with the simulator's lock held: it must not call the Sim's methods.
type ActivationOutcome func(a Activation, userID string) Outcome

// SetActivationOutcome scripts the results of runs that activations start; nil (the
// default) makes every result complete after DefaultStartAfter and DefaultDuration.
// A re-run of only the failed tasks runs only those tasks, so Failures naming another
// task do not apply to it.
func (s *Sim) SetActivationOutcome(f ActivationOutcome) {
	s.lock()
	defer s.mu.Unlock()
	s.actOutcome = f
}

// Activations returns the activations accepted so far, oldest first.
func (s *Sim) Activations() []Activation {
	s.rlock()
	defer s.mu.RUnlock()
	out := make([]Activation, len(s.activations))
	for i, a := range s.activations {
		out[i] = a
		out[i].Users = slices.Clone(a.Users)
		out[i].ProcessingResults = slices.Clone(a.ProcessingResults)
	}
	return out
}

// scopeRec is a run's activatedOnScope.
type scopeRec struct {
	kind                 string
	taskScope, userScope string
	results              []*resultRec // ScopeProcessingResults
	run                  *runRec      // ScopeRun
	users                []string     // ScopeUsers
}

// activationTarget is what an activation runs: the users, and for re-runs the task
// subset each user's result runs.
type activationTarget struct {
	users []string
	tasks func(userID string) (int, []*taskRec)
	scope *scopeRec
}

// activate serves POST /workflows/{id}/activate: a run of the workflow for up to ten
// users, regardless of its execution conditions.
func (s *Sim) activate(x *exchange) *apiError {
	var users []string
	return s.action(x, func(body map[string]json.RawMessage) (e *apiError) {
		users, e = parseActivate(body)
		return e
	}, func(wf *workflowRec) *apiError {
		if e := s.checkSubjects(users); e != nil {
			return e
		}
		s.startActivation(x, wf, "activate", ExecutionOnDemand, activationTarget{users: users}, Activation{})
		return nil
	})
}

// activateWithScope serves POST /workflows/{id}/activateWithScope: a run of the
// processing results, the (failed) users of a run, or users, named by the scope.
func (s *Sim) activateWithScope(x *exchange) *apiError {
	var req scopeRequest
	return s.action(x, func(body map[string]json.RawMessage) (e *apiError) {
		req, e = parseWithScope(body)
		return e
	}, func(wf *workflowRec) *apiError {
		var (
			target activationTarget
			e      *apiError
		)
		switch req.kind {
		case ScopeProcessingResults:
			target, e = s.resultsTarget(wf, req)
		case ScopeRun:
			target, e = s.runTarget(wf, req)
		default:
			if e = s.checkSubjects(req.ids); e == nil {
				target = activationTarget{users: req.ids, scope: &scopeRec{kind: ScopeUsers, users: req.ids}}
			}
		}
		if e != nil {
			return e
		}
		rec := Activation{Scope: req.kind, TaskScope: req.taskScope, UserScope: req.userScope, ScopeRunID: req.runID}
		if req.kind == ScopeProcessingResults {
			rec.ProcessingResults = req.ids
		}
		s.startActivation(x, wf, "activateWithScope", ExecutionActivatedWithScope, target, rec)
		return nil
	})
}

// action answers a workflow action: the body is read and parsed first (400 before
// 404, as OData binds the payload before it resolves the entity), then run is called
// with the workflow, s.mu held for writing.
func (s *Sim) action(x *exchange, parse func(map[string]json.RawMessage) *apiError, run func(*workflowRec) *apiError) *apiError {
	body, e := readObject(x)
	if e != nil {
		return e
	}
	if e := parse(body); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wf, e := s.activatable(x.rt.wid)
	if e != nil {
		return e
	}
	return run(wf)
}

// activatable finds a workflow that may run on demand. Callers hold s.mu.
func (s *Sim) activatable(id string) (*workflowRec, *apiError) {
	wf := s.wfByID[id]
	if wf == nil {
		return nil, errNotFound("workflow", id)
	}
	if !wf.isEnabled {
		return nil, &apiError{status: http.StatusConflict, code: "Conflict",
			message: fmt.Sprintf("The workflow '%s' is disabled; enable it before running it on demand.", id)}
	}
	return wf, nil
}

// checkSubjects refuses users the directory does not hold, as Graph's example answers
// 406 for users who don't exist.
func (s *Sim) checkSubjects(ids []string) *apiError {
	var missing []string
	for _, id := range ids {
		if u := s.users[id]; u == nil || u.access == UserMissing {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &apiError{status: http.StatusNotAcceptable, code: "NotAcceptable",
		message: fmt.Sprintf("The subjects %s do not exist in the directory.", strings.Join(missing, ", "))}
}

// resultsTarget resolves an activateProcessingResultScope: finished results of this
// workflow, one per user; failedTasks re-runs each result's failed tasks only.
func (s *Sim) resultsTarget(wf *workflowRec, req scopeRequest) (activationTarget, *apiError) {
	horizon := s.horizon(s.stampNow())
	byUser := make(map[string]*resultRec, len(req.ids))
	t := activationTarget{scope: &scopeRec{kind: ScopeProcessingResults, taskScope: req.taskScope}}
	for _, id := range req.ids {
		r := s.results[id]
		if r == nil || r.wf != wf || r.scheduled < horizon {
			return t, errNotFound("userProcessingResult", id)
		}
		if e := rerunnable(r, req.taskScope); e != nil {
			return t, e
		}
		if byUser[r.userID] != nil {
			return t, errBadRequest(fmt.Sprintf("The processing results '%s' and '%s' are of the same user; re-run one of them.", byUser[r.userID].id, id))
		}
		byUser[r.userID] = r
		t.users = append(t.users, r.userID)
		t.scope.results = append(t.scope.results, r)
	}
	t.tasks = func(uid string) (int, []*taskRec) { return rerunTasks(wf, byUser[uid], req.taskScope) }
	return t, nil
}

// runTarget resolves an activateRunScope: the run's users (or its failed users), each
// with all tasks or with the tasks that failed for them.
func (s *Sim) runTarget(wf *workflowRec, req scopeRequest) (activationTarget, *apiError) {
	t := activationTarget{scope: &scopeRec{kind: ScopeRun, taskScope: req.taskScope, userScope: req.userScope}}
	run := wf.runByID[req.runID]
	if run == nil || run.scheduled < s.horizon(s.stampNow()) {
		return t, errNotFound("run", req.runID)
	}
	if !events.IsFinal(run.status) {
		return t, &apiError{status: http.StatusConflict, code: "Conflict",
			message: fmt.Sprintf("The run '%s' is still %s; re-run it once it has finished.", run.id, run.status)}
	}
	byUser := make(map[string]*resultRec)
	for _, r := range run.results {
		failedUser := r.status == events.StatusFailed || r.status == events.StatusCompletedWithErrors
		if req.userScope == UserScopeFailed && !failedUser {
			continue
		}
		if req.taskScope == TaskScopeFailed && r.failedTasks == 0 {
			continue // nothing of this user's to re-run
		}
		byUser[r.userID] = r
		t.users = append(t.users, r.userID)
	}
	if len(t.users) == 0 {
		return t, errBadRequest(fmt.Sprintf("The run '%s' has no %s with %s to re-run.", run.id,
			map[string]string{UserScopeAll: "users", UserScopeFailed: "failed users"}[req.userScope],
			map[string]string{TaskScopeAll: "tasks", TaskScopeFailed: "failed tasks"}[req.taskScope]))
	}
	t.scope.run = run
	t.tasks = func(uid string) (int, []*taskRec) { return rerunTasks(wf, byUser[uid], req.taskScope) }
	return t, nil
}

// rerunnable refuses to re-run a result that has not finished, or the failed tasks of
// one that has none.
func rerunnable(r *resultRec, taskScope string) *apiError {
	if !events.IsFinal(r.status) {
		return &apiError{status: http.StatusConflict, code: "Conflict",
			message: fmt.Sprintf("The processing result '%s' is still %s; re-run it once it has finished.", r.id, r.status)}
	}
	if taskScope == TaskScopeFailed && r.failedTasks == 0 {
		return errBadRequest(fmt.Sprintf("The processing result '%s' has no failed tasks to re-run.", r.id))
	}
	return nil
}

// rerunTasks is the version and tasks a re-run of r runs: every task of the workflow
// as it now is, or the tasks that failed in r, of r's version.
func rerunTasks(wf *workflowRec, r *resultRec, taskScope string) (int, []*taskRec) {
	if taskScope != TaskScopeFailed {
		return wf.version, wf.tasks[wf.version]
	}
	var failed []*taskRec
	for _, t := range r.taskResults() {
		if t.status == events.StatusFailed {
			failed = append(failed, t.task)
		}
	}
	return r.version, failed
}

// startActivation starts the run of an accepted activation and records it. Callers
// hold s.mu for writing.
func (s *Sim) startActivation(x *exchange, wf *workflowRec, action, execType string, t activationTarget, rec Activation) {
	now := s.stampNow()
	rec.Seq = len(s.activations) + 1
	rec.WorkflowID, rec.Action, rec.Users, rec.At = wf.id, action, t.users, now.Time()
	rec.ClientRequestID = x.r.Header.Get("client-request-id")
	plans := make([]PlannedResult, len(t.users))
	for i, uid := range t.users {
		plans[i].UserID = uid
		if s.actOutcome != nil {
			plans[i].Outcome = s.actOutcome(rec, uid)
		}
	}
	run := s.startPlannedRun(wf, execType, now, plans, t.tasks)
	run.scope = t.scope
	rec.RunID = run.id
	s.activations = append(s.activations, rec)
}

// mustOutcome panics on an outcome no result could reach: a scenario bug.
func mustOutcome(p PlannedResult) {
	if p.Status != "" && !validStatus(p.Status) {
		panic(fmt.Sprintf("graphsim: the planned outcome of user %s has status %q", p.UserID, p.Status))
	}
}

// clearQuarantine serves POST /workflows/{id}/clearQuarantine. Graph supports it for
// delegated (signed-in) callers only, so with Options.RequireRoles every app-only
// token is refused; without, it releases the workflow and returns it, which lets a
// person release a demo workflow with curl.
func (s *Sim) clearQuarantine(x *exchange) ([]byte, *apiError) {
	if s.opts.RequireRoles {
		return nil, errDenied()
	}
	if x.r.ContentLength > 0 {
		return nil, errBadRequest("clearQuarantine takes no request body.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wf := s.wfByID[x.rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", x.rt.wid)
	}
	s.release(wf, s.stampNow())
	return entityBody(x, workflowType, lcwSet+"workflows", nil, wf, &writer{includeUnknown: x.includeUnknown, sim: s}), nil
}
