package slack

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// digestUnresolved bounds the unresolved failures a digest names per workflow; the
// count says how many there are.
const digestUnresolved = 10

// digest lays out the report for the workflows routed to the channel it goes to: a
// heading per workflow, its users and runs by outcome, its most common failure reasons
// and the failures still unresolved, split over several messages where Slack's limits
// require.
func (s *sink) digest(d *events.DigestEvent, only func(events.Workflow) bool) []message {
	p := d.Data.Period
	title := fmt.Sprintf(":bar_chart: *Lifecycle workflows, %s – %s*", digestTime(p.Start), digestTime(p.End))
	fallback := "Lifecycle workflows digest, " + digestTime(p.Start) + " – " + digestTime(p.End)
	var lines []string
	shown := 0
	for i := range d.Data.Workflows {
		w := &d.Data.Workflows[i]
		if only != nil && !only(w.Workflow) {
			continue
		}
		shown++
		lines = append(lines, s.workflowDigest(w)...)
	}
	if shown == 0 {
		lines = append(lines, "_No watched workflow is routed to this channel._")
	}
	return packLines(title, fallback, lines)
}

func (s *sink) workflowDigest(w *events.WorkflowDigest) []string {
	sum := &notify.Summary{Workflow: w.Workflow, WorkflowURL: notify.WorkflowURL(s.cfg.AdminCenterURL, w.Workflow.ID)}
	lines := heading(sum)
	u := w.Users
	lines = append(lines, fmt.Sprintf("Users: %d processed · :white_check_mark: %d · :x: %d failed · :warning: %d with errors", u.Processed, u.Succeeded, u.Failed, u.CompletedWithErrors))
	if r := w.Runs; r.Total > 0 {
		lines = append(lines, fmt.Sprintf("Runs: %d · %d failed", r.Total, r.Failed))
	}
	if q, err := w.State.Quarantine(); err == nil && q.QuarantineType != "" && q.QuarantineType != "notQuarantined" {
		line := ":rotating_light: *Quarantined*"
		if q.QuarantinedDateTime != nil {
			line += " since " + digestTime(*q.QuarantinedDateTime)
		}
		lines = append(lines, line)
	}
	if !w.State.IsEnabled {
		lines = append(lines, ":no_entry: *Disabled*")
	}
	if len(w.TopReasons) > 0 {
		lines = append(lines, "Most common failures:")
		for _, r := range w.TopReasons {
			task := escape(r.Task)
			if task == "" {
				task = "unnamed task"
			}
			lines = append(lines, splitText(fmt.Sprintf("        ◦ *%s*: %s — %d×", task, escape(r.Reason), r.Count), maxSectionText)...)
		}
	}
	if w.UnresolvedTotal > 0 {
		var names []string
		for k, f := range w.Unresolved {
			if k == digestUnresolved {
				break
			}
			name := notify.Clean(f.User.DisplayName)
			if name == "" {
				name = notify.Clean(f.User.UserPrincipalName)
			}
			if name == "" {
				name = notify.Clean(f.User.ID)
			}
			names = append(names, escape(name)+" ("+escape(f.Status)+")")
		}
		line := fmt.Sprintf("Still unresolved (%d): %s", w.UnresolvedTotal, strings.Join(names, ", "))
		if more := w.UnresolvedTotal - len(names); more > 0 {
			line += fmt.Sprintf(" and %d more", more)
		}
		lines = append(lines, splitText(line, maxSectionText)...)
	}
	return lines
}

// packLines lays title and lines out in messages within Slack's limits, a new section
// per line group, continuing in as many messages as it takes.
func packLines(title, fallback string, lines []string) []message {
	budget := maxMessageText - reserve
	var out []message
	var blocks []slack.Block
	cur, total := title, textLen(title)
	flush := func() {
		if cur != "" {
			blocks = append(blocks, section(cur))
		}
		text := fallback
		if len(out) > 0 {
			text += " (continued)"
		}
		out = append(out, message{Text: text, Blocks: blocks})
		blocks, cur, total = nil, "", 0
	}
	const continued = ":arrow_heading_down: *Digest, continued*"
	for _, l := range lines {
		n := textLen(l)
		if total+1+n > budget {
			flush()
			cur, total = continued, textLen(continued)
		}
		if cur != "" && textLen(cur)+1+n > maxSectionText {
			blocks = append(blocks, section(cur))
			cur = ""
			if len(blocks) >= maxSections {
				flush()
				cur, total = continued, textLen(continued)
			}
		}
		if cur == "" {
			cur = l
		} else {
			cur += "\n" + l
		}
		total += 1 + n
	}
	flush()
	return out
}
