package slack

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Slack's limits on one message.
const (
	maxBlocks      = 50
	maxSectionText = 3000
	maxMessageText = 40000
)

// Layout budgets derived from the limits.
const (
	// maxSections leaves room for the title and context blocks, and the buttons.
	maxSections = maxBlocks - 3
	// reserve is kept for the title, fallback text and context of a message, on top of
	// the mention; fallback names are shortened to fit (the blocks carry them in full).
	reserve = 2000
	// maxLinkedName is the longest workflow name rendered as the link's label; a longer
	// one is rendered as text with the link on a line of its own, so it can be split.
	maxLinkedName = 500
	// fallbackNameLen bounds each workflow name in the fallback text.
	fallbackNameLen = 100
)

// message is one Slack message: fallback text and Block Kit blocks, posted to the
// channel, or in the thread of the message at Thread, or replacing the message at Update.
type message struct {
	Text   string
	Blocks []slack.Block
	Thread string `json:",omitempty"`
	Update string `json:",omitempty"`
}

// batch is what one ledger batch covers: the results in items, posted in messages — one,
// or several when a single result does not fit in one message.
type batch struct {
	items    []int
	messages []message
}

// renderer turns summaries into messages.
type renderer struct {
	mention string
	// actions puts the re-run buttons on failure messages (LCW_ACTIONS_ALLOWED).
	actions bool
}

// pack lays out summaries in as few messages as Slack's limits allow, grouping results of
// the same workflow under one heading, and never dropping or truncating anything: a result
// too large for one message spans several. The mention goes on the first message only.
func (r *renderer) pack(sums []*notify.Summary, mention bool) []batch {
	var out []batch
	d := r.newDraft(sums, mention)
	for _, i := range byWorkflow(sums) {
		lines := itemLines(sums[i])
		if d.add(i, lines) {
			continue
		}
		if len(d.items) > 0 {
			out = append(out, batch{items: d.items, messages: []message{d.finish()}})
			d = r.newDraft(sums, false)
			if d.add(i, lines) {
				continue
			}
		}
		// One result larger than a message: spill it over several.
		b := batch{items: []int{i}}
		for len(lines) > 0 {
			n := d.addSome(i, lines)
			if n == 0 && !d.bare {
				// Not even the workflow's heading and one line fit in a message (a name
				// of tens of thousands of characters): from here on the heading is
				// carried as lines of the result, once, so that every message makes
				// progress.
				lines = append(heading(sums[i]), lines...)
				d = r.newDraft(sums, d.mention)
				d.bare = true
				continue
			}
			lines = lines[n:]
			d.continued = len(b.messages) > 0
			b.messages = append(b.messages, d.finish())
			bare := d.bare
			d = r.newDraft(sums, false)
			d.bare = bare
		}
		out = append(out, b)
	}
	if len(d.items) > 0 {
		out = append(out, batch{items: d.items, messages: []message{d.finish()}})
	}
	return out
}

// byWorkflow orders result indices by workflow, workflows in order of first appearance.
func byWorkflow(sums []*notify.Summary) []int {
	first := map[string]int{}
	idx := make([]int, len(sums))
	for i, s := range sums {
		idx[i] = i
		if _, ok := first[s.Workflow.ID]; !ok {
			first[s.Workflow.ID] = i
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return first[sums[a].Workflow.ID] - first[sums[b].Workflow.ID]
	})
	return idx
}

// draft is a message being filled.
type draft struct {
	r         *renderer
	sums      []*notify.Summary
	mention   bool
	continued bool
	items     []int
	sections  []string
	lens      []int // textLen of each section
	total     int
	workflow  string
	started   bool
	current   int // the result whose lines were added last

	// bare drafts do not head a result with its workflow: the heading is among the
	// result's lines.
	bare bool
}

func (r *renderer) newDraft(sums []*notify.Summary, mention bool) *draft {
	return &draft{r: r, sums: sums, mention: mention}
}

func (d *draft) budget() int {
	return maxMessageText - reserve - 2*textLen(d.r.mention)
}

// add appends result i's lines, under its workflow's heading when it is not the
// current one, if they all fit; it reports whether they did.
func (d *draft) add(i int, lines []string) bool {
	saved := *d
	saved.sections, saved.lens = slices.Clone(d.sections), slices.Clone(d.lens)
	if d.addSome(i, lines) == len(lines) {
		d.items = append(d.items, i)
		return true
	}
	*d = saved
	return false
}

// addSome appends as many of result i's lines as fit and returns how many did.
func (d *draft) addSome(i int, lines []string) int {
	s := d.sums[i]
	d.current = i
	if !d.bare && (!d.started || d.workflow != s.Workflow.ID) {
		for k, h := range heading(s) {
			if !d.put(h, k == 0) {
				return 0
			}
		}
		d.workflow, d.started = s.Workflow.ID, true
	}
	for n, l := range lines {
		if !d.put(l, false) {
			return n
		}
	}
	return len(lines)
}

// put appends a line to the last section, or starts a section with it.
func (d *draft) put(line string, newSection bool) bool {
	n := textLen(line)
	if last := len(d.sections) - 1; !newSection && last >= 0 && d.lens[last]+1+n <= maxSectionText {
		if d.total+1+n > d.budget() {
			return false
		}
		d.sections[last] += "\n" + line
		d.lens[last] += 1 + n
		d.total += 1 + n
		return true
	}
	if len(d.sections) == maxSections || d.total+n > d.budget() {
		return false
	}
	d.sections = append(d.sections, line)
	d.lens = append(d.lens, n)
	d.total += n
	return true
}

// finish renders the draft: a title, the sections, and a context line.
func (d *draft) finish() message {
	items := make([]*notify.Summary, len(d.items))
	for k, i := range d.items {
		items[k] = d.sums[i]
	}
	if len(items) == 0 {
		// Part of a result that spans messages.
		items = []*notify.Summary{d.sums[d.current]}
	}
	title := d.title(items)
	blocks := make([]slack.Block, 0, len(d.sections)+2)
	blocks = append(blocks, section(title))
	for _, s := range d.sections {
		blocks = append(blocks, section(s))
	}
	if d.r.actions && !d.continued {
		if b := actionsFor(items); b != nil {
			blocks = append(blocks, b)
		}
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(observed(items))))
	return message{Text: d.fallback(items), Blocks: blocks}
}

// actionsFor returns the re-run buttons of a message of items: those of the one result,
// or "Re-run failed users of this run" for failures of a single run; nil for anything
// else (results of several runs, or not failures).
func actionsFor(items []*notify.Summary) slack.Block {
	first := items[0]
	for _, s := range items {
		if !s.Failure() || s.Workflow.ID != first.Workflow.ID || s.RunID != first.RunID {
			return nil
		}
	}
	if len(items) > 1 {
		if first.RunID == "" {
			return nil
		}
		return ActionsBlock(ActionTarget{WorkflowID: first.Workflow.ID, RunID: first.RunID, WorkflowName: first.Workflow.DisplayName}, true)
	}
	return ActionsBlock(TargetOf(first), false)
}

// TargetOf is what the buttons of a message telling the one failure s act on.
func TargetOf(s *notify.Summary) ActionTarget {
	return ActionTarget{WorkflowID: s.Workflow.ID, ResultID: s.ResultID, SubjectID: s.UserID, RunID: s.RunID,
		EventID: s.EventID, WorkflowName: s.Workflow.DisplayName, UserName: s.User}
}

func (d *draft) title(items []*notify.Summary) string {
	var t string
	switch {
	case d.continued:
		t = ":arrow_heading_down: *Lifecycle workflow result, continued*"
	case len(items) == 1:
		t = singleTitle(items[0])
	case slices.ContainsFunc(items, (*notify.Summary).Failure):
		t = fmt.Sprintf(":rotating_light: *%d lifecycle workflow results need attention*", len(items))
	default:
		t = fmt.Sprintf(":information_source: *%d lifecycle workflow results*", len(items))
	}
	if d.mention && d.r.mention != "" && slices.ContainsFunc(items, (*notify.Summary).Failure) {
		t = d.r.mention + " " + t
	}
	return t
}

func singleTitle(s *notify.Summary) string {
	switch s.Status {
	case events.StatusFailed:
		return ":x: *Lifecycle workflow failed*"
	case events.StatusCompletedWithErrors:
		return ":warning: *Lifecycle workflow completed with errors*"
	}
	return ":information_source: *Lifecycle workflow result: " + escape(s.Status) + "*"
}

// fallback is the message's plain text, shown in notifications and by clients that
// cannot render blocks.
func (d *draft) fallback(items []*notify.Summary) string {
	var b strings.Builder
	if d.mention && d.r.mention != "" && slices.ContainsFunc(items, (*notify.Summary).Failure) {
		b.WriteString(d.r.mention + " ")
	}
	if len(items) == 1 {
		s := items[0]
		fmt.Fprintf(&b, "Lifecycle workflow %s: %s, %s", escape(s.Status), shorten(escape(s.Workflow.DisplayName)), shorten(escape(s.User)))
		if d.continued {
			b.WriteString(" (continued)")
		}
		return b.String()
	}
	counts := map[string]int{}
	var names []string
	for _, s := range items {
		if counts[s.Workflow.ID] == 0 {
			names = append(names, s.Workflow.ID)
		}
		counts[s.Workflow.ID]++
	}
	fmt.Fprintf(&b, "%d lifecycle workflow results need attention:", len(items))
	for k, id := range names {
		if k == 3 {
			fmt.Fprintf(&b, " and %d more workflows", len(names)-k)
			break
		}
		s := items[slices.IndexFunc(items, func(s *notify.Summary) bool { return s.Workflow.ID == id })]
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s (%d)", shorten(escape(s.Workflow.DisplayName)), counts[id])
	}
	return b.String()
}

// shorten bounds an escaped name in the fallback text; the blocks carry it in full.
func shorten(s string) string {
	if textLen(s) <= fallbackNameLen {
		return s
	}
	return strings.TrimRight(s[:cutIndex(s, fallbackNameLen-1)], " ") + "…"
}

// heading introduces a workflow's results: its name linked to the admin center, and its
// category.
func heading(s *notify.Summary) []string {
	name := escape(s.Workflow.DisplayName)
	if name == "" {
		name = "workflow " + escape(s.Workflow.ID)
	}
	cat := ""
	if c := escape(s.Workflow.Category); c != "" {
		cat = " · " + c
	}
	link := "<" + escapeURL(s.WorkflowURL) + "|"
	if line := ":gear: *" + link + name + ">*" + cat; textLen(name) <= maxLinkedName && textLen(line) <= maxSectionText {
		return []string{line}
	}
	// A long name, category or workflow id: every line must still fit in a section.
	lines := splitText(":gear: *"+name+"*"+cat, maxSectionText)
	if open := link + "Open the workflow in the Entra admin center>"; textLen(open) <= maxSectionText {
		return append(lines, open)
	}
	// A link longer than a section cannot be split: show the address as text (sections
	// are verbatim, so it stays unlinked).
	return append(lines, splitText("Workflow in the Entra admin center: "+escapeURL(s.WorkflowURL), maxSectionText)...)
}

// itemLines renders one result: the user, status and counts, then every failed task with
// its reason. Lines longer than a section are split.
func itemLines(s *notify.Summary) []string {
	user := "*" + escape(s.User) + "*"
	switch {
	case !s.UserReadable:
		user = "user *" + escape(s.User) + "* (name not readable)"
	case s.UserDetail != "":
		user += " (" + escape(s.UserDetail) + ")"
	}
	first := fmt.Sprintf("• %s · %s %s · %d of %d tasks failed", user, statusEmoji(s.Status), escape(s.Status), s.Failed, s.Total)
	lines := splitText(first, maxSectionText)
	for _, t := range s.FailedTasks {
		name := escape(t.Name)
		if name == "" {
			name = "unnamed task"
		}
		lines = append(lines, splitText("        ◦ *"+name+"*: "+escape(t.Reason), maxSectionText)...)
		if t.Info != "" {
			lines = append(lines, splitText("            _"+escape(t.Info)+"_", maxSectionText)...)
		}
	}
	if s.Failed > 0 && len(s.FailedTasks) == 0 {
		lines = append(lines, "        ◦ _the failed tasks could not be read_")
	}
	return lines
}

func statusEmoji(status string) string {
	switch status {
	case events.StatusFailed:
		return ":x:"
	case events.StatusCompletedWithErrors:
		return ":warning:"
	}
	return ":information_source:"
}

func observed(items []*notify.Summary) string {
	var first, last time.Time
	for _, s := range items {
		if first.IsZero() || s.Observed.Before(first) {
			first = s.Observed
		}
		if s.Observed.After(last) {
			last = s.Observed
		}
	}
	const layout = "2006-01-02 15:04:05"
	switch {
	case first.IsZero():
		return "lcwnotify"
	case first.Equal(last) || len(items) == 1:
		return "Observed " + first.UTC().Format(layout) + " UTC · lcwnotify"
	}
	return "Observed " + first.UTC().Format(layout) + " – " + last.UTC().Format(layout) + " UTC · lcwnotify"
}

func mrkdwn(text string) *slack.TextBlockObject {
	// verbatim: no auto-linking of URLs, channel names or @mentions typed as text.
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(text), nil, nil)
}
