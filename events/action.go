package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// ActionType is the CloudEvents type of the audit record of an action taken on a
// failure (a re-run requested from Slack).
const ActionType = "lcwnotify.action.recorded"

// Kinds of action record, the last token of its event's subject.
const (
	// ActionRequested: someone asked for the action (clicked the button).
	ActionRequested = "requested"
	// ActionAccepted: Graph accepted the activation.
	ActionAccepted = "accepted"
	// ActionRefused: lcwnotify did not call Graph (the person may not act, or the same
	// action was already requested).
	ActionRefused = "refused"
	// ActionFailed: Graph refused the activation, or its answer was lost.
	ActionFailed = "failed"
)

// ActionKinds lists every kind, in the order above.
var ActionKinds = []string{ActionRequested, ActionAccepted, ActionRefused, ActionFailed}

// What an action does, the data's action member.
const (
	// RerunFailedTasks re-runs the failed tasks of one userProcessingResult
	// (activateWithScope with an activateProcessingResultScope, taskScope failedTasks).
	RerunFailedTasks = "rerunFailedTasks"
	// RerunWorkflow runs the whole workflow again for the user (activate).
	RerunWorkflow = "rerunWorkflow"
	// RerunFailedUsers re-runs the failed tasks of the failed users of one run
	// (activateWithScope with an activateRunScope, userScope failedUsers).
	RerunFailedUsers = "rerunFailedUsers"
)

// ActionEvent is the audit record of one step of an action. Its subject is the
// userProcessingResult the action is about, or the run for RerunFailedUsers.
type ActionEvent struct {
	Envelope
	Data ActionData `json:"data"`
}

// ActionData is the payload of an action event.
type ActionData struct {
	TenantID string   `json:"tenantId,omitempty"`
	Workflow Workflow `json:"workflow"`
	// ActionID names the action: the same for every record of it, and the same for every
	// request of the same action on the same target (a double click, a retry by Slack).
	ActionID string `json:"actionId"`
	// Kind is one of ActionKinds; Action one of RerunFailedTasks, RerunWorkflow and
	// RerunFailedUsers.
	Kind   string       `json:"kind"`
	Action string       `json:"action"`
	Target ActionTarget `json:"target"`
	Actor  Actor        `json:"actor"`
	// Request names the request (one click) the record belongs to: the records of one
	// request share it, and records of different requests of the same action have
	// different ids, so that every click is in the audit trail while a click delivered
	// twice (Slack's retry, a replayed request) is stored once. Opaque; empty in records
	// that belong to no request in particular.
	Request string `json:"request,omitempty"`
	// At is when the step happened.
	At time.Time `json:"at"`
	// Reason says, in plain words, why an action was refused or failed.
	Reason string `json:"reason,omitempty"`
	// Graph is Graph's answer, for accepted and failed.
	Graph *GraphAnswer `json:"graph,omitempty"`
	// Message is the notification the action was taken from, where it has one.
	Message *MessageRef `json:"message,omitempty"`
}

// ActionTarget is what an action acts on.
type ActionTarget struct {
	// ResultID is the userProcessingResult, empty for RerunFailedUsers.
	ResultID string `json:"resultId,omitempty"`
	RunID    string `json:"runId,omitempty"`
	// User is the result's user, for a result.
	User *User `json:"user,omitempty"`
	// EventID is the change event of the failure the action answers.
	EventID string `json:"eventId,omitempty"`
}

// Actor is who asked for an action.
type Actor struct {
	// Via is where the request came from: "slack".
	Via string `json:"via"`
	// ID and Name identify the person there (a Slack user id and name); Team is the
	// Slack workspace.
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Team string `json:"team,omitempty"`
}

// GraphAnswer is what Graph answered an activation.
type GraphAnswer struct {
	Status    int    `json:"status,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// MessageRef locates a notification at its destination.
type MessageRef struct {
	// Sink is the destination kind ("slack"), Key its key there (a channel id) and ID the
	// message's id there (a Slack ts).
	Sink string `json:"sink"`
	Key  string `json:"key"`
	ID   string `json:"id"`
}

// ActionEventID returns the id of the kind record of action actionID: deterministic,
// so that a step recorded twice (a crash, a retry) is stored once.
func ActionEventID(actionID, kind string) string {
	return hashID("action", actionID, kind)
}

// ActionRequestEventID returns the id of the kind record of request (one click) of
// action actionID; with no request it is ActionEventID's.
func ActionRequestEventID(actionID, kind, request string) string {
	if request == "" {
		return ActionEventID(actionID, kind)
	}
	return hashID("action", actionID, kind, request)
}

// NewActionEvent returns the event recording d, observed at observed; source is the
// workflow's Graph URL.
func NewActionEvent(source string, observed time.Time, d ActionData) (*ActionEvent, error) {
	subject := d.Target.ResultID
	if subject == "" {
		subject = d.Target.RunID
	}
	ev := &ActionEvent{
		Envelope: newEnvelope(ActionType, ActionRequestEventID(d.ActionID, d.Kind, d.Request), source, subject, observed),
		Data:     d,
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return ev, nil
}

// Validate reports whether ev carries everything a consumer relies on.
func (ev *ActionEvent) Validate() error {
	if err := ev.Envelope.validate(ActionType); err != nil {
		return err
	}
	switch {
	case ev.Data.Workflow.ID == "":
		return fmt.Errorf("%w: empty data.workflow.id", ErrMalformed)
	case ev.Data.ActionID == "":
		return fmt.Errorf("%w: empty data.actionId", ErrMalformed)
	case ev.Data.Kind == "" || ev.Data.Action == "":
		return fmt.Errorf("%w: empty data.kind or data.action", ErrMalformed)
	case ev.Data.Target.ResultID == "" && ev.Data.Target.RunID == "":
		return fmt.Errorf("%w: data.target names neither a result nor a run", ErrMalformed)
	}
	return nil
}

// SubjectFor returns the subject ev is published on under prefix:
// <prefix>.action.<workflowId>.<kind>.
func (ev *ActionEvent) SubjectFor(prefix string) string {
	return ActionSubject(prefix, ev.Data.Workflow.ID, ev.Data.Kind)
}

// Marshal encodes ev as the structured-mode JSON stored in the stream.
func (ev *ActionEvent) Marshal() ([]byte, error) { return json.Marshal(ev) }

// DecodeActionEvent parses and validates one action event.
func DecodeActionEvent(b []byte) (*ActionEvent, error) {
	var ev ActionEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return &ev, nil
}
