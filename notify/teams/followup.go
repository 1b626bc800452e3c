package teams

import (
	"fmt"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Besides results, a channel is told of workflows entering and leaving quarantine,
// disabled and enabled, each in a card of its own, and the digest. A Workflows webhook
// cannot update a card it posted, so the end of a quarantine is a card of its own too.

// workflowTitle titles a workflow change's card.
func workflowTitle(w *events.WorkflowEvent) func([]int, bool) element {
	return func(_ []int, continued bool) element {
		if continued {
			return title("↪️ Lifecycle workflow, continued", colorDefault)
		}
		switch w.Data.Change {
		case events.ChangeQuarantined:
			return title("🚨 Lifecycle workflow quarantined", colorAttention)
		case events.ChangeDisabled:
			return title("⛔ Lifecycle workflow disabled", colorWarning)
		case events.ChangeReleased:
			return title("✅ Lifecycle workflow released from quarantine", colorGood)
		case events.ChangeEnabled:
			return title("✅ Lifecycle workflow enabled again", colorGood)
		}
		return title("ℹ️ Lifecycle workflow "+escape(w.Data.Change), colorDefault)
	}
}

// workflowParts says what the change means for the users in the workflow's scope.
func (n *Notifier) workflowParts(w *events.WorkflowEvent) []part {
	d := w.Data
	var lines []string
	switch d.Change {
	case events.ChangeQuarantined:
		q, _ := d.State.Quarantine()
		why := "its run would have processed more users than its thresholds allow"
		if r := escape(q.QuarantineReason); r != "" {
			why = r
		}
		lines = append(lines, sentence("Lifecycle Workflows stopped this workflow: "+why))
		if t := escape(q.QuarantineType); t != "" {
			l := "Type: " + t
			if q.QuarantinedDateTime != nil {
				l += " · since " + q.QuarantinedDateTime.UTC().Format("2006-01-02 15:04:05") + " UTC"
			}
			lines = append(lines, l)
		}
		lines = append(lines, "Nobody in its scope is processed until an administrator reviews the run and releases the workflow in the Entra admin center.")
	case events.ChangeDisabled:
		lines = append(lines, "It runs neither on its schedule nor on demand until it is enabled again.")
	case events.ChangeReleased:
		lines = append(lines, "It runs again: the users in its scope are processed from its next run.")
	case events.ChangeEnabled:
		lines = append(lines, "It runs again on its schedule and on demand.")
	}
	wf := cleanWorkflow(d.Workflow)
	head, act := n.heading(wf, notify.WorkflowURL(n.cfg.AdminCenterURL, d.Workflow.ID))
	return []part{{wf: wf.ID, head: head, action: act, blocks: blocks(lines, n.blockLimit(), "Small")}}
}

// digestUnresolved bounds the unresolved failures a digest names per workflow; the
// count says how many there are.
const digestUnresolved = 10

func digestTitle(p events.Period) func([]int, bool) element {
	return func(_ []int, continued bool) element {
		if continued {
			return title("↪️ Digest, continued", colorDefault)
		}
		return title("📊 Lifecycle workflows, "+digestTime(p.Start)+" – "+digestTime(p.End), colorDefault)
	}
}

// digestParts reports, for the workflows routed to key, the users and runs by outcome,
// the most common failure reasons and the failures still unresolved.
func (n *Notifier) digestParts(key string, d events.DigestData) []part {
	var parts []part
	for i := range d.Workflows {
		w := &d.Workflows[i]
		if n.routes.Label(w.Workflow) != key {
			continue
		}
		wf := cleanWorkflow(w.Workflow)
		head, act := n.heading(wf, notify.WorkflowURL(n.cfg.AdminCenterURL, w.Workflow.ID))
		parts = append(parts, part{wf: wf.ID, head: head, action: act, blocks: blocks(workflowDigest(w), n.blockLimit(), "Small")})
	}
	if len(parts) == 0 {
		parts = append(parts, part{blocks: []element{text("_No watched workflow is routed to this channel._")}})
	}
	return parts
}

func workflowDigest(w *events.WorkflowDigest) []string {
	u := w.Users
	lines := []string{fmt.Sprintf("Users: %d processed · ✅ %d · ❌ %d failed · ⚠️ %d with errors", u.Processed, u.Succeeded, u.Failed, u.CompletedWithErrors)}
	if r := w.Runs; r.Total > 0 {
		lines = append(lines, fmt.Sprintf("Runs: %d · %d failed", r.Total, r.Failed))
	}
	if q, err := w.State.Quarantine(); err == nil && q.QuarantineType != "" && q.QuarantineType != "notQuarantined" {
		l := "🚨 **Quarantined**"
		if q.QuarantinedDateTime != nil {
			l += " since " + digestTime(*q.QuarantinedDateTime)
		}
		lines = append(lines, l)
	}
	if !w.State.IsEnabled {
		lines = append(lines, "⛔ **Disabled**")
	}
	if len(w.TopReasons) > 0 {
		lines = append(lines, "Most common failures:")
		for _, r := range w.TopReasons {
			task := escape(r.Task)
			if task == "" {
				task = "unnamed task"
			}
			lines = append(lines, fmt.Sprintf("- **%s**: %s — %d×", task, escape(r.Reason), r.Count))
		}
	}
	if w.UnresolvedTotal > 0 {
		var names []string
		for k, f := range w.Unresolved {
			if k == digestUnresolved {
				break
			}
			names = append(names, escape(notify.UserName(f.User))+" ("+escape(f.Status)+")")
		}
		l := fmt.Sprintf("Still unresolved (%d): %s", w.UnresolvedTotal, strings.Join(names, ", "))
		if more := w.UnresolvedTotal - len(names); more > 0 {
			l += fmt.Sprintf(" and %d more", more)
		}
		lines = append(lines, l)
	}
	return lines
}

// sentence ends s with a full stop unless it ends with one already.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

func cleanWorkflow(wf events.Workflow) events.Workflow {
	return events.Workflow{ID: notify.Clean(wf.ID), DisplayName: notify.Clean(wf.DisplayName), Category: notify.Clean(wf.Category), Version: wf.Version}
}

func digestTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }
