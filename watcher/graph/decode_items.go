package graph

import "encoding/json"

// decodeFunc decodes one item of type T from compacted JSON, reporting repairs to d, or
// says why the item must be skipped.
type decodeFunc[T any] func(raw json.RawMessage, d *itemDecoder) (T, skip)

func decodeResult(raw json.RawMessage, d *itemDecoder) (UserProcessingResult, skip) {
	var r struct {
		ID, ProcessingStatus, WorkflowExecutionType, WorkflowVersion   json.RawMessage
		FailedTasksCount, TotalTasksCount, TotalUnprocessedTasksCount  json.RawMessage
		ScheduledDateTime, StartedDateTime, CompletedDateTime, Subject json.RawMessage
	}
	if !object(raw) || json.Unmarshal(raw, &r) != nil {
		return UserProcessingResult{}, "not an object"
	}
	status, why := d.required(r.ID, r.ProcessingStatus, true)
	if why != "" {
		return UserProcessingResult{}, why
	}
	return UserProcessingResult{
		ID:                         d.id,
		ProcessingStatus:           status,
		WorkflowExecutionType:      d.string("workflowExecutionType", r.WorkflowExecutionType),
		WorkflowVersion:            d.int("workflowVersion", r.WorkflowVersion),
		FailedTasksCount:           d.int("failedTasksCount", r.FailedTasksCount),
		TotalTasksCount:            d.int("totalTasksCount", r.TotalTasksCount),
		TotalUnprocessedTasksCount: d.int("totalUnprocessedTasksCount", r.TotalUnprocessedTasksCount),
		ScheduledDateTime:          d.time("scheduledDateTime", r.ScheduledDateTime),
		StartedDateTime:            d.time("startedDateTime", r.StartedDateTime),
		CompletedDateTime:          d.time("completedDateTime", r.CompletedDateTime),
		SubjectID:                  d.subjectID(r.Subject),
		Raw:                        raw,
	}, ""
}

func decodeRun(raw json.RawMessage, d *itemDecoder) (Run, skip) {
	var r struct {
		ID, ProcessingStatus, WorkflowExecutionType                                json.RawMessage
		ScheduledDateTime, StartedDateTime, CompletedDateTime, LastUpdatedDateTime json.RawMessage
		FailedTasksCount, FailedUsersCount, SuccessfulUsersCount                   json.RawMessage
		TotalTasksCount, TotalUnprocessedTasksCount, TotalUsersCount               json.RawMessage
	}
	if !object(raw) || json.Unmarshal(raw, &r) != nil {
		return Run{}, "not an object"
	}
	status, why := d.required(r.ID, r.ProcessingStatus, true)
	if why != "" {
		return Run{}, why
	}
	return Run{
		ID:                         d.id,
		ProcessingStatus:           status,
		WorkflowExecutionType:      d.string("workflowExecutionType", r.WorkflowExecutionType),
		ScheduledDateTime:          d.time("scheduledDateTime", r.ScheduledDateTime),
		StartedDateTime:            d.time("startedDateTime", r.StartedDateTime),
		CompletedDateTime:          d.time("completedDateTime", r.CompletedDateTime),
		LastUpdatedDateTime:        d.time("lastUpdatedDateTime", r.LastUpdatedDateTime),
		FailedTasksCount:           d.int("failedTasksCount", r.FailedTasksCount),
		FailedUsersCount:           d.int("failedUsersCount", r.FailedUsersCount),
		SuccessfulUsersCount:       d.int("successfulUsersCount", r.SuccessfulUsersCount),
		TotalTasksCount:            d.int("totalTasksCount", r.TotalTasksCount),
		TotalUnprocessedTasksCount: d.int("totalUnprocessedTasksCount", r.TotalUnprocessedTasksCount),
		TotalUsersCount:            d.int("totalUsersCount", r.TotalUsersCount),
	}, ""
}

func decodeTaskResult(raw json.RawMessage, d *itemDecoder) (TaskProcessingResult, skip) {
	var r struct {
		ID, ProcessingStatus, FailureReason                 json.RawMessage
		CreatedDateTime, StartedDateTime, CompletedDateTime json.RawMessage
		Task, Subject                                       json.RawMessage
	}
	if !object(raw) || json.Unmarshal(raw, &r) != nil {
		return TaskProcessingResult{}, "not an object"
	}
	status, why := d.required(r.ID, r.ProcessingStatus, true)
	if why != "" {
		return TaskProcessingResult{}, why
	}
	return TaskProcessingResult{
		ID:                d.id,
		ProcessingStatus:  status,
		FailureReason:     d.optString("failureReason", r.FailureReason),
		CreatedDateTime:   d.time("createdDateTime", r.CreatedDateTime),
		StartedDateTime:   d.time("startedDateTime", r.StartedDateTime),
		CompletedDateTime: d.time("completedDateTime", r.CompletedDateTime),
		Task:              d.task(r.Task),
		SubjectID:         d.subjectID(r.Subject),
	}, ""
}

// task decodes the expanded task of a taskProcessingResult; a missing task leaves the
// zero Task (the result itself is still usable).
func (d *itemDecoder) task(raw json.RawMessage) Task {
	if isNull(raw) {
		return Task{}
	}
	var t struct {
		ID, DisplayName, Description, Category, ExecutionSequence, ContinueOnError json.RawMessage
	}
	if !object(raw) || json.Unmarshal(raw, &t) != nil {
		d.warn("task", "not an object", raw)
		return Task{}
	}
	return Task{
		ID:                d.string("task.id", t.ID),
		DisplayName:       d.string("task.displayName", t.DisplayName),
		Description:       d.string("task.description", t.Description),
		Category:          d.string("task.category", t.Category),
		ExecutionSequence: d.int("task.executionSequence", t.ExecutionSequence),
		ContinueOnError:   d.bool("task.continueOnError", t.ContinueOnError),
	}
}

func decodeWorkflow(raw json.RawMessage, d *itemDecoder) (Workflow, skip) {
	var w struct {
		ID, DisplayName, Description, Category, Version json.RawMessage
		IsEnabled, IsSchedulingEnabled                  json.RawMessage
		LastModifiedDateTime                            json.RawMessage
	}
	if !object(raw) || json.Unmarshal(raw, &w) != nil {
		return Workflow{}, "not an object"
	}
	if _, why := d.required(w.ID, nil, false); why != "" {
		return Workflow{}, why
	}
	return Workflow{
		ID:                   d.id,
		DisplayName:          d.string("displayName", w.DisplayName),
		Description:          d.string("description", w.Description),
		Category:             d.string("category", w.Category),
		Version:              d.int("version", w.Version),
		IsEnabled:            d.bool("isEnabled", w.IsEnabled),
		IsSchedulingEnabled:  d.bool("isSchedulingEnabled", w.IsSchedulingEnabled),
		LastModifiedDateTime: d.time("lastModifiedDateTime", w.LastModifiedDateTime),
	}, ""
}

func decodeUser(raw json.RawMessage, d *itemDecoder) (User, skip) {
	var u struct{ ID, DisplayName, UserPrincipalName json.RawMessage }
	if !object(raw) || json.Unmarshal(raw, &u) != nil {
		return User{}, "not an object"
	}
	if _, why := d.required(u.ID, nil, false); why != "" {
		return User{}, why
	}
	return User{
		ID:                d.id,
		DisplayName:       d.string("displayName", u.DisplayName),
		UserPrincipalName: d.string("userPrincipalName", u.UserPrincipalName),
	}, ""
}

func decodeUserSummary(raw json.RawMessage, d *itemDecoder) (UserSummary, skip) {
	var s struct{ FailedTasks, FailedUsers, SuccessfulUsers, TotalTasks, TotalUsers json.RawMessage }
	if !object(raw) || json.Unmarshal(raw, &s) != nil {
		return UserSummary{}, "not an object"
	}
	return UserSummary{
		FailedTasks:     d.int("failedTasks", s.FailedTasks),
		FailedUsers:     d.int("failedUsers", s.FailedUsers),
		SuccessfulUsers: d.int("successfulUsers", s.SuccessfulUsers),
		TotalTasks:      d.int("totalTasks", s.TotalTasks),
		TotalUsers:      d.int("totalUsers", s.TotalUsers),
	}, ""
}

func decodeRunSummary(raw json.RawMessage, d *itemDecoder) (RunSummary, skip) {
	var s struct{ FailedRuns, FailedTasks, SuccessfulRuns, TotalRuns, TotalTasks, TotalUsers json.RawMessage }
	if !object(raw) || json.Unmarshal(raw, &s) != nil {
		return RunSummary{}, "not an object"
	}
	return RunSummary{
		FailedRuns:     d.int("failedRuns", s.FailedRuns),
		FailedTasks:    d.int("failedTasks", s.FailedTasks),
		SuccessfulRuns: d.int("successfulRuns", s.SuccessfulRuns),
		TotalRuns:      d.int("totalRuns", s.TotalRuns),
		TotalTasks:     d.int("totalTasks", s.TotalTasks),
		TotalUsers:     d.int("totalUsers", s.TotalUsers),
	}, ""
}
