package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// Fixed values of the CloudEvents envelope.
const (
	// SpecVersion is the CloudEvents specification version the envelope follows.
	SpecVersion = "1.0"
	// Type is the CloudEvents type of every change event.
	Type = "lcwnotify.userProcessingResult.statusChanged"
	// ContentType is the Content-Type of a structured-mode CloudEvent, sent as a NATS header.
	ContentType = "application/cloudevents+json"
	// DataContentType is the media type of the event's data member.
	DataContentType = "application/json"
)

// Envelope is the CloudEvents 1.0 envelope every lcwnotify event has, in structured JSON
// mode: the attributes, without the data.
type Envelope struct {
	SpecVersion string `json:"specversion"`
	ID          string `json:"id"`
	Source      string `json:"source"`
	Type        string `json:"type"`
	Subject     string `json:"subject"`
	// Time is when lcwnotify observed what the event tells, not when Graph did it.
	Time            time.Time `json:"time,omitzero"`
	DataContentType string    `json:"datacontenttype"`
}

// EventID returns the event's id.
func (e *Envelope) EventID() string { return e.ID }

// validate reports whether e is an envelope of type typ with every attribute a consumer
// relies on.
func (e *Envelope) validate(typ string) error {
	switch {
	case e.SpecVersion != SpecVersion:
		return fmt.Errorf("%w: specversion %q, want %q", ErrMalformed, e.SpecVersion, SpecVersion)
	case e.Type != typ:
		return fmt.Errorf("%w: type %q, want %q", ErrMalformed, e.Type, typ)
	case e.ID == "":
		return fmt.Errorf("%w: empty id", ErrMalformed)
	case e.Source == "":
		return fmt.Errorf("%w: empty source", ErrMalformed)
	case e.Subject == "":
		return fmt.Errorf("%w: empty subject", ErrMalformed)
	}
	return nil
}

// newEnvelope returns the envelope of an event of type typ.
func newEnvelope(typ, id, source, subject string, observed time.Time) Envelope {
	return Envelope{SpecVersion: SpecVersion, ID: id, Source: source, Type: typ, Subject: subject,
		Time: observed.UTC(), DataContentType: DataContentType}
}

// Event is the change event of a userProcessingResult: one CloudEvents 1.0 event in
// structured JSON mode, as stored in the stream.
type Event struct {
	Envelope
	Data Data `json:"data"`
}

// Data is the payload of a change event.
type Data struct {
	TenantID string   `json:"tenantId"`
	Workflow Workflow `json:"workflow"`
	// RunID is the run the result belongs to, empty where the watcher could not tell.
	RunID string `json:"runId,omitempty"`
	// UserProcessingResult is the Graph object exactly as received, with Graph's property
	// names and enum values (unknown values included).
	UserProcessingResult json.RawMessage `json:"userProcessingResult"`
	// PreviousProcessingStatus is the status seen before this change, nil on first sighting.
	PreviousProcessingStatus *string `json:"previousProcessingStatus"`
	// TaskProcessingResults is filled for results in a notify status, so that no subscriber
	// needs Graph access to say what failed.
	TaskProcessingResults []TaskResult `json:"taskProcessingResults,omitempty"`
	User                  User         `json:"user"`
}

// Workflow identifies the lifecycle workflow a result belongs to.
type Workflow struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Category is joiner, leaver, mover or any value Graph adds later, as received.
	Category string `json:"category"`
	Version  int    `json:"version"`
}

// TaskResult is one taskProcessingResult of a user's workflow execution.
type TaskResult struct {
	ID               string  `json:"id,omitempty"`
	ProcessingStatus string  `json:"processingStatus"`
	FailureReason    *string `json:"failureReason"`
	// ProcessingInfo is Graph's human-readable context for the outcome (a task that
	// succeeded without acting because the user already was in that state); absent
	// when Graph gives none.
	ProcessingInfo    *string    `json:"processingInfo,omitempty"`
	StartedDateTime   *time.Time `json:"startedDateTime,omitempty"`
	CompletedDateTime *time.Time `json:"completedDateTime,omitempty"`
	Task              Task       `json:"task"`
}

// Task describes the workflow task a TaskResult reports on.
type Task struct {
	ID                string `json:"id,omitempty"`
	DisplayName       string `json:"displayName"`
	Category          string `json:"category,omitempty"`
	ExecutionSequence int    `json:"executionSequence,omitempty"`
	ContinueOnError   bool   `json:"continueOnError,omitempty"`
}

// User names the user a result is about. DisplayName and UserPrincipalName are empty
// when the watcher may not read the user.
type User struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

// Result is the typed view of the fields of a userProcessingResult that lcwnotify acts on.
// Statuses are kept as the strings Graph sent.
type Result struct {
	ID                         string     `json:"id"`
	ProcessingStatus           string     `json:"processingStatus"`
	WorkflowExecutionType      string     `json:"workflowExecutionType"`
	WorkflowVersion            int        `json:"workflowVersion"`
	FailedTasksCount           int        `json:"failedTasksCount"`
	TotalTasksCount            int        `json:"totalTasksCount"`
	TotalUnprocessedTasksCount int        `json:"totalUnprocessedTasksCount"`
	ScheduledDateTime          *time.Time `json:"scheduledDateTime"`
	StartedDateTime            *time.Time `json:"startedDateTime"`
	CompletedDateTime          *time.Time `json:"completedDateTime"`
	Subject                    struct {
		ID string `json:"id"`
	} `json:"subject"`
}

// Result decodes the typed view of d.UserProcessingResult.
func (d *Data) Result() (Result, error) {
	var r Result
	if err := json.Unmarshal(d.UserProcessingResult, &r); err != nil {
		return Result{}, fmt.Errorf("%w: userProcessingResult: %v", ErrMalformed, err)
	}
	return r, nil
}

// Marshal encodes ev as the structured-mode JSON stored in the stream.
func (ev *Event) Marshal() ([]byte, error) {
	return json.Marshal(ev)
}

// Decode parses and validates one structured-mode change event. Anything that is not a
// well-formed lcwnotify change event is reported with an error wrapping ErrMalformed, so
// consumers can tell poison messages from transient failures.
func Decode(b []byte) (*Event, error) {
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return &ev, nil
}

// Validate reports whether ev carries everything a consumer relies on.
func (ev *Event) Validate() error {
	if err := ev.Envelope.validate(Type); err != nil {
		return err
	}
	if ev.Data.Workflow.ID == "" {
		return fmt.Errorf("%w: empty data.workflow.id", ErrMalformed)
	}
	r, err := ev.Data.Result()
	if err != nil {
		return err
	}
	if r.ProcessingStatus == "" {
		return fmt.Errorf("%w: empty data.userProcessingResult.processingStatus", ErrMalformed)
	}
	if r.ID != ev.Subject {
		return fmt.Errorf("%w: subject %q differs from userProcessingResult id %q", ErrMalformed, ev.Subject, r.ID)
	}
	return nil
}

// New returns the change event announcing that d's userProcessingResult has entered the
// status it carries, observed at observed. source is the workflow's Graph URL. The id is
// derived from the workflow id, the result id and the status (see ID).
func New(source string, observed time.Time, d Data) (*Event, error) {
	r, err := d.Result()
	if err != nil {
		return nil, err
	}
	ev := &Event{
		Envelope: newEnvelope(Type, ID(d.Workflow.ID, r.ID, r.ProcessingStatus), source, r.ID, observed),
		Data:     d,
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return ev, nil
}
