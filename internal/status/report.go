package status

import (
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Report is what the status page shows and `lcwnotify status --json` prints.
type Report struct {
	// Generated is when the report was gathered.
	Generated time.Time `json:"generated"`
	Stream    string    `json:"stream"`
	Watcher   Watching  `json:"watcher"`
	// Workflows are the workflows quarantined or disabled now, as their last workflow
	// event in the stream says.
	Workflows []WorkflowAlert `json:"workflows"`
	Failures  Failures        `json:"failures"`
	// Destinations are the sinks with a consumer on the stream.
	Destinations []Destination `json:"destinations"`
	DeadLetters  []DeadLetter  `json:"deadLetters"`
	// Problems name what could not be read; the rest of the report stands.
	Problems []string `json:"problems,omitempty"`
}

// Watching is the watchers' state.
type Watching struct {
	// Holder is the replica holding the polling lease, "" when none does; Renewed is when
	// it last renewed it (on its clock) and Live whether that is within the lease's time.
	Holder  string    `json:"holder,omitempty"`
	Renewed time.Time `json:"renewed,omitzero"`
	Live    bool      `json:"live"`
	// PollInterval is LCW_POLL_INTERVAL, as this process reads it.
	PollInterval Duration `json:"pollInterval"`
	// Local is this process's watcher, when it runs one.
	Local *LocalWatcher `json:"local,omitempty"`
	// Workflows are the workflows polled, with the start of their last successful poll
	// and when the next one is due.
	Workflows []WorkflowPoll `json:"workflows"`
	// NextPollFrom says how NextPoll is worked out.
	NextPollFrom string `json:"nextPollFrom"`
}

// LocalWatcher is what the watcher of the reporting process knows.
type LocalWatcher struct {
	Leader bool `json:"leader"`
	// LastSuccess is the end of its last poll in which every workflow succeeded.
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	NextPoll    time.Time `json:"nextPoll,omitzero"`
	// GraphRefusal says what Microsoft Graph refuses (a missing permission), "" when
	// nothing.
	GraphRefusal string `json:"graphRefusal,omitempty"`
	// Throttled is the time spent waiting out Graph's 429 and 503 answers in the last
	// ThrottleWindow; ThrottledAnswers counts them.
	Throttled        Duration `json:"throttled"`
	ThrottledAnswers int      `json:"throttledAnswers"`
	ThrottleWindow   Duration `json:"throttleWindow"`
}

// WorkflowPoll is one workflow's polling.
type WorkflowPoll struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// LastPoll is when its last successful poll started, NextPoll when the next one is
	// due: from the poll schedule when this process polls, else LastPoll and the poll
	// interval (the latest it can be); zero when no watcher polls.
	LastPoll time.Time `json:"lastPoll,omitzero"`
	NextPoll time.Time `json:"nextPoll,omitzero"`
	// Mode is how often it is polled ("active" or "idle") and Reason why, from the
	// schedule of the process that polls; empty from any other process.
	Mode   string `json:"mode,omitempty"`
	Reason string `json:"reason,omitempty"`
	// NextScheduledRun is Graph's nextScheduleRunDateTime as the poller last listed it.
	NextScheduledRun *time.Time `json:"nextScheduledRun,omitempty"`
	// Overdue reports a last poll older than three poll intervals while a watcher polls.
	Overdue bool `json:"overdue,omitempty"`
}

// WorkflowAlert is a workflow that does not run as it should.
type WorkflowAlert struct {
	Workflow events.Workflow `json:"workflow"`
	// Change is events.ChangeQuarantined or events.ChangeDisabled; Since is when the
	// watcher saw it.
	Change string    `json:"change"`
	Since  time.Time `json:"since"`
	// Reason is Graph's quarantineReason and QuarantineType its quarantineType.
	Reason         string `json:"reason,omitempty"`
	QuarantineType string `json:"quarantineType,omitempty"`
	URL            string `json:"url"`
}

// States of a failure, from what its destinations' ledgers say.
const (
	// StateResolved: a later result of the same user and workflow completed.
	StateResolved = "resolved"
	// StateRerun: someone asked for a re-run from the notification.
	StateRerun = "re-run requested"
	// StateNotified: a destination took the notification.
	StateNotified = "notified"
	// StateDeadLettered: a destination gave up on it; replay it once the cause is fixed.
	StateDeadLettered = "dead-lettered"
	// StateSending: a notifier is sending it right now.
	StateSending = "sending"
	// StateWaiting: no destination has it yet (queued, or retried after a failure).
	StateWaiting = "waiting"
)

// States lists the states, from the most settled.
var States = []string{StateResolved, StateRerun, StateNotified, StateDeadLettered, StateSending, StateWaiting}

// Failures are the failures of the report's window that match its filter.
type Failures struct {
	// Window is how far back the list reaches; Filter what it was asked for.
	Window Duration `json:"window"`
	Filter Filter   `json:"filter"`
	// Matching counts the failures of the window the filter matches; Items are the
	// newest of them, at most Filter.Limit.
	Matching int       `json:"matching"`
	Items    []Failure `json:"items"`
	// Options are the values the filter can take, for the page's choices.
	Options FilterOptions `json:"-"`
}

// Failure is one result that entered a status to notify.
type Failure struct {
	EventID  string          `json:"eventId"`
	ResultID string          `json:"resultId"`
	RunID    string          `json:"runId,omitempty"`
	Workflow events.Workflow `json:"workflow"`
	// User is the display name, else the UPN, else the object id; UserDetail the UPN
	// beside a display name; UserID the object id.
	User       string `json:"user"`
	UserDetail string `json:"userDetail,omitempty"`
	UserID     string `json:"userId"`
	Status     string `json:"status"`
	// Failed and Total count the result's tasks; Tasks are the failed ones.
	Failed   int       `json:"failedTasks"`
	Total    int       `json:"totalTasks"`
	Tasks    []Task    `json:"tasks,omitempty"`
	Observed time.Time `json:"observed"`
	// State is the most settled of its destinations' states (States); Action the
	// latest action taken on it, where one was.
	State  string                 `json:"state"`
	Action *notify.IncidentAction `json:"action,omitempty"`
	// Deliveries say, per destination, where and when it was told.
	Deliveries  []Delivery `json:"deliveries"`
	WorkflowURL string     `json:"workflowUrl"`
	// Seq is the event's stream sequence.
	Seq uint64 `json:"seq"`
}

// Task is a failed task of a result.
type Task struct {
	Name string `json:"name"`
	// Status is the task's processingStatus, Reason Graph's failureReason and Info its
	// processingInfo, where Graph gave them.
	Status string `json:"status"`
	Reason string `json:"reason"`
	Info   string `json:"info,omitempty"`
}

// Delivery is what became of a failure at one destination.
type Delivery struct {
	Sink string `json:"sink"`
	// State is one of States.
	State string `json:"state"`
	// Key is where it went (a Slack channel id), MessageID the destination's id of the
	// message (a Slack ts) and Link the message's web address, where known.
	Key       string    `json:"key,omitempty"`
	MessageID string    `json:"messageId,omitempty"`
	Link      string    `json:"link,omitempty"`
	At        time.Time `json:"at,omitzero"`
	// Grouped reports a message that carried other failures too.
	Grouped bool `json:"grouped,omitempty"`
}

// Destination is one sink's state.
type Destination struct {
	Sink string `json:"sink"`
	// Backlog counts the events of its consumer not acknowledged yet, in every process.
	Backlog uint64 `json:"backlog"`
	// Local is this process's view, when it delivers to the sink.
	Local *LocalHealth `json:"local,omitempty"`
	// DeadLetters counts its dead letters.
	DeadLetters int `json:"deadLetters"`
}

// LocalHealth is a destination's health in the reporting process.
type LocalHealth struct {
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	// Queued counts what waits in this process for a key's pace; Held are the keys a
	// pace or a Retry-After holds now.
	Queued int       `json:"queued"`
	Held   []HeldKey `json:"held,omitempty"`
}

// HeldKey is a destination key held by a pace or a Retry-After window.
type HeldKey struct {
	Key    string    `json:"key"`
	Queued int       `json:"queued"`
	Until  time.Time `json:"until"`
}

// DeadLetter is an event a destination gave up on: the record the notifier wrote, the
// original event in it.
type DeadLetter struct {
	// ID names it for `lcwnotify dlq replay`: the sink and the original event's stream
	// sequence.
	ID string `json:"id"`
	notify.DeadLetter
	// What the event was about, where it is readable.
	Workflow *events.Workflow `json:"workflow,omitempty"`
	User     string           `json:"user,omitempty"`
	Status   string           `json:"status,omitempty"`
	// Replayable is false for a message that is no readable event; Replayed is the
	// replay's delivery once it was replayed.
	Replayable bool             `json:"replayable"`
	Replayed   *notify.Delivery `json:"replayed,omitempty"`
}

// Duration is a time.Duration written as "1m30s" in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}
