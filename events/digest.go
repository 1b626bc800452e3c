package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// DigestType is the CloudEvents type of a periodic report on the watched workflows.
const DigestType = "lcwnotify.digest.report"

// DigestEvent is a report on how the watched workflows did over one period, built by the
// watcher from Graph's summaries and results (LCW_DIGEST). Its subject is the period's
// start, in RFC 3339.
type DigestEvent struct {
	Envelope
	Data DigestData `json:"data"`
}

// DigestData is the payload of a digest event.
type DigestData struct {
	TenantID string `json:"tenantId"`
	Period   Period `json:"period"`
	// Partial reports that some figures could not be read from Graph (throttling, an
	// outage, a permission): the workflows concerned say what is missing. A digest with
	// Partial false is whole.
	Partial bool `json:"partial"`
	// Workflows are the watched workflows, in the order the watcher lists them.
	Workflows []WorkflowDigest `json:"workflows"`
}

// Period is the span a digest covers.
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Schedule is the LCW_DIGEST value that made the period ("daily@09:00"), and TimeZone
	// the LCW_DIGEST_TZ it was read in; both empty for a report asked for by hand.
	Schedule string `json:"schedule,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

// WorkflowDigest is what a digest says of one workflow.
type WorkflowDigest struct {
	Workflow Workflow      `json:"workflow"`
	State    WorkflowState `json:"state"`
	Users    UserCounts    `json:"users"`
	Runs     RunCounts     `json:"runs"`
	// TopReasons are the most common failure reasons of the period, most common first,
	// counted over the task results of ReasonSample.
	TopReasons   []ReasonCount `json:"topReasons,omitempty"`
	ReasonSample ReasonSample  `json:"reasonSample"`
	// Unresolved are failures of the period with no later success of the same workflow
	// for the same user, newest first; UnresolvedTotal counts them all when the list is
	// cut short.
	Unresolved      []Unresolved `json:"unresolved,omitempty"`
	UnresolvedTotal int          `json:"unresolvedTotal"`
	// Missing says, in plain words, what could not be read for this workflow; empty when
	// everything was. When set, the digest is Partial and the figures that depend on it
	// are zero or short.
	Missing string `json:"missing,omitempty"`
}

// ReasonSample says how many failures TopReasons was counted from: the task results of
// Read of the Of failed and completedWithErrors results of the period, the newest, when
// reading them all would take too many requests.
type ReasonSample struct {
	Read int `json:"read"`
	Of   int `json:"of"`
}

// UserCounts count the users a workflow processed in the period, by outcome.
type UserCounts struct {
	Processed           int `json:"processed"`
	Succeeded           int `json:"succeeded"`
	Failed              int `json:"failed"`
	CompletedWithErrors int `json:"completedWithErrors"`
}

// RunCounts count a workflow's runs in the period, by outcome.
type RunCounts struct {
	Total     int `json:"total"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
}

// ReasonCount is a failure reason and how often a task failed with it.
type ReasonCount struct {
	Task   string `json:"task"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Unresolved is one failure still waiting for a success.
type Unresolved struct {
	ResultID    string     `json:"resultId"`
	User        User       `json:"user"`
	Status      string     `json:"status"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
}

// DigestID returns the id of the digest of period p: the same period always gives the
// same id, so that the report is stored, and told, once per period across restarts and
// replicas.
func DigestID(p Period) string {
	return hashID("digest", p.Schedule, p.TimeZone, p.Start.UTC().Format(time.RFC3339), p.End.UTC().Format(time.RFC3339))
}

// NewDigestEvent returns the digest event of d, made at observed; source names the
// tenant's Graph root.
func NewDigestEvent(source string, observed time.Time, d DigestData) (*DigestEvent, error) {
	ev := &DigestEvent{
		Envelope: newEnvelope(DigestType, DigestID(d.Period), source, d.Period.Start.UTC().Format(time.RFC3339), observed),
		Data:     d,
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return ev, nil
}

// Validate reports whether ev carries everything a consumer relies on.
func (ev *DigestEvent) Validate() error {
	if err := ev.Envelope.validate(DigestType); err != nil {
		return err
	}
	if ev.Data.Period.Start.IsZero() || !ev.Data.Period.End.After(ev.Data.Period.Start) {
		return fmt.Errorf("%w: data.period does not end after it starts", ErrMalformed)
	}
	for i := range ev.Data.Workflows {
		if ev.Data.Workflows[i].Workflow.ID == "" {
			return fmt.Errorf("%w: data.workflows[%d] has no id", ErrMalformed, i)
		}
	}
	return nil
}

// SubjectFor returns the subject ev is published on under prefix: <prefix>.digest.report.
func (ev *DigestEvent) SubjectFor(prefix string) string { return DigestSubject(prefix) }

// Marshal encodes ev as the structured-mode JSON stored in the stream.
func (ev *DigestEvent) Marshal() ([]byte, error) { return json.Marshal(ev) }

// DecodeDigestEvent parses and validates one digest event.
func DecodeDigestEvent(b []byte) (*DigestEvent, error) {
	var ev DigestEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	return &ev, nil
}
