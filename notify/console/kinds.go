package console

import (
	"fmt"
	"strings"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// renderResolved is the text of a success that resolves a failure told before.
func renderResolved(s *notify.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "✓ Resolved: %s completed %s", userOf(s), notify.Clean(s.Workflow.DisplayName))
	if s.RunID != "" {
		fmt.Fprintf(&b, " (run %s)", s.RunID)
	}
	b.WriteString("\n\n")
	return b.String()
}

// renderWorkflow is the text of a workflow's change of state.
func renderWorkflow(w *events.WorkflowEvent, url string) string {
	d := w.Data
	var b strings.Builder
	name := notify.Clean(d.Workflow.DisplayName)
	switch d.Change {
	case events.ChangeQuarantined:
		fmt.Fprintf(&b, "‼ Lifecycle workflow quarantined: %s\n", name)
		if q, err := d.State.Quarantine(); err == nil {
			if r := notify.Clean(q.QuarantineReason); r != "" {
				fmt.Fprintf(&b, "  reason:   %s\n", r)
			}
			if t := notify.Clean(q.QuarantineType); t != "" {
				fmt.Fprintf(&b, "  type:     %s\n", t)
			}
			if q.QuarantinedDateTime != nil {
				fmt.Fprintf(&b, "  since:    %s UTC\n", q.QuarantinedDateTime.UTC().Format("2006-01-02 15:04:05"))
			}
		}
		b.WriteString("  nobody in its scope is processed until an administrator releases it\n")
	case events.ChangeReleased:
		fmt.Fprintf(&b, "✓ Lifecycle workflow released from quarantine: %s\n", name)
	case events.ChangeDisabled:
		fmt.Fprintf(&b, "‼ Lifecycle workflow disabled: %s\n", name)
	case events.ChangeEnabled:
		fmt.Fprintf(&b, "✓ Lifecycle workflow enabled again: %s\n", name)
	default:
		fmt.Fprintf(&b, "• Lifecycle workflow %s: %s\n", notify.Clean(d.Change), name)
	}
	fmt.Fprintf(&b, "  workflow: %s\n\n", url)
	return b.String()
}

// renderAction is the text of a step of an action taken on a failure.
func renderAction(a *events.ActionEvent) string {
	d := a.Data
	who := notify.Clean(d.Actor.Name)
	if who == "" {
		who = notify.Clean(d.Actor.ID)
	}
	target := "result " + notify.Clean(d.Target.ResultID)
	if u := d.Target.User; u != nil {
		if n := notify.Clean(u.DisplayName); n != "" {
			target = n
		}
	}
	var line string
	switch d.Kind {
	case events.ActionRequested:
		line = fmt.Sprintf("↻ %s asked to %s for %s", who, verb(d.Action), target)
	case events.ActionAccepted:
		line = fmt.Sprintf("↻ Graph accepted the request to %s for %s", verb(d.Action), target)
	case events.ActionRefused:
		line = fmt.Sprintf("↻ %s may not %s for %s: %s", who, verb(d.Action), target, notify.Clean(d.Reason))
	case events.ActionFailed:
		line = fmt.Sprintf("↻ The request to %s for %s failed: %s", verb(d.Action), target, notify.Clean(d.Reason))
	default:
		line = fmt.Sprintf("↻ %s: %s %s", notify.Clean(d.Kind), notify.Clean(d.Action), target)
	}
	return line + "\n\n"
}

func verb(action string) string {
	switch action {
	case events.RerunFailedTasks:
		return "re-run the failed tasks"
	case events.RerunWorkflow:
		return "re-run the workflow"
	case events.RerunFailedUsers:
		return "re-run the failed users of the run"
	}
	return notify.Clean(action)
}

// renderDigest is the text of a digest.
func renderDigest(dg *events.DigestEvent) string {
	var b strings.Builder
	p := dg.Data.Period
	fmt.Fprintf(&b, "▤ Lifecycle workflows, %s – %s UTC\n", p.Start.UTC().Format("2006-01-02 15:04"), p.End.UTC().Format("2006-01-02 15:04"))
	for _, w := range dg.Data.Workflows {
		u := w.Users
		fmt.Fprintf(&b, "  %s: %d users, %d succeeded, %d failed, %d with errors", notify.Clean(w.Workflow.DisplayName), u.Processed, u.Succeeded, u.Failed, u.CompletedWithErrors)
		if w.UnresolvedTotal > 0 {
			fmt.Fprintf(&b, ", %d unresolved", w.UnresolvedTotal)
		}
		if q, err := w.State.Quarantine(); err == nil && q.QuarantineType != "" && q.QuarantineType != "notQuarantined" {
			b.WriteString(", QUARANTINED")
		}
		if !w.State.IsEnabled {
			b.WriteString(", DISABLED")
		}
		b.WriteByte('\n')
		for _, r := range w.TopReasons {
			fmt.Fprintf(&b, "    %d× %s: %s\n", r.Count, notify.Clean(r.Task), notify.Clean(r.Reason))
		}
	}
	b.WriteByte('\n')
	return b.String()
}

func userOf(s *notify.Summary) string {
	if s.UserDetail != "" {
		return notify.Clean(s.User) + " (" + notify.Clean(s.UserDetail) + ")"
	}
	return notify.Clean(s.User)
}
