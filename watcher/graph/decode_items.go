package graph

import "encoding/json"

// decodeFunc decodes one item of type T from compacted JSON, reporting repairs to d, or
// says why the item must be skipped.
type decodeFunc[T any] func(raw json.RawMessage, d *itemDecoder) (T, skip)

// unmarshalItem decodes an item's properties into v, a struct of j* fields; only an
// item that is not a JSON object fails.
func unmarshalItem(raw json.RawMessage, v any) skip {
	if !object(raw) || json.Unmarshal(raw, v) != nil {
		return "not an object"
	}
	return ""
}

func decodeResult(raw json.RawMessage, d *itemDecoder) (UserProcessingResult, skip) {
	var r struct {
		ID                         jString  `json:"id"`
		ProcessingStatus           jString  `json:"processingStatus"`
		WorkflowExecutionType      jString  `json:"workflowExecutionType"`
		WorkflowVersion            jInt     `json:"workflowVersion"`
		FailedTasksCount           jInt     `json:"failedTasksCount"`
		TotalTasksCount            jInt     `json:"totalTasksCount"`
		TotalUnprocessedTasksCount jInt     `json:"totalUnprocessedTasksCount"`
		ScheduledDateTime          jTime    `json:"scheduledDateTime"`
		StartedDateTime            jTime    `json:"startedDateTime"`
		CompletedDateTime          jTime    `json:"completedDateTime"`
		Subject                    jSubject `json:"subject"`
	}
	if why := unmarshalItem(raw, &r); why != "" {
		return UserProcessingResult{}, why
	}
	if why := d.required(&r.ID, &r.ProcessingStatus, true); why != "" {
		return UserProcessingResult{}, why
	}
	return UserProcessingResult{
		ID:                         r.ID.v,
		ProcessingStatus:           r.ProcessingStatus.v,
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
		ID                         jString `json:"id"`
		ProcessingStatus           jString `json:"processingStatus"`
		WorkflowExecutionType      jString `json:"workflowExecutionType"`
		ScheduledDateTime          jTime   `json:"scheduledDateTime"`
		StartedDateTime            jTime   `json:"startedDateTime"`
		CompletedDateTime          jTime   `json:"completedDateTime"`
		LastUpdatedDateTime        jTime   `json:"lastUpdatedDateTime"`
		FailedTasksCount           jInt    `json:"failedTasksCount"`
		FailedUsersCount           jInt    `json:"failedUsersCount"`
		SuccessfulUsersCount       jInt    `json:"successfulUsersCount"`
		TotalTasksCount            jInt    `json:"totalTasksCount"`
		TotalUnprocessedTasksCount jInt    `json:"totalUnprocessedTasksCount"`
		TotalUsersCount            jInt    `json:"totalUsersCount"`
		ActivatedOnScope           jScope  `json:"activatedOnScope"`
	}
	if why := unmarshalItem(raw, &r); why != "" {
		return Run{}, why
	}
	if why := d.required(&r.ID, &r.ProcessingStatus, true); why != "" {
		return Run{}, why
	}
	return Run{
		ID:                         r.ID.v,
		ProcessingStatus:           r.ProcessingStatus.v,
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
		ActivatedOnScope:           d.scope(r.ActivatedOnScope),
	}, ""
}

// unmarshalPresent decodes b into the fields F of a j* struct (declared without its
// UnmarshalJSON) when b is a JSON object, and reports whether it did; a value that is
// not an object is recorded on fl as why. Absent and null are neither.
func unmarshalPresent[F any](b []byte, fl *flaw, why string) (F, bool) {
	var f F
	if isNull(b) {
		return f, false
	}
	if !object(b) || json.Unmarshal(b, &f) != nil {
		fl.set(b, why)
		return f, false
	}
	return f, true
}

// jTask is the expanded task of a taskProcessingResult.
type jTask struct {
	ID                jString `json:"id"`
	DisplayName       jString `json:"displayName"`
	Description       jString `json:"description"`
	Category          jString `json:"category"`
	ExecutionSequence jInt    `json:"executionSequence"`
	ContinueOnError   jBool   `json:"continueOnError"`
	present           bool
	flaw
}

func (j *jTask) UnmarshalJSON(b []byte) error {
	type fields jTask // without this method
	if f, ok := unmarshalPresent[fields](b, &j.flaw, "not an object"); ok {
		*j = jTask(f)
		j.present = true
	}
	return nil
}

func decodeTaskResult(raw json.RawMessage, d *itemDecoder) (TaskProcessingResult, skip) {
	var r struct {
		ID                jString  `json:"id"`
		ProcessingStatus  jString  `json:"processingStatus"`
		FailureReason     jString  `json:"failureReason"`
		ProcessingInfo    jString  `json:"processingInfo"`
		CreatedDateTime   jTime    `json:"createdDateTime"`
		StartedDateTime   jTime    `json:"startedDateTime"`
		CompletedDateTime jTime    `json:"completedDateTime"`
		Task              jTask    `json:"task"`
		Subject           jSubject `json:"subject"`
	}
	if why := unmarshalItem(raw, &r); why != "" {
		return TaskProcessingResult{}, why
	}
	if why := d.required(&r.ID, &r.ProcessingStatus, true); why != "" {
		return TaskProcessingResult{}, why
	}
	return TaskProcessingResult{
		ID:                r.ID.v,
		ProcessingStatus:  r.ProcessingStatus.v,
		FailureReason:     d.optString("failureReason", r.FailureReason),
		ProcessingInfo:    d.optString("processingInfo", r.ProcessingInfo),
		CreatedDateTime:   d.time("createdDateTime", r.CreatedDateTime),
		StartedDateTime:   d.time("startedDateTime", r.StartedDateTime),
		CompletedDateTime: d.time("completedDateTime", r.CompletedDateTime),
		Task:              d.task(r.Task),
		SubjectID:         d.subjectID(r.Subject),
	}, ""
}

// task returns the expanded task; a missing one leaves the zero Task (the result
// itself is still usable).
func (d *itemDecoder) task(t jTask) Task {
	if t.raw != nil {
		d.warn("task", t.flaw)
	}
	if !t.present {
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
		ID                   jString     `json:"id"`
		DisplayName          jString     `json:"displayName"`
		Description          jString     `json:"description"`
		Category             jString     `json:"category"`
		Version              jInt        `json:"version"`
		IsEnabled            jBool       `json:"isEnabled"`
		IsSchedulingEnabled  jBool       `json:"isSchedulingEnabled"`
		LastModifiedDateTime jTime       `json:"lastModifiedDateTime"`
		NextScheduleRun      jTime       `json:"nextScheduleRunDateTime"`
		QuarantineDetails    jQuarantine `json:"quarantineDetails"`
	}
	if why := unmarshalItem(raw, &w); why != "" {
		return Workflow{}, why
	}
	if why := d.required(&w.ID, nil, false); why != "" {
		return Workflow{}, why
	}
	return Workflow{
		ID:                   w.ID.v,
		DisplayName:          d.string("displayName", w.DisplayName),
		Description:          d.string("description", w.Description),
		Category:             d.string("category", w.Category),
		Version:              d.int("version", w.Version),
		IsEnabled:            d.bool("isEnabled", w.IsEnabled),
		IsEnabledKnown:       w.IsEnabled.ok,
		IsSchedulingEnabled:  d.bool("isSchedulingEnabled", w.IsSchedulingEnabled),
		LastModifiedDateTime: d.time("lastModifiedDateTime", w.LastModifiedDateTime),

		NextScheduleRunDateTime: d.time("nextScheduleRunDateTime", w.NextScheduleRun),
		QuarantineDetails:       d.quarantine(w.QuarantineDetails),
	}, ""
}

func decodeUser(raw json.RawMessage, d *itemDecoder) (User, skip) {
	var u struct {
		ID                jString `json:"id"`
		DisplayName       jString `json:"displayName"`
		UserPrincipalName jString `json:"userPrincipalName"`
	}
	if why := unmarshalItem(raw, &u); why != "" {
		return User{}, why
	}
	if why := d.required(&u.ID, nil, false); why != "" {
		return User{}, why
	}
	return User{
		ID:                u.ID.v,
		DisplayName:       d.string("displayName", u.DisplayName),
		UserPrincipalName: d.string("userPrincipalName", u.UserPrincipalName),
	}, ""
}

func decodeUserSummary(raw json.RawMessage, d *itemDecoder) (UserSummary, skip) {
	var s struct {
		FailedTasks     jInt `json:"failedTasks"`
		FailedUsers     jInt `json:"failedUsers"`
		SuccessfulUsers jInt `json:"successfulUsers"`
		TotalTasks      jInt `json:"totalTasks"`
		TotalUsers      jInt `json:"totalUsers"`
	}
	if why := unmarshalItem(raw, &s); why != "" {
		return UserSummary{}, why
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
	var s struct {
		FailedRuns     jInt `json:"failedRuns"`
		FailedTasks    jInt `json:"failedTasks"`
		SuccessfulRuns jInt `json:"successfulRuns"`
		TotalRuns      jInt `json:"totalRuns"`
		TotalTasks     jInt `json:"totalTasks"`
		TotalUsers     jInt `json:"totalUsers"`
	}
	if why := unmarshalItem(raw, &s); why != "" {
		return RunSummary{}, why
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
