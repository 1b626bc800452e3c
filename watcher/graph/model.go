package graph

import (
	"encoding/json"
	"time"
)

// Workflow is a lifecycle workflow (identityGovernance.workflow). Category is
// evolvable (joiner, leaver, mover, extensibility, …): kept as received.
type Workflow struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	Category    string `json:"category"`
	Version     int    `json:"version"`
	IsEnabled   bool   `json:"isEnabled"`
	// IsEnabledKnown reports that Graph sent isEnabled as a boolean: without it (absent,
	// null or malformed) IsEnabled is false but says nothing, and a watcher must not
	// announce the workflow disabled.
	IsEnabledKnown       bool       `json:"-"`
	IsSchedulingEnabled  bool       `json:"isSchedulingEnabled"`
	LastModifiedDateTime *time.Time `json:"lastModifiedDateTime"`
	// NextScheduleRunDateTime is when the workflow is expected to run next on the
	// tenant's schedule (if any user matches its execution conditions then); nil when
	// Graph gives none.
	NextScheduleRunDateTime *time.Time `json:"nextScheduleRunDateTime"`
	// QuarantineDetails is the workflow's quarantine state; nil when Graph sent none
	// (or none usable): unknown, which Quarantined reports as not quarantined.
	QuarantineDetails *QuarantineDetails `json:"quarantineDetails"`
}

// Quarantined reports whether the workflow is quarantined: its quarantineType is
// present and anything but notQuarantined, including types newer than this client.
func (w Workflow) Quarantined() bool {
	return w.QuarantineDetails != nil && w.QuarantineDetails.QuarantineType != "" &&
		w.QuarantineDetails.QuarantineType != QuarantineNone
}

// QuarantineDetails is identityGovernance.quarantineDetails: why and since when the
// service stopped a workflow whose scheduled run broke its execution limits.
type QuarantineDetails struct {
	QuarantinedDateTime *time.Time `json:"quarantinedDateTime"`
	// QuarantineReason is Graph's text, for people; empty when null.
	QuarantineReason string `json:"quarantineReason"`
	// QuarantineType is notQuarantined, countBasedThresholdExceeded,
	// percentageBasedThresholdExceeded, multipleConditionsExceeded or a newer member
	// (the enum is evolvable), as received.
	QuarantineType string `json:"quarantineType"`
	// Raw is the object exactly as Graph sent it (compacted JSON), for events that carry
	// Graph's property names and values untouched.
	Raw json.RawMessage `json:"-"`
}

// Quarantine types Graph documents (identityGovernance.quarantineType).
const (
	QuarantineNone       = "notQuarantined"
	QuarantineCount      = "countBasedThresholdExceeded"
	QuarantinePercentage = "percentageBasedThresholdExceeded"
	QuarantineMultiple   = "multipleConditionsExceeded"
)

// Run is one execution of a workflow (identityGovernance.run).
type Run struct {
	ID                         string     `json:"id"`
	ProcessingStatus           string     `json:"processingStatus"`
	WorkflowExecutionType      string     `json:"workflowExecutionType"`
	ScheduledDateTime          *time.Time `json:"scheduledDateTime"`
	StartedDateTime            *time.Time `json:"startedDateTime"`
	CompletedDateTime          *time.Time `json:"completedDateTime"`
	LastUpdatedDateTime        *time.Time `json:"lastUpdatedDateTime"`
	FailedTasksCount           int        `json:"failedTasksCount"`
	FailedUsersCount           int        `json:"failedUsersCount"`
	SuccessfulUsersCount       int        `json:"successfulUsersCount"`
	TotalTasksCount            int        `json:"totalTasksCount"`
	TotalUnprocessedTasksCount int        `json:"totalUnprocessedTasksCount"`
	TotalUsersCount            int        `json:"totalUsersCount"`
	// ActivatedOnScope is the scope activateWithScope started the run on, nil for
	// other runs: how a re-run is matched to the failure it re-runs.
	ActivatedOnScope *ActivationScope `json:"activatedOnScope"`
}

// UserProcessingResult is the outcome of a workflow for one user
// (identityGovernance.userProcessingResult).
type UserProcessingResult struct {
	ID                         string
	ProcessingStatus           string
	WorkflowExecutionType      string
	WorkflowVersion            int
	FailedTasksCount           int
	TotalTasksCount            int
	TotalUnprocessedTasksCount int
	ScheduledDateTime          *time.Time
	StartedDateTime            *time.Time
	CompletedDateTime          *time.Time
	// SubjectID is subject.id, the user the result is about.
	SubjectID string
	// Raw is the object exactly as Graph sent it (compacted JSON), for events that must
	// carry Graph's property names and values untouched.
	Raw json.RawMessage
}

// TaskProcessingResult is the outcome of one task for one user
// (identityGovernance.taskProcessingResult), with its task expanded.
type TaskProcessingResult struct {
	ID               string
	ProcessingStatus string
	FailureReason    *string
	// ProcessingInfo is Graph's human-readable context for the outcome (say, a task
	// that succeeded without acting because the user already was in that state); nil
	// when Graph gives none.
	ProcessingInfo    *string
	CreatedDateTime   *time.Time
	StartedDateTime   *time.Time
	CompletedDateTime *time.Time
	Task              Task
	SubjectID         string
}

// Task is the workflow task a TaskProcessingResult reports on (identityGovernance.task).
type Task struct {
	ID                string
	DisplayName       string
	Description       string
	Category          string
	ExecutionSequence int
	ContinueOnError   bool
}

// User is the part of a directory user lcwnotify shows.
type User struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// UserSummary is identityGovernance.userSummary.
type UserSummary struct {
	FailedTasks     int `json:"failedTasks"`
	FailedUsers     int `json:"failedUsers"`
	SuccessfulUsers int `json:"successfulUsers"`
	TotalTasks      int `json:"totalTasks"`
	TotalUsers      int `json:"totalUsers"`
}

// RunSummary is identityGovernance.runSummary.
type RunSummary struct {
	FailedRuns     int `json:"failedRuns"`
	FailedTasks    int `json:"failedTasks"`
	SuccessfulRuns int `json:"successfulRuns"`
	TotalRuns      int `json:"totalRuns"`
	TotalTasks     int `json:"totalTasks"`
	TotalUsers     int `json:"totalUsers"`
}
