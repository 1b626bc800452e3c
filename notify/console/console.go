package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Name is the console notifier's sink name.
const Name = "console"

// Notifier writes notifications as text. It implements notify.Sink. Writes are not paced;
// the delivery stage records each in its ledger right after the write, so only a crash
// between the two writes one twice.
type Notifier struct {
	adminCenterURL string
	mu             sync.Mutex
	w              io.Writer
}

// New returns a Notifier writing to w, linking workflows to adminCenterURL (empty:
// notify.DefaultAdminCenterURL).
func New(w io.Writer, adminCenterURL string) *Notifier {
	return &Notifier{w: w, adminCenterURL: adminCenterURL}
}

// Name returns "console".
func (n *Notifier) Name() string { return Name }

// Key is the one destination: the writer.
func (n *Notifier) Key(*notify.Notification) string { return Name }

// Rate leaves the writer unpaced.
func (n *Notifier) Rate(string) notify.Rate { return notify.Rate{} }

// Interests: the console prints everything a person watching would want to see:
// resolutions, workflow changes, the steps of actions and digests.
func (n *Notifier) Interests() notify.Interests {
	return notify.Interests{Resolutions: true, Workflows: true, Actions: true, Digests: true}
}

// Render gives every notification a message of its own.
func (n *Notifier) Render(_ string, ns []*notify.Notification, _ bool) []notify.Batch {
	out := make([]notify.Batch, len(ns))
	for i, nt := range ns {
		out[i] = notify.Batch{Items: []int{i}, Messages: []notify.Message{n.text(nt)}}
	}
	return out
}

// text is the notification's text, by kind.
func (n *Notifier) text(nt *notify.Notification) string {
	switch {
	case nt.Event != nil:
		if r, err := nt.Event.Data.Result(); err == nil && events.IsSuccess(r.ProcessingStatus) {
			s := notify.SummarizeFollowUp(nt, n.adminCenterURL)
			return renderResolved(&s)
		}
		s := notify.Summarize(nt.Event, n.adminCenterURL)
		return Render(&s)
	case nt.Workflow != nil:
		return renderWorkflow(nt.Workflow, notify.WorkflowURL(n.adminCenterURL, nt.Workflow.Data.Workflow.ID))
	case nt.Action != nil:
		return renderAction(nt.Action)
	case nt.Digest != nil:
		return renderDigest(nt.Digest)
	}
	return ""
}

// Send writes one notification in one write, so that concurrent notifications do not
// interleave.
func (n *Notifier) Send(ctx context.Context, _ string, m notify.Message, _ notify.Part) (notify.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return notify.Receipt{}, notify.Unsent(err)
	}
	text, ok := m.(string)
	if !ok {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("console: cannot write a %T", m), "bad_message")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := io.WriteString(n.w, text); err != nil {
		return notify.Receipt{}, notify.Retryable(fmt.Errorf("console: %w", err), 0)
	}
	return notify.Receipt{}, nil
}

// Render returns the text of one notification, ending in a blank line.
func Render(s *notify.Summary) string {
	var b strings.Builder
	title := "Lifecycle workflow result: " + notify.Clean(s.Status)
	mark := "•"
	switch s.Status {
	case events.StatusFailed:
		title, mark = "Lifecycle workflow failed", "✗"
	case events.StatusCompletedWithErrors:
		title, mark = "Lifecycle workflow completed with errors", "!"
	}
	fmt.Fprintf(&b, "%s %s: %s", mark, title, notify.Clean(s.Workflow.DisplayName))
	if c := notify.Clean(s.Workflow.Category); c != "" {
		fmt.Fprintf(&b, " (%s)", c)
	}
	b.WriteByte('\n')
	user := notify.Clean(s.User)
	switch {
	case !s.UserReadable:
		user = "user " + user + " (name not readable)"
	case s.UserDetail != "":
		user += " (" + notify.Clean(s.UserDetail) + ")"
	}
	fmt.Fprintf(&b, "  user:     %s\n", user)
	fmt.Fprintf(&b, "  status:   %s, %d of %d tasks failed\n", notify.Clean(s.Status), s.Failed, s.Total)
	for _, t := range s.FailedTasks {
		fmt.Fprintf(&b, "  failed:   %s: %s\n", notify.Clean(t.Name), notify.Clean(t.Reason))
		if t.Info != "" {
			fmt.Fprintf(&b, "            %s\n", notify.Clean(t.Info))
		}
	}
	if s.Failed > 0 && len(s.FailedTasks) == 0 {
		b.WriteString("  failed:   (the failed tasks could not be read)\n")
	}
	fmt.Fprintf(&b, "  workflow: %s\n", s.WorkflowURL)
	if !s.Observed.IsZero() {
		fmt.Fprintf(&b, "  observed: %s UTC\n", s.Observed.UTC().Format("2006-01-02 15:04:05"))
	}
	b.WriteByte('\n')
	return b.String()
}
