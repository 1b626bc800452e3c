package notifytest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// Result describes a change event to build: a userProcessingResult of a workflow
// entering Status. Empty fields get plausible values.
type Result struct {
	WorkflowID, WorkflowName, Category string
	RunID                              string
	ResultID                           string
	Status                             string
	// UserID, UserName and UPN name the user; leave the last two empty for a user the
	// watcher could not read.
	UserID, UserName, UPN string
	// Tasks are the task results; Failed and Total default to counts over them.
	Tasks         []events.TaskResult
	Failed, Total int
	Observed      time.Time
}

// FailedTask returns a failed task result with the given name and reason.
func FailedTask(name, reason string) events.TaskResult {
	return events.TaskResult{ProcessingStatus: "failed", FailureReason: &reason, Task: events.Task{DisplayName: name}}
}

// CompletedTask returns a completed task result with the given name.
func CompletedTask(name string) events.TaskResult {
	return events.TaskResult{ProcessingStatus: "completed", Task: events.Task{DisplayName: name}}
}

// Event builds the change event r describes.
func Event(r Result) (*events.Event, error) {
	if r.WorkflowID == "" {
		r.WorkflowID = "wf-1"
	}
	if r.WorkflowName == "" {
		r.WorkflowName = "Onboard new hires"
	}
	if r.Category == "" {
		r.Category = "joiner"
	}
	if r.ResultID == "" {
		r.ResultID = "upr-1"
	}
	if r.Status == "" {
		r.Status = "failed"
	}
	if r.UserID == "" {
		r.UserID = "user-" + r.ResultID
	}
	if r.Observed.IsZero() {
		r.Observed = time.Now()
	}
	if r.Tasks == nil {
		r.Tasks = []events.TaskResult{CompletedTask("Generate TAP"), FailedTask("Add user to groups", "The group does not exist.")}
	}
	if r.Total == 0 {
		r.Total = len(r.Tasks)
	}
	if r.Failed == 0 {
		for _, t := range r.Tasks {
			if t.ProcessingStatus == "failed" {
				r.Failed++
			}
		}
	}
	upr, err := json.Marshal(map[string]any{
		"id":                         r.ResultID,
		"processingStatus":           r.Status,
		"failedTasksCount":           r.Failed,
		"totalTasksCount":            r.Total,
		"totalUnprocessedTasksCount": 0,
		"workflowExecutionType":      "scheduled",
		"workflowVersion":            1,
		"completedDateTime":          r.Observed.UTC().Format(time.RFC3339),
		"subject":                    map[string]any{"id": r.UserID},
	})
	if err != nil {
		return nil, err
	}
	prev := "inProgress"
	return events.New("https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/workflows/"+r.WorkflowID,
		r.Observed, events.Data{
			TenantID:                 "00000000-0000-4000-8000-000000000001",
			Workflow:                 events.Workflow{ID: r.WorkflowID, DisplayName: r.WorkflowName, Category: r.Category, Version: 1},
			RunID:                    r.RunID,
			UserProcessingResult:     upr,
			PreviousProcessingStatus: &prev,
			TaskProcessingResults:    r.Tasks,
			User:                     events.User{ID: r.UserID, DisplayName: r.UserName, UserPrincipalName: r.UPN},
		})
}

// Burst builds n failures of one run of workflowID, users "<prefix> 0001"… in order.
func Burst(workflowID, workflowName, prefix string, n int) ([]*events.Event, error) {
	evs := make([]*events.Event, n)
	for i := range n {
		ev, err := Event(Result{
			WorkflowID:   workflowID,
			WorkflowName: workflowName,
			Category:     "leaver",
			RunID:        "run-" + workflowID,
			ResultID:     fmt.Sprintf("%s-upr-%04d", workflowID, i+1),
			UserName:     fmt.Sprintf("%s %04d", prefix, i+1),
			UPN:          fmt.Sprintf("user%04d@contoso.example", i+1),
		})
		if err != nil {
			return nil, err
		}
		evs[i] = ev
	}
	return evs, nil
}

// MustEvent builds the change event r describes, failing the test if it cannot.
func MustEvent(t testing.TB, r Result) *events.Event {
	t.Helper()
	ev, err := Event(r)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// OffboardingBurst is the burst the benchmarks measure: 350 failures at once, 300 from
// one run of "Offboard contractors" and 50 from one of "Offboard employees".
func OffboardingBurst() ([]*events.Event, error) {
	contractors, err := Burst("wf-contractors", "Offboard contractors", "Contractor", 300)
	if err != nil {
		return nil, err
	}
	employees, err := Burst("wf-employees", "Offboard employees", "Employee", 50)
	if err != nil {
		return nil, err
	}
	return append(contractors, employees...), nil
}

// Publish ensures the stream and publishes evs to it, failing on the first error.
func Publish(ctx context.Context, js jetstream.JetStream, stream, prefix string, evs ...*events.Event) error {
	if _, err := events.EnsureStream(ctx, js, events.StreamOptions{Name: stream, Prefix: prefix}); err != nil {
		return err
	}
	p := events.NewPublisher(js, stream, prefix)
	for _, a := range p.PublishAll(ctx, evs) {
		if a.Err != nil {
			return a.Err
		}
	}
	return nil
}

// Kinded is an event of another kind than a result's change, with its id.
type Kinded interface {
	events.Message
	EventID() string
}

// WorkflowChange builds the event of a change of workflow wf, of the given episode.
func WorkflowChange(wf, name, change, episode string) (*events.WorkflowEvent, error) {
	st := events.WorkflowState{IsEnabled: change != events.ChangeDisabled, IsSchedulingEnabled: true, QuarantineDetails: json.RawMessage("null")}
	if change == events.ChangeQuarantined {
		st.QuarantineDetails = json.RawMessage(`{"quarantinedDateTime":"` + episode + `","quarantineReason":"The run would have processed 412 of 500 users (82%), over the 10% threshold.","quarantineType":"percentageBasedThresholdExceeded"}`)
	}
	return events.NewWorkflowEvent("https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/workflows/"+wf,
		time.Now(), episode, events.WorkflowData{
			TenantID: "00000000-0000-4000-8000-000000000001",
			Workflow: events.Workflow{ID: wf, DisplayName: name, Category: "leaver", Version: 1},
			Change:   change,
			State:    st,
		})
}

// ActionStep builds the kind record of an action on the failure ev, taken by the Slack
// user actor from the message at channel and ts.
func ActionStep(ev *events.Event, kind, action, actor, channel, ts string) (*events.ActionEvent, error) {
	r, err := ev.Data.Result()
	if err != nil {
		return nil, err
	}
	u := ev.Data.User
	return events.NewActionEvent(ev.Source, time.Now(), events.ActionData{
		Workflow: ev.Data.Workflow,
		ActionID: "act-" + ev.ID + "-" + action,
		Kind:     kind,
		Action:   action,
		Target:   events.ActionTarget{ResultID: r.ID, RunID: ev.Data.RunID, User: &u, EventID: ev.ID},
		Actor:    events.Actor{Via: "slack", ID: actor, Name: "oncall"},
		At:       time.Now().UTC(),
		Message:  &events.MessageRef{Sink: "slack", Key: channel, ID: ts},
	})
}

// PublishMessage ensures the stream and publishes the events of other kinds, failing on
// the first error.
func PublishMessage(ctx context.Context, js jetstream.JetStream, stream, prefix string, msgs ...Kinded) error {
	if _, err := events.EnsureStream(ctx, js, events.StreamOptions{Name: stream, Prefix: prefix}); err != nil {
		return err
	}
	p := events.NewPublisher(js, stream, prefix)
	for _, m := range msgs {
		if a := p.PublishMessage(ctx, m.EventID(), m); a.Err != nil {
			return a.Err
		}
	}
	return nil
}
