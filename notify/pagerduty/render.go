package pagerduty

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// alert is one rendered event, as the Stage hands it back to Send: everything but the
// routing key, which Send adds for the key it sends to, so that no secret sits in what
// the Stage holds.
type alert struct {
	ev event
	// label is the key a follow-up must reach, the one its trigger went to (a resolve
	// sent through another routing key is dropped by PagerDuty); "" for the key the
	// Stage sends to.
	label string
}

// Severities of the alerts lcwnotify raises itself: a quarantine stops a workflow for
// everyone in its scope until an administrator acts, so it pages as critical; a
// workflow is usually disabled on purpose, so that is a warning someone should see,
// not a page at night.
const (
	severityQuarantine = "critical"
	severityDisabled   = "warning"
)

// client names lcwnotify in the alert.
const client = "lcwnotify"

// timestampLayout is ISO 8601 with milliseconds, as PagerDuty's examples write it.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// render returns the event nt becomes.
func (n *Notifier) render(nt *notify.Notification) alert {
	switch {
	case nt.Event != nil:
		if r, err := nt.Event.Data.Result(); err == nil && events.IsSuccess(r.ProcessingStatus) {
			return n.resolve(nt, userKey(nt.Event.Data.Workflow.ID, r.Subject.ID))
		}
		return n.failure(nt.Event)
	case nt.Workflow != nil:
		wf := nt.Workflow.Data.Workflow.ID
		switch nt.Workflow.Data.Change {
		case events.ChangeQuarantined:
			return n.workflowAlert(nt.Workflow, quarantineKey(wf), severityQuarantine)
		case events.ChangeDisabled:
			return n.workflowAlert(nt.Workflow, disabledKey(wf), severityDisabled)
		case events.ChangeReleased:
			return n.resolve(nt, quarantineKey(wf))
		case events.ChangeEnabled:
			return n.resolve(nt, disabledKey(wf))
		}
	}
	// Key takes nothing else.
	return alert{}
}

// The dedup_keys: a user of a workflow, who stays one alert however often they fail
// until a completion resolves it; a workflow's quarantine; a workflow's disabling.
func userKey(workflowID, subjectID string) string { return dedupKey(workflowID + ":" + subjectID) }
func quarantineKey(workflowID string) string      { return dedupKey(workflowID + ":quarantine") }
func disabledKey(workflowID string) string        { return dedupKey(workflowID + ":disabled") }

// resolve closes the alert a follow-up ends: the one its trigger opened, at the dedup_key
// PagerDuty acknowledged, through the routing key the trigger went to.
func (n *Notifier) resolve(nt *notify.Notification, key string) alert {
	a := alert{ev: event{EventAction: actionResolve, DedupKey: key}}
	if f := nt.Follows; f != nil {
		if f.ID != "" {
			a.ev.DedupKey = f.ID
		}
		a.label = f.Key
	}
	return a
}

// failure triggers the alert of a user's failed result.
func (n *Notifier) failure(ev *events.Event) alert {
	sum := notify.Summarize(ev, n.cfg.AdminCenterURL)
	r, _ := ev.Data.Result()
	severity := n.cfg.Severity
	if severity == "" {
		severity = "error"
		if sum.Status == events.StatusCompletedWithErrors {
			severity = "warning"
		}
	}
	names := make([]string, 0, len(sum.FailedTasks))
	for _, t := range sum.FailedTasks {
		names = append(names, t.Name)
	}
	links := []link{{Href: sum.WorkflowURL, Text: "Workflow in the Entra admin center"}}
	if id := ev.Data.User.ID; id != "" {
		links = append(links, link{Href: userURL(n.cfg.AdminCenterURL, id), Text: "User in the Entra admin center"})
	}
	p := &payload{
		Summary:   failureSummary(&sum),
		Source:    source(ev.Source, sum.Workflow),
		Severity:  severity,
		Timestamp: timestamp(ev.Time),
		Component: cut(strings.Join(names, ", "), maxField),
		Group:     cut(workflowName(sum.Workflow), maxField),
		Class:     cut(sum.Status, maxField),
	}
	p.CustomDetails = fitDetails(p, func(l limits) any { return failureDetails(ev, &sum, l) })
	return alert{ev: event{
		EventAction: actionTrigger,
		DedupKey:    userKey(ev.Data.Workflow.ID, r.Subject.ID),
		Payload:     p,
		Client:      client,
		ClientURL:   sum.WorkflowURL,
		Links:       links,
	}}
}

// failureSummary says what failed for whom, in at most 1024 characters: the workflow
// and user names share what the title and counts leave.
func failureSummary(s *notify.Summary) string {
	title := "Lifecycle workflow failed"
	if s.Status == events.StatusCompletedWithErrors {
		title = "Lifecycle workflow completed with errors"
	} else if !events.IsFailure(s.Status) {
		title = "Lifecycle workflow " + s.Status
	}
	user := s.User
	if s.UserDetail != "" {
		user += " (" + s.UserDetail + ")"
	}
	counts := fmt.Sprintf(" (%d of %d tasks failed)", s.Failed, s.Total)
	room := maxSummary - len([]rune(title+": "+" in "+counts))
	wf := cut(workflowName(s.Workflow), max(room/2, 1))
	user = cut(user, max(room-len([]rune(wf)), 1))
	return cut(title+": "+user+" in "+wf+counts, maxSummary)
}

// workflowAlert triggers the alert of a workflow's quarantine or disabling.
func (n *Notifier) workflowAlert(w *events.WorkflowEvent, key, severity string) alert {
	d := w.Data
	name := workflowName(d.Workflow)
	wfURL := notify.WorkflowURL(n.cfg.AdminCenterURL, d.Workflow.ID)
	var summary string
	details := map[string]any{
		"workflow": events.Workflow{ID: notify.Clean(d.Workflow.ID), DisplayName: notify.Clean(d.Workflow.DisplayName), Category: notify.Clean(d.Workflow.Category), Version: d.Workflow.Version},
		"change":   d.Change,
		"state":    d.State,
		"eventId":  w.ID,
		"tenantId": d.TenantID,
	}
	switch d.Change {
	case events.ChangeQuarantined:
		summary = "Lifecycle workflow quarantined: " + name + ": nobody in its scope is processed until it is released"
		if q, err := d.State.Quarantine(); err == nil && notify.Clean(q.QuarantineReason) != "" {
			details["reason"] = notify.Clean(q.QuarantineReason)
		}
	default:
		summary = "Lifecycle workflow disabled: " + name + ": it runs neither on schedule nor on demand"
	}
	return alert{ev: event{
		EventAction: actionTrigger,
		DedupKey:    key,
		Payload: &payload{
			Summary:       cut(summary, maxSummary),
			Source:        source(w.Source, d.Workflow),
			Severity:      severity,
			Timestamp:     timestamp(w.Time),
			Component:     "workflow",
			Group:         cut(name, maxField),
			Class:         d.Change,
			CustomDetails: details,
		},
		Client:    client,
		ClientURL: wfURL,
		Links:     []link{{Href: wfURL, Text: "Workflow in the Entra admin center"}},
	}}
}

// limits bound what custom_details lists of one result.
type limits struct{ tasks, text int }

// detailLimits are tried in order until the event fits in maxEventBytes: Graph's
// reasons are short, so only a result of hundreds of tasks with pages of text each
// needs the tighter ones. The summary and the counts stay whole.
var detailLimits = []limits{{tasks: 200, text: 4000}, {tasks: 100, text: 1000}, {tasks: 25, text: 200}}

// fitDetails returns the details build gives under the first limits with which the
// event stays under maxEventBytes.
func fitDetails(p *payload, build func(limits) any) any {
	var d any
	for _, l := range detailLimits {
		d = build(l)
		p.CustomDetails = d
		if b, err := json.Marshal(p); err == nil && len(b) <= maxEventBytes {
			break
		}
	}
	return d
}

// failedTask is one failed task in custom_details.
type failedTask struct {
	Task           string `json:"task"`
	Status         string `json:"status"`
	Reason         string `json:"reason"`
	ProcessingInfo string `json:"processingInfo,omitempty"`
}

// failureDetails is custom_details of a failure: every failed task with its reason
// and processingInfo, the user, the workflow, and the ids to look the result up by.
func failureDetails(ev *events.Event, s *notify.Summary, l limits) map[string]any {
	tasks := make([]failedTask, 0, min(len(s.FailedTasks), l.tasks))
	for i, t := range s.FailedTasks {
		if i == l.tasks {
			break
		}
		tasks = append(tasks, failedTask{Task: cut(t.Name, l.text), Status: t.Status, Reason: cut(t.Reason, l.text), ProcessingInfo: cut(t.Info, l.text)})
	}
	u := ev.Data.User
	d := map[string]any{
		"workflow":        s.Workflow,
		"user":            events.User{ID: notify.Clean(u.ID), DisplayName: notify.Clean(u.DisplayName), UserPrincipalName: notify.Clean(u.UserPrincipalName)},
		"status":          s.Status,
		"failedTaskCount": s.Failed,
		"totalTaskCount":  s.Total,
		"failedTasks":     tasks,
		"resultId":        s.ResultID,
		"eventId":         ev.ID,
		"tenantId":        ev.Data.TenantID,
		"observed":        timestamp(ev.Time),
	}
	if s.RunID != "" {
		d["runId"] = s.RunID
	}
	if more := len(s.FailedTasks) - len(tasks); more > 0 {
		d["moreFailedTasks"] = fmt.Sprintf("%d more failed tasks are not listed here: see the result in the Entra admin center", more)
	}
	return d
}

// source is "the unique location of the affected system": the workflow's Graph URL,
// which the event's source is.
func source(eventSource string, wf events.Workflow) string {
	if s := notify.Clean(eventSource); s != "" {
		return cut(s, maxField)
	}
	return cut("lifecycle workflow "+notify.Clean(wf.ID), maxField)
}

func workflowName(wf events.Workflow) string {
	if name := notify.Clean(wf.DisplayName); name != "" {
		return name
	}
	return "workflow " + notify.Clean(wf.ID)
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timestampLayout)
}

// userURL opens the user's profile in the Entra admin center.
func userURL(adminCenterURL, userID string) string {
	return strings.TrimRight(adminCenterURL, "/") +
		"/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/" + url.PathEscape(userID)
}
