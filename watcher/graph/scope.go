package graph

import "fmt"

// Activation scope types (the derived types of identityGovernance.activationScope),
// without their namespace, as ActivationScope.Kind holds them.
const (
	ScopeProcessingResults = "activateProcessingResultScope"
	ScopeRun               = "activateRunScope"
	ScopeUsers             = "activateUserScope"
)

// Task and user scopes of an activation (activationTaskScopeType,
// activationUserScopeType).
const (
	TaskScopeAll    = "allTasks"
	TaskScopeFailed = "failedTasks"
	UserScopeAll    = "allUsers"
	UserScopeFailed = "failedUsers"
)

// scopeNamespace qualifies scope type names in @odata.type.
const scopeNamespace = "microsoft.graph.identityGovernance."

// ActivationScope is what activateWithScope runs a workflow on, and what a run it
// started reports as activatedOnScope. Build one with ProcessingResultScope or
// RunScope; a decoded one keeps a Kind this client does not know as received.
type ActivationScope struct {
	// Kind is ScopeProcessingResults, ScopeRun, ScopeUsers or a newer type's name.
	Kind string `json:"kind"`
	// TaskScope is TaskScopeAll or TaskScopeFailed (processing-result and run scopes).
	TaskScope string `json:"taskScope,omitempty"`
	// UserScope is UserScopeAll or UserScopeFailed (run scopes).
	UserScope string `json:"userScope,omitempty"`
	// ProcessingResultIDs are the userProcessingResults re-run (processing-result
	// scopes).
	ProcessingResultIDs []string `json:"processingResultIds,omitempty"`
	// RunID is the run re-run (run scopes).
	RunID string `json:"runId,omitempty"`
	// UserIDs are the users run (user scopes).
	UserIDs []string `json:"userIds,omitempty"`
}

// ProcessingResultScope re-runs userProcessingResults of a workflow: all their tasks
// (TaskScopeAll) or only the tasks that failed (TaskScopeFailed).
func ProcessingResultScope(taskScope string, resultIDs ...string) ActivationScope {
	return ActivationScope{Kind: ScopeProcessingResults, TaskScope: taskScope, ProcessingResultIDs: resultIDs}
}

// RunScope re-runs a finished run: all its users or its failed users
// (UserScopeFailed), with all tasks or only the failed ones.
func RunScope(runID, userScope, taskScope string) ActivationScope {
	return ActivationScope{Kind: ScopeRun, RunID: runID, UserScope: userScope, TaskScope: taskScope}
}

// Names reports whether the scope names the userProcessingResult id: how the run
// that re-runs a failed result is told apart from other runs.
func (s *ActivationScope) Names(resultID string) bool {
	if s == nil {
		return false
	}
	for _, id := range s.ProcessingResultIDs {
		if id == resultID {
			return true
		}
	}
	return false
}

// validate checks a scope before it is sent; its errors wrap ErrInvalidQuery, as a
// request Graph would refuse is refused before it leaves.
func (s ActivationScope) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: activation scope: %s", ErrInvalidQuery, fmt.Sprintf(format, a...))
	}
	switch s.Kind {
	case ScopeProcessingResults:
		if len(s.ProcessingResultIDs) == 0 {
			return bad("no processing results")
		}
		for _, id := range s.ProcessingResultIDs {
			if id == "" {
				return bad("an empty processing result id")
			}
		}
		if s.RunID != "" || s.UserScope != "" || len(s.UserIDs) > 0 {
			return bad("a processing-result scope takes only processing results and a task scope")
		}
	case ScopeRun:
		if s.RunID == "" {
			return bad("no run id")
		}
		if s.UserScope != UserScopeAll && s.UserScope != UserScopeFailed {
			return bad("user scope %q: want %s or %s", s.UserScope, UserScopeAll, UserScopeFailed)
		}
		if len(s.ProcessingResultIDs) > 0 || len(s.UserIDs) > 0 {
			return bad("a run scope takes only a run, a user scope and a task scope")
		}
	default:
		return bad("kind %q: want %s or %s", s.Kind, ScopeProcessingResults, ScopeRun)
	}
	if s.TaskScope != TaskScopeAll && s.TaskScope != TaskScopeFailed {
		return bad("task scope %q: want %s or %s", s.TaskScope, TaskScopeAll, TaskScopeFailed)
	}
	return nil
}

// body is the activateWithScope request body for the scope.
func (s ActivationScope) body() map[string]any {
	scope := map[string]any{"@odata.type": "#" + scopeNamespace + s.Kind, "taskScope": s.TaskScope}
	switch s.Kind {
	case ScopeProcessingResults:
		scope["processingResults"] = refs(s.ProcessingResultIDs)
	case ScopeRun:
		scope["run"] = map[string]string{"id": s.RunID}
		scope["userScope"] = s.UserScope
	}
	return map[string]any{"scope": scope}
}

func refs(ids []string) []map[string]string {
	out := make([]map[string]string, len(ids))
	for i, id := range ids {
		out[i] = map[string]string{"id": id}
	}
	return out
}
