package slack

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Besides failures, grouped in as few messages as Slack allows (render.go), the sink
// tells what follows them up, each on its own: a success that resolves a failure it told
// (the failure's message turns resolved, and a reply in its thread says by what), the
// steps of an action taken from the message (thread replies, and the message says who
// asked), a re-run that failed again, a workflow that entered or left quarantine or was
// disabled or enabled, and the digest. With an incoming webhook, which can neither update
// nor reply, each is a message of its own.

// alone reports whether n is told in a batch of its own rather than grouped with failures.
func alone(n *notify.Notification) bool {
	if n.Event == nil {
		return true
	}
	r, err := n.Event.Data.Result()
	if err != nil {
		return false
	}
	return n.Follows != nil && (events.IsSuccess(r.ProcessingStatus) || rerun(n.Follows))
}

// rerun reports whether a re-run was asked for from f's message and not refused by Graph.
func rerun(f *notify.Incident) bool {
	return f.Action != nil && (f.Action.Kind == events.ActionRequested || f.Action.Kind == events.ActionAccepted)
}

// renderAlone lays out n, item i of what Render was given. threads reports whether the
// destination can update messages and reply in threads.
func (s *sink) renderAlone(i int, n *notify.Notification, threads bool) notify.Batch {
	b := notify.Batch{Items: []int{i}}
	f := n.Follows
	canFollow := threads && f != nil && f.ID != ""
	var msgs []message
	switch {
	case n.Event != nil:
		sum := notify.SummarizeFollowUp(n, s.cfg.AdminCenterURL)
		r, _ := n.Event.Data.Result()
		if events.IsSuccess(r.ProcessingStatus) {
			msgs = s.resolution(&sum, f, canFollow)
		} else {
			msgs = s.failedAgain(&sum, f, canFollow)
		}
	case n.Workflow != nil:
		msgs = s.workflowChange(n.Workflow, f, canFollow)
	case n.Action != nil:
		msgs = s.actionStep(n.Action, f)
		canFollow = true
	}
	if canFollow {
		root := ""
		if f != nil {
			root = f.ID
		}
		if n.Action != nil {
			root = n.Action.Data.Message.ID
		}
		for k := range msgs {
			if msgs[k].Update == "" {
				msgs[k].Thread = root
			}
		}
		b.Reply, b.Within = true, root
	}
	for _, m := range msgs {
		b.Messages = append(b.Messages, m)
	}
	return b
}

// resolution: the user's failure of this workflow is over. The failure's message turns
// resolved and the thread says which result completed.
func (s *sink) resolution(sum *notify.Summary, f *notify.Incident, threads bool) []message {
	what := fmt.Sprintf(":white_check_mark: *Resolved:* %s completed %s", userName(sum), workflowName(sum))
	if sum.RunID != "" {
		what += " (run " + escape(sum.RunID) + ")"
	}
	reply := simple(what, "Resolved: "+plainUser(sum)+" completed "+plainWorkflow(sum))
	if !threads {
		return []message{reply}
	}
	var msgs []message
	if u, ok := s.updateOriginal(f, ":white_check_mark: *Resolved*", "Resolved"); ok {
		msgs = append(msgs, u)
	}
	return append(msgs, reply)
}

// failedAgain: a re-run asked for from the failure's message failed too. The message
// says so, and the thread gets the new failure in full.
func (s *sink) failedAgain(sum *notify.Summary, f *notify.Incident, threads bool) []message {
	lines := append([]string{":x: *The re-run failed again*"}, itemLines(sum)...)
	reply := message{Text: "The re-run failed again: " + plainUser(sum), Blocks: sections(lines)}
	if !threads {
		return []message{reply}
	}
	var msgs []message
	if u, ok := s.updateOriginal(f, ":x: *Still failing* after the re-run", "Still failing"); ok {
		msgs = append(msgs, u)
	}
	return append(msgs, reply)
}

// actionStep tells a step of an action taken from a message, in its thread; a request
// also shows on the message itself, so that nobody asks twice.
func (s *sink) actionStep(a *events.ActionEvent, f *notify.Incident) []message {
	d := a.Data
	who := actor(d.Actor)
	noun := actionNoun(d.Action)
	what := lowerFirst(noun)
	var msgs []message
	switch d.Kind {
	case events.ActionRequested:
		banner := fmt.Sprintf(":hourglass_flowing_sand: *%s requested by* %s", noun, who)
		if u, ok := s.updateOriginal(f, banner, noun+" requested"); ok {
			msgs = append(msgs, u)
		}
		msgs = append(msgs, simple(fmt.Sprintf(":arrows_counterclockwise: %s asked for a %s (%s UTC).", who, what, d.At.UTC().Format("2006-01-02 15:04:05")),
			noun+" requested"))
	case events.ActionAccepted:
		text := fmt.Sprintf(":inbox_tray: Microsoft Graph accepted the %s: its outcome follows in this thread.", what)
		if g := d.Graph; g != nil && g.RequestID != "" {
			text += " (request " + escape(g.RequestID) + ")"
		}
		msgs = append(msgs, simple(text, "Graph accepted the "+what))
	case events.ActionFailed:
		text := fmt.Sprintf(":warning: The %s was not started: %s", what, escape(d.Reason))
		if g := d.Graph; g != nil {
			var parts []string
			if g.Status != 0 {
				parts = append(parts, fmt.Sprintf("HTTP %d", g.Status))
			}
			if g.Code != "" {
				parts = append(parts, escape(g.Code))
			}
			if g.RequestID != "" {
				parts = append(parts, "request "+escape(g.RequestID))
			}
			if len(parts) > 0 {
				text += " (Graph: " + strings.Join(parts, ", ") + ")"
			}
		}
		msgs = append(msgs, simple(text, noun+" not started"))
	}
	return msgs
}

// workflowChange tells that a workflow entered or left quarantine, or was disabled or
// enabled; leaving or enabling updates the message that told the start, where there is
// one.
func (s *sink) workflowChange(w *events.WorkflowEvent, f *notify.Incident, threads bool) []message {
	d := w.Data
	sum := &notify.Summary{Workflow: d.Workflow, WorkflowURL: notify.WorkflowURL(s.cfg.AdminCenterURL, d.Workflow.ID)}
	q, _ := d.State.Quarantine()
	var title, fallback string
	var detail []string
	switch d.Change {
	case events.ChangeQuarantined:
		title = ":rotating_light: *Lifecycle workflow quarantined*"
		fallback = "Lifecycle workflow quarantined: " + plainWorkflow(sum)
		why := "its run would have processed more users than its thresholds allow"
		if r := notify.Clean(q.QuarantineReason); r != "" {
			why = escape(r)
		}
		detail = append(detail, "Lifecycle Workflows stopped this workflow: "+why+".")
		if t := notify.Clean(q.QuarantineType); t != "" {
			line := "Type: " + escape(t)
			if q.QuarantinedDateTime != nil {
				line += " · since " + q.QuarantinedDateTime.UTC().Format("2006-01-02 15:04:05") + " UTC"
			}
			detail = append(detail, line)
		}
		detail = append(detail, "Nobody in its scope is processed until an administrator reviews the run and releases the workflow in the Entra admin center.")
	case events.ChangeDisabled:
		title = ":no_entry: *Lifecycle workflow disabled*"
		fallback = "Lifecycle workflow disabled: " + plainWorkflow(sum)
		detail = append(detail, "It runs neither on its schedule nor on demand until it is enabled again.")
	case events.ChangeReleased, events.ChangeEnabled:
		word := map[string]string{events.ChangeReleased: "released from quarantine", events.ChangeEnabled: "enabled again"}[d.Change]
		reply := simple(fmt.Sprintf(":white_check_mark: %s was %s.", workflowName(sum), word), "Lifecycle workflow "+word+": "+plainWorkflow(sum))
		if !threads {
			return []message{reply}
		}
		banner := map[string]string{events.ChangeReleased: ":white_check_mark: *Released*", events.ChangeEnabled: ":white_check_mark: *Enabled again*"}[d.Change]
		var msgs []message
		if u, ok := s.updateOriginal(f, banner, capitalize(word)); ok {
			msgs = append(msgs, u)
		}
		return append(msgs, reply)
	default:
		title = ":information_source: *Lifecycle workflow " + escape(d.Change) + "*"
		fallback = "Lifecycle workflow " + notify.Clean(d.Change) + ": " + plainWorkflow(sum)
	}
	lines := append([]string{title}, heading(sum)...)
	for _, l := range detail {
		lines = append(lines, splitText(l, maxSectionText)...)
	}
	return []message{{Text: fallback, Blocks: sections(lines)}}
}

// updateOriginal re-renders the message that opened f with banner in place of its title,
// to replace it. It reports false when there is nothing to update: no message, or its
// event is no longer in the stream.
func (s *sink) updateOriginal(f *notify.Incident, banner, fallback string) (message, bool) {
	if f == nil || f.ID == "" || f.Original == nil {
		return message{}, false
	}
	var m message
	switch o := f.Original; {
	case o.Event != nil:
		sum := notify.Summarize(o.Event, s.cfg.AdminCenterURL)
		packed := s.render.pack([]*notify.Summary{&sum}, false)
		if len(packed) == 0 || len(packed[0].messages) == 0 {
			return message{}, false
		}
		m = packed[0].messages[0]
		m.Blocks = append([]slack.Block(nil), m.Blocks...)
		m.Blocks[0] = section(banner + " · ~" + plainTitle(sum.Status) + "~")
	case o.Workflow != nil:
		msgs := s.workflowChange(o.Workflow, nil, false)
		if len(msgs) == 0 {
			return message{}, false
		}
		m = msgs[0]
		m.Blocks = append([]slack.Block(nil), m.Blocks...)
		m.Blocks[0] = section(banner + " · ~Lifecycle workflow " + escape(o.Workflow.Data.Change) + "~")
	default:
		return message{}, false
	}
	m.Text = fallback + ": " + m.Text
	m.Update = f.ID
	return m, true
}

// plainTitle is a single result's title without its emoji and emphasis.
func plainTitle(status string) string {
	switch status {
	case events.StatusFailed:
		return "Lifecycle workflow failed"
	case events.StatusCompletedWithErrors:
		return "Lifecycle workflow completed with errors"
	}
	return "Lifecycle workflow result: " + escape(status)
}

// simple is a message of one section.
func simple(text, fallback string) message {
	return message{Text: fallback, Blocks: sections(splitText(text, maxSectionText))}
}

// sections puts lines in as few sections as fit, within a message's block limit; the
// callers' messages are short.
func sections(lines []string) []slack.Block {
	var blocks []slack.Block
	var cur string
	flush := func() {
		if cur != "" && len(blocks) < maxBlocks {
			blocks = append(blocks, section(cur))
		}
		cur = ""
	}
	for _, l := range lines {
		if cur != "" && textLen(cur)+1+textLen(l) > maxSectionText {
			flush()
		}
		if cur == "" {
			cur = l
		} else {
			cur += "\n" + l
		}
	}
	flush()
	return blocks
}

func userName(s *notify.Summary) string {
	if !s.UserReadable {
		return "user *" + escape(s.User) + "*"
	}
	return "*" + escape(s.User) + "*"
}

func plainUser(s *notify.Summary) string { return shorten(escape(s.User)) }

func workflowName(s *notify.Summary) string {
	name := escape(s.Workflow.DisplayName)
	if name == "" {
		name = "workflow " + escape(s.Workflow.ID)
	}
	if textLen(name) > maxLinkedName {
		return "*" + shorten(name) + "*"
	}
	return "*<" + escapeURL(s.WorkflowURL) + "|" + name + ">*"
}

func plainWorkflow(s *notify.Summary) string {
	if s.Workflow.DisplayName == "" {
		return "workflow " + shorten(escape(s.Workflow.ID))
	}
	return shorten(escape(s.Workflow.DisplayName))
}

// slackUserID is what a Slack user id looks like: a mention of one can only page that
// person.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// actor names who asked for an action: a mention when the id is a Slack user's, else
// the name, escaped.
func actor(a events.Actor) string {
	if a.Via == "slack" && slackUserID.MatchString(a.ID) {
		return "<@" + a.ID + ">"
	}
	if a.Name != "" {
		return escape(a.Name)
	}
	return "someone"
}

// actionNoun names what an action does.
func actionNoun(action string) string {
	switch action {
	case events.RerunFailedTasks:
		return "Re-run of failed tasks"
	case events.RerunWorkflow:
		return "Re-run of the workflow for the user"
	case events.RerunFailedUsers:
		return "Re-run of the failed users of this run"
	}
	return "Action " + escape(action)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// digestTime formats a digest's times.
func digestTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }
