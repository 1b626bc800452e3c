package teams

import (
	"fmt"
	"slices"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Colours of a card's title, as Adaptive Cards name them.
const (
	colorAttention = "Attention"
	colorWarning   = "Warning"
	colorGood      = "Good"
	colorDefault   = "Default"
)

// maxBlockText bounds one TextBlock's text, so that any block fits a card with room to
// spare.
const maxBlockText = 4000

// Render lays out ns for the webhook key: the failures in as few cards as fit, grouped
// by workflow under one heading each, every user listed with their failed tasks; the
// resolutions likewise; each workflow change and digest in cards of its own. A result
// too large for one card spans several. Nothing is dropped or cut short.
func (n *Notifier) Render(key string, ns []*notify.Notification, _ bool) []notify.Batch {
	var failures, resolutions []int
	var alone []notify.Batch
	for i, nt := range ns {
		switch {
		case nt.Event != nil && resolves(nt):
			resolutions = append(resolutions, i)
		case nt.Event != nil:
			failures = append(failures, i)
		case nt.Workflow != nil:
			alone = append(alone, whole(i, n.packer(workflowTitle(nt.Workflow), observedFooter([]time.Time{nt.Workflow.Time})).pack(n.workflowParts(nt.Workflow))))
		case nt.Digest != nil:
			d := nt.Digest.Data
			p := n.packer(digestTitle(d.Period), func([]int) element { return subtle("Lifecycle workflows digest · lcwnotify") })
			alone = append(alone, whole(i, p.pack(n.digestParts(key, d))))
		}
	}
	out := n.results(ns, failures, false)
	out = append(out, n.results(ns, resolutions, true)...)
	return append(out, alone...)
}

// resolves reports whether nt is a completion, which the Stage hands over only when it
// follows a failure told here.
func resolves(nt *notify.Notification) bool {
	r, err := nt.Event.Data.Result()
	return err == nil && events.IsSuccess(r.ProcessingStatus)
}

// packer fills n's cards with title and footer.
func (n *Notifier) packer(title func([]int, bool) element, footer func([]int) element) *packer {
	return &packer{budget: n.cfg.MaxCardBytes, title: title, footer: footer}
}

// blockLimit is the largest TextBlock text for n's cards.
func (n *Notifier) blockLimit() int { return min(maxBlockText, n.cfg.MaxCardBytes/4) }

// whole turns the cards of one notification into its batch.
func whole(item int, ps []packed) notify.Batch {
	b := notify.Batch{Items: []int{item}}
	for _, p := range ps {
		for _, c := range p.cards {
			b.Messages = append(b.Messages, payload(c))
		}
	}
	return b
}

// results packs the results at idx (indexes into ns), failures or resolutions, into
// batches.
func (n *Notifier) results(ns []*notify.Notification, idx []int, resolved bool) []notify.Batch {
	if len(idx) == 0 {
		return nil
	}
	sums := make(map[int]*notify.Summary, len(idx))
	for _, i := range idx {
		s := notify.SummarizeFollowUp(ns[i], n.cfg.AdminCenterURL)
		sums[i] = &s
	}
	parts := make([]part, 0, len(idx))
	for _, i := range byWorkflow(idx, sums) {
		s := sums[i]
		lines := failureLines(s)
		if resolved {
			lines = resolutionLines(s)
		}
		head, act := n.heading(s.Workflow, s.WorkflowURL)
		parts = append(parts, part{item: i, wf: s.Workflow.ID, head: head, action: act, blocks: n.entry(lines)})
	}
	footer := func(items []int) element {
		times := make([]time.Time, len(items))
		for k, i := range items {
			times[k] = sums[i].Observed
		}
		return observedFooter(times)(items)
	}
	p := n.packer(resultsTitle(sums, resolved), footer)
	var out []notify.Batch
	for _, pk := range p.pack(parts) {
		b := notify.Batch{Items: pk.items}
		for _, c := range pk.cards {
			b.Messages = append(b.Messages, payload(c))
		}
		out = append(out, b)
	}
	return out
}

// byWorkflow orders idx by workflow, workflows in order of first appearance.
func byWorkflow(idx []int, sums map[int]*notify.Summary) []int {
	first := map[string]int{}
	for k, i := range idx {
		if _, ok := first[sums[i].Workflow.ID]; !ok {
			first[sums[i].Workflow.ID] = k
		}
	}
	out := slices.Clone(idx)
	slices.SortStableFunc(out, func(a, b int) int { return first[sums[a].Workflow.ID] - first[sums[b].Workflow.ID] })
	return out
}

// entry is a result's blocks: the first line on its own, the rest (its failed tasks, a
// list) together.
func (n *Notifier) entry(lines []string) []element {
	out := blocks(lines[:1], n.blockLimit(), "Medium")
	return append(out, blocks(lines[1:], n.blockLimit(), "None")...)
}

// heading introduces a workflow: its name, linked to the admin center, and its
// category; and the card's button to open it.
func (n *Notifier) heading(wf events.Workflow, wfURL string) ([]element, *action) {
	name := escape(wf.DisplayName)
	if name == "" {
		name = "workflow " + escape(wf.ID)
	}
	cat := ""
	if c := escape(wf.Category); c != "" {
		cat = " · " + c
	}
	line := "⚙️ **[" + name + "](" + escapeURL(wfURL) + ")**" + cat
	var lines []string
	if len(line) <= n.blockLimit() {
		lines = []string{line}
	} else {
		// A name too long for a link: as text, and the link on a line of its own.
		lines = []string{"⚙️ " + name + cat, "[Open the workflow in the Entra admin center](" + escapeURL(wfURL) + ")"}
	}
	head := blocks(lines, n.blockLimit(), "Large")
	head[0].Separator = true
	act := openURL(plain("Open "+plainName(wf), 60), wfURL)
	return head, &act
}

func plainName(wf events.Workflow) string {
	if wf.DisplayName != "" {
		return notify.Clean(wf.DisplayName)
	}
	return "workflow " + notify.Clean(wf.ID)
}

// failureLines are a failure's user, status and counts, then every failed task with its
// reason and processingInfo.
func failureLines(s *notify.Summary) []string {
	lines := []string{fmt.Sprintf("%s · %s %s · %d of %d tasks failed", userMarkdown(s), statusEmoji(s.Status), escape(s.Status), s.Failed, s.Total)}
	for _, t := range s.FailedTasks {
		name := escape(t.Name)
		if name == "" {
			name = "unnamed task"
		}
		l := "- **" + name + "**: " + escape(t.Reason)
		if t.Info != "" {
			l += " — _" + escape(t.Info) + "_"
		}
		lines = append(lines, l)
	}
	if s.Failed > 0 && len(s.FailedTasks) == 0 {
		lines = append(lines, "- _the failed tasks could not be read_")
	}
	return lines
}

// resolutionLines say who completed the workflow whose failure was told.
func resolutionLines(s *notify.Summary) []string {
	l := "✅ " + userMarkdown(s) + " completed it"
	if s.RunID != "" {
		l += " · run " + escape(s.RunID)
	}
	return []string{l}
}

func userMarkdown(s *notify.Summary) string {
	switch {
	case !s.UserReadable:
		return "user **" + escape(s.User) + "** (name not readable)"
	case s.UserDetail != "":
		return "**" + escape(s.User) + "** (" + escape(s.UserDetail) + ")"
	}
	return "**" + escape(s.User) + "**"
}

func statusEmoji(status string) string {
	switch status {
	case events.StatusFailed:
		return "❌"
	case events.StatusCompletedWithErrors:
		return "⚠️"
	}
	return "ℹ️"
}

// resultsTitle titles a card of results: what one result is, or how many there are.
func resultsTitle(sums map[int]*notify.Summary, resolved bool) func([]int, bool) element {
	return func(items []int, continued bool) element {
		switch {
		case continued:
			return title("↪️ Lifecycle workflow result, continued", colorDefault)
		case resolved && len(items) == 1:
			return title("✅ Resolved: lifecycle workflow failure", colorGood)
		case resolved:
			return title(fmt.Sprintf("✅ %d lifecycle workflow failures resolved", len(items)), colorGood)
		case len(items) == 1:
			switch s := sums[items[0]]; s.Status {
			case events.StatusFailed:
				return title("❌ Lifecycle workflow failed", colorAttention)
			case events.StatusCompletedWithErrors:
				return title("⚠️ Lifecycle workflow completed with errors", colorWarning)
			default:
				return title("ℹ️ Lifecycle workflow result: "+escape(s.Status), colorDefault)
			}
		}
		for _, i := range items {
			if sums[i].Failure() {
				return title(fmt.Sprintf("🚨 %d lifecycle workflow results need attention", len(items)), colorAttention)
			}
		}
		return title(fmt.Sprintf("ℹ️ %d lifecycle workflow results", len(items)), colorDefault)
	}
}

// observedFooter says when the watcher saw what the card tells.
func observedFooter(times []time.Time) func([]int) element {
	return func([]int) element {
		var first, last time.Time
		for _, t := range times {
			if t.IsZero() {
				continue
			}
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
		const layout = "2006-01-02 15:04:05"
		switch {
		case first.IsZero():
			return subtle("lcwnotify")
		case first.Equal(last):
			return subtle("Observed " + first.UTC().Format(layout) + " UTC · lcwnotify")
		}
		return subtle("Observed " + first.UTC().Format(layout) + " – " + last.UTC().Format(layout) + " UTC · lcwnotify")
	}
}
