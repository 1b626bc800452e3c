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
}

// Result returns a snapshot of a result.
func (s *Sim) Result(id string) (Result, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.results[id]
	if r == nil {
		return Result{}, false
	}
	out := Result{ID: r.id, WorkflowID: r.wf.id, RunID: r.run.id, UserID: r.userID, Status: r.status,
		ExecutionType: r.execType, WorkflowVersion: r.version, ScheduledAt: r.scheduled.Time(),
		StartedAt: r.started.Time(), CompletedAt: r.completed.Time(), FailedTasks: r.failedTasks, TotalTasks: r.totalTasks}
	for _, t := range r.taskResults() {
		out.Tasks = append(out.Tasks, TaskResult{ID: t.id, TaskName: t.task.displayName, Status: t.status, FailureReason: t.reason})
	}
	return out, true
}

// Run returns a snapshot of a run.
func (s *Sim) Run(workflowID, runID string) (Run, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf := s.wfByID[workflowID]
	if wf == nil || wf.runByID[runID] == nil {
		return Run{}, false
	}
	return wf.runByID[runID].snapshot(), true
}

func (run *runRec) snapshot() Run {
	out := Run{ID: run.id, WorkflowID: run.wf.id, ExecutionType: run.execType, Status: run.status,
		ScheduledAt: run.scheduled.Time(), LastUpdatedAt: run.updated.Time(), CompletedAt: run.completed.Time()}
	for _, r := range run.results {
		out.Results = append(out.Results, r.id)
	}
	return out
}

// Workflows returns the ids of all workflows, oldest first.
func (s *Sim) Workflows() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, len(s.workflows))
	for i, w := range s.workflows {
		out[i] = w.id
	}
	return out
}
