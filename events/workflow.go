package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// WorkflowType is the CloudEvents type of a workflow's change of state.
const WorkflowType = "lcwnotify.workflow.stateChanged"

// Changes of a workflow's state, the last token of its event's subject.
const (
	// ChangeQuarantined: Lifecycle Workflows stopped the workflow because a run would have
	// processed more users than its thresholds allow. Nobody it would process is
	// processed until an administrator releases it.
	ChangeQuarantined = "quarantined"
	// ChangeReleased: the workflow left quarantine.
	ChangeReleased = "released"
	// ChangeDisabled and ChangeEnabled: the workflow's isEnabled turned false or true.
	ChangeDisabled = "disabled"
	ChangeEnabled  = "enabled"
)

// WorkflowChanges lists every change, in the order above.
var WorkflowChanges = []string{ChangeQuarantined, ChangeReleased, ChangeDisabled, ChangeEnabled}

// WorkflowEvent announces that a watched workflow entered or left quarantine, or was
// disabled or enabled. Its subject is the workflow id.
type WorkflowEvent struct {
	Envelope
	Data WorkflowData `json:"data"`
}

// WorkflowData is the payload of a workflow event.
type WorkflowData struct {
	TenantID string   `json:"tenantId"`
	Workflow Workflow `json:"workflow"`
	// Change is one of WorkflowChanges.
	Change string `json:"change"`
	// State is the workflow's state after the change.
	State WorkflowState `json:"state"`
	// Episode tells this quarantine (or this disabling) from the next one of the same
	// workflow, as in WorkflowID: for quarantined and released, the quarantinedDateTime
	// of the quarantine (RFC 3339, UTC), so that a released event names the quarantined
	// event it ends; for disabled and enabled, the workflow's lastModifiedDateTime.
	// NewWorkflowEvent sets it.
	Episode string `json:"episode"`
}

// WorkflowState is what Graph says of a workflow's state, with its property names.
type WorkflowState struct {
	IsEnabled           bool `json:"isEnabled"`
	IsSchedulingEnabled bool `json:"isSchedulingEnabled"`
	// QuarantineDetails is Graph's quarantineDetails object as received (unknown
	// quarantineType values kept), null when Graph gave none.
	QuarantineDetails       json.RawMessage `json:"quarantineDetails"`
	NextScheduleRunDateTime *time.Time      `json:"nextScheduleRunDateTime,omitempty"`
}

// Quarantine is the typed view of the fields of quarantineDetails lcwnotify acts on.
type Quarantine struct {
	QuarantinedDateTime *time.Time `json:"quarantinedDateTime"`
	QuarantineReason    string     `json:"quarantineReason"`
	// QuarantineType is notQuarantined, countBasedThresholdExceeded,
	// percentageBasedThresholdExceeded, multipleConditionsExceeded or a value Graph adds
	// later, as received.
	QuarantineType string `json:"quarantineType"`
}

// Quarantine decodes the typed view of s.QuarantineDetails; a null or absent object is
// the zero Quarantine.
func (s *WorkflowState) Quarantine() (Quarantine, error) {
	var q Quarantine
	if len(s.QuarantineDetails) == 0 || string(s.QuarantineDetails) == "null" {
		return q, nil
	}
	if err := json.Unmarshal(s.QuarantineDetails, &q); err != nil {
		return Quarantine{}, fmt.Errorf("%w: quarantineDetails: %v", ErrMalformed, err)
	}
	return q, nil
}

// WorkflowID returns the id of the event announcing change of workflow workflowID.
// episode tells one quarantine (or one disabling) of the same workflow from the next:
// the quarantinedDateTime, or the workflow's lastModifiedDateTime. The same change of the
// same episode always gives the same id.
func WorkflowID(workflowID, change, episode string) string {
	return hashID("workflow", workflowID, change, episode)
}

// NewWorkflowEvent returns the event announcing d.Change of d.Workflow, observed at
// observed; source is the workflow's Graph URL and episode as for WorkflowID.
func NewWorkflowEvent(source string, observed time.Time, episode string, d WorkflowData) (*WorkflowEvent, error) {
	d.Episode = episode
	ev := &WorkflowEvent{
		Envelope: newEnvelope(WorkflowType, WorkflowID(d.Workflow.ID, d.Change, episode), source, d.Workflow.ID, observed),
		Data:     d,
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return ev, nil
}

// Validate reports whether ev carries everything a consumer relies on.
func (ev *WorkflowEvent) Validate() error {
	if err := ev.Envelope.validate(WorkflowType); err != nil {
		return err
	}
	switch {
	case ev.Data.Workflow.ID == "":
		return fmt.Errorf("%w: empty data.workflow.id", ErrMalformed)
	case ev.Data.Workflow.ID != ev.Subject:
		return fmt.Errorf("%w: subject %q differs from the workflow id %q", ErrMalformed, ev.Subject, ev.Data.Workflow.ID)
	case ev.Data.Change == "":
		return fmt.Errorf("%w: empty data.change", ErrMalformed)
	}
	_, err := ev.Data.State.Quarantine()
	return err
}

// SubjectFor returns the subject ev is published on under prefix:
// <prefix>.workflow.<workflowId>.<change>.
func (ev *WorkflowEvent) SubjectFor(prefix string) string {
	return WorkflowSubject(prefix, ev.Data.Workflow.ID, ev.Data.Change)
}

// Marshal encodes ev as the structured-mode JSON stored in the stream.
func (ev *WorkflowEvent) Marshal() ([]byte, error) { return json.Marshal(ev) }

// DecodeWorkflowEvent parses and validates one workflow event.
func DecodeWorkflowEvent(b []byte) (*WorkflowEvent, error) {
	var ev WorkflowEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return &ev, nil
}
