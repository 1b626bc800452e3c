package notify

import (
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/lcwnotify/lcwnotify/events"
)

// DefaultAdminCenterURL is the Microsoft Entra admin center that notifications link to.
// National clouds have their own (LCW_ADMIN_CENTER_URL).
const DefaultAdminCenterURL = "https://entra.microsoft.com"

// Summary is what a notification says about one change event, independent of how a
// sink renders it. Strings that came from Graph are passed through Clean: one line, no
// control characters. Renderers still escape them for their medium.
type Summary struct {
	EventID  string
	ResultID string
	RunID    string
	Workflow events.Workflow
	// WorkflowURL opens the workflow in the Entra admin center.
	WorkflowURL string
	// User names the user as well as the watcher could read it: the display name, else
	// the user principal name, else the object id.
	User string
	// UserDetail is the user principal name when User is the display name, else empty.
	UserDetail string
	// UserReadable is false when the watcher could not read the user and User is an id.
	UserReadable bool
	// UserID is the user's object id (the result's subject).
	UserID string
	// Status is the result's processingStatus as Graph sent it.
	Status string
	// Failed and Total count the result's tasks.
	Failed, Total int
	// FailedTasks lists every task that failed, in execution order.
	FailedTasks []FailedTask
	// Observed is when the watcher saw the change.
	Observed time.Time
}

// FailedTask is one failed task of a result.
type FailedTask struct {
	Name   string
	Status string
	// Reason is Graph's failureReason, or a note saying Graph gave none.
	Reason string
	// Info is Graph's processingInfo for the task, context for its outcome, where it
	// gave one.
	Info string
}

// NoReason stands in for a failed task whose failureReason Graph left empty.
const NoReason = "no failure reason given"

// Failure reports whether the summary announces something that went wrong, as opposed
// to another status an operator chose to be told about.
func (s *Summary) Failure() bool {
	return events.IsFailure(s.Status) || s.Failed > 0
}

// SummarizeFollowUp is Summarize for a result's change that follows an incident up, a
// completion resolving a failure above all. The watcher reads the user only for results
// entering a notify status, so a completion names its user by id alone; where it does,
// the summary names the user as the failure it follows did (the incident keeps the
// failure's user, and the Stage reads the failure back where it can). n.Event must be
// set.
func SummarizeFollowUp(n *Notification, adminCenterURL string) Summary {
	s := Summarize(n.Event, adminCenterURL)
	if s.UserReadable || n.Follows == nil {
		return s
	}
	u := n.Follows.User
	if u == nil && n.Follows.Original != nil && n.Follows.Original.Event != nil {
		u = &n.Follows.Original.Event.Data.User
	}
	if u != nil && Clean(u.ID) == s.UserID {
		if label, detail, ok := userLabel(*u); ok {
			s.User, s.UserDetail, s.UserReadable = label, detail, true
		}
	}
	return s
}

// Summarize extracts the notification content of ev. adminCenterURL is the Entra admin
// center root; empty means DefaultAdminCenterURL.
func Summarize(ev *events.Event, adminCenterURL string) Summary {
	d := &ev.Data
	s := Summary{
		EventID:  ev.ID,
		ResultID: Clean(ev.Subject),
		RunID:    Clean(d.RunID),
		Workflow: events.Workflow{
			ID:          Clean(d.Workflow.ID),
			DisplayName: Clean(d.Workflow.DisplayName),
			Category:    Clean(d.Workflow.Category),
			Version:     d.Workflow.Version,
		},
		WorkflowURL: WorkflowURL(adminCenterURL, d.Workflow.ID),
		Observed:    ev.Time,
	}
	s.User, s.UserDetail, s.UserReadable = userLabel(d.User)
	s.UserID = Clean(d.User.ID)
	// Decode validated the result; a failure here leaves the counts at zero.
	if r, err := d.Result(); err == nil {
		s.Status = Clean(r.ProcessingStatus)
		s.Failed, s.Total = max(r.FailedTasksCount, 0), max(r.TotalTasksCount, 0)
		if s.User == "" {
			s.User = Clean(r.Subject.ID)
		}
		if s.UserID == "" {
			s.UserID = Clean(r.Subject.ID)
		}
	}
	for _, t := range d.TaskProcessingResults {
		if t.ProcessingStatus != events.StatusFailed && (t.FailureReason == nil || *t.FailureReason == "") {
			continue
		}
		ft := FailedTask{Name: Clean(t.Task.DisplayName), Status: Clean(t.ProcessingStatus), Reason: NoReason}
		if ft.Name == "" {
			ft.Name = Clean("task " + t.Task.ID)
		}
		if t.FailureReason != nil && Clean(*t.FailureReason) != "" {
			ft.Reason = Clean(*t.FailureReason)
		}
		if t.ProcessingInfo != nil {
			ft.Info = Clean(*t.ProcessingInfo)
		}
		s.FailedTasks = append(s.FailedTasks, ft)
	}
	// Graph's counters and the task list are read at different moments; never claim
	// fewer failures than we list.
	s.Failed = max(s.Failed, len(s.FailedTasks))
	s.Total = max(s.Total, s.Failed)
	return s
}

// UserName names u as well as the watcher could read it, cleaned: the display name,
// else the user principal name, else the object id.
func UserName(u events.User) string {
	name, _, _ := userLabel(u)
	return name
}

func userLabel(u events.User) (label, detail string, readable bool) {
	name, upn := Clean(u.DisplayName), Clean(u.UserPrincipalName)
	switch {
	case name != "" && upn != "" && name != upn:
		return name, upn, true
	case name != "":
		return name, "", true
	case upn != "":
		return upn, "", true
	}
	return Clean(u.ID), "", false
}

// Clean makes text from outside safe to show on one line: invalid UTF-8 is replaced,
// line breaks, tabs and other control characters (terminal escape sequences included)
// become single spaces, invisible format characters such as bidirectional overrides and
// zero-width joiners are dropped, and the result is trimmed. A name can then neither
// fake a line of its own nor reorder what follows it.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
			continue
		case unicode.Is(unicode.Cf, r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// WorkflowURL returns the admin center page of the workflow with id workflowID.
func WorkflowURL(adminCenterURL, workflowID string) string {
	if adminCenterURL == "" {
		adminCenterURL = DefaultAdminCenterURL
	}
	return strings.TrimRight(adminCenterURL, "/") +
		"/#view/Microsoft_AAD_LifecycleManagement/DetailedWorkflowMenuBlade/~/overview/workflowId/" +
		url.PathEscape(workflowID)
}
