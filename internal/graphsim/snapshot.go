package graphsim

import "time"

// Run is a snapshot of a run.
type Run struct {
	ID            string
	WorkflowID    string
	ExecutionType string
	Status        string
	ScheduledAt   time.Time
	LastUpdatedAt time.Time
	CompletedAt   time.Time // zero while not all results are final
	// Results are the ids of the run's userProcessingResults, in the order of
	// RunSpec.Users.
	Results []string
	// Scope is the activatedOnScope type of a run activateWithScope started
	// (ScopeProcessingResults, ScopeRun, ScopeUsers), empty otherwise.
	Scope string
	// Quarantined reports a scheduled run held by its workflow's quarantine.
	Quarantined bool
}

// Result is a snapshot of a userProcessingResult and its task results.
type Result struct {
	ID, WorkflowID, RunID, UserID string
	Status, ExecutionType         string
	WorkflowVersion               int
	ScheduledAt                   time.Time
	StartedAt, CompletedAt        time.Time // zero for null
	FailedTasks, TotalTasks       int
	Tasks                         []TaskResult
}

// TaskResult is a snapshot of a taskProcessingResult.
type TaskResult struct {
	ID, TaskName, Status, FailureReason string
	ProcessingInfo                      string
}

// Result returns a snapshot of a result.
func (s *Sim) Result(id string) (Result, bool) {
	s.rlock()
	defer s.mu.RUnlock()
	r := s.results[id]
	if r == nil {
		return Result{}, false
	}
	out := Result{ID: r.id, WorkflowID: r.wf.id, RunID: r.run.id, UserID: r.userID, Status: r.status,
		ExecutionType: r.execType, WorkflowVersion: r.version, ScheduledAt: r.scheduled.Time(),
		StartedAt: r.started.Time(), CompletedAt: r.completed.Time(), FailedTasks: r.failedTasks, TotalTasks: r.totalTasks}
	for _, t := range r.taskResults() {
		out.Tasks = append(out.Tasks, TaskResult{ID: t.id, TaskName: t.task.displayName, Status: t.status, FailureReason: t.reason,
			ProcessingInfo: t.info})
	}
	return out, true
}

// Run returns a snapshot of a run.
func (s *Sim) Run(workflowID, runID string) (Run, bool) {
	s.rlock()
	defer s.mu.RUnlock()
	wf := s.wfByID[workflowID]
	if wf == nil || wf.runByID[runID] == nil {
		return Run{}, false
	}
	return wf.runByID[runID].snapshot(), true
}

func (run *runRec) snapshot() Run {
	out := Run{ID: run.id, WorkflowID: run.wf.id, ExecutionType: run.execType, Status: run.status,
		ScheduledAt: run.scheduled.Time(), LastUpdatedAt: run.updated.Time(), CompletedAt: run.completed.Time(),
		Quarantined: run.held}
	if run.scope != nil {
		out.Scope = run.scope.kind
	}
	for _, r := range run.results {
		out.Results = append(out.Results, r.id)
	}
	return out
}

// Workflows returns the ids of all workflows, oldest first.
func (s *Sim) Workflows() []string {
	s.rlock()
	defer s.mu.RUnlock()
	out := make([]string, len(s.workflows))
	for i, w := range s.workflows {
		out[i] = w.id
	}
	return out
}

// Runs returns snapshots of a workflow's runs, oldest first.
func (s *Sim) Runs(workflowID string) []Run {
	s.rlock()
	defer s.mu.RUnlock()
	wf := s.mustWorkflow(workflowID)
	out := make([]Run, len(wf.runs))
	for i, run := range wf.runs {
		out[i] = run.snapshot()
	}
	return out
}
