package slack

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// FuzzRender renders up to 64 results built from arbitrary Graph text — workflow name,
// id and category, user name and UPN, task name and failure reason, repeated up to 40
// times — through the sink's Render. Every message must keep to Slack's limits (50
// blocks, 3,000 characters per section, 40,000 per message, in UTF-16 units as the
// packer counts), every result must be in exactly one batch with its user and reasons
// whole, and nothing but the configured mention and the admin-center links may open a
// mention or a link. Seeds: testdata/fuzz/FuzzRender.
//
//	go test -run '^$' -fuzz '^FuzzRender$' -fuzztime 60s ./notify/slack
func FuzzRender(f *testing.F) {
	f.Add("Onboard new hires", "wf-1", "joiner", "Ada Lovelace", "ada@contoso.example", "Add to groups", "The group does not exist.", uint8(1), uint16(1), uint8(0))
	f.Add("<!channel> & <https://evil.example|x>", "wf-<@U1>", "<#C1>", "<!here>", "<@U0123ABCD>", "```", "<http://x|y> &amp; *b*", uint8(40), uint16(3), uint8(1))
	s, err := newSink(Config{WebhookURL: "https://hooks.slack.com/services/T/B/x", Mention: testMention}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, wfName, wfID, category, user, upn, task, reason string, results uint8, repeat uint16, status uint8) {
		ns := fuzzNotifications(t, wfName, wfID, category, user, upn, task, reason, int(results%64)+1, int(repeat%40)+1, status)
		if ns == nil {
			return
		}
		bs := s.Render(webhookKey, ns, true)
		sums := make([]notify.Summary, len(ns))
		for i, n := range ns {
			sums[i] = notify.Summarize(n.Event, "")
		}
		checkRendered(t, sums, bs)
	})
}

// fuzzNotifications builds n results of the fuzzed text: two workflows, alternating, the
// reason repeated rep times, so that batches group, split and spill. Text Graph could
// not have sent as JSON does not reach a renderer; nil when no event can be built.
func fuzzNotifications(t *testing.T, wfName, wfID, category, user, upn, task, reason string, n, rep int, status uint8) []*notify.Notification {
	statuses := []string{events.StatusFailed, events.StatusCompletedWithErrors, events.StatusCompleted, reason}
	at := time.Date(2024, 5, 1, 8, 0, 5, 0, time.UTC)
	ns := make([]*notify.Notification, 0, n)
	for i := range n {
		r := notifytest.Result{
			WorkflowID: fmt.Sprintf("%s-%d", wfID, i%2), WorkflowName: wfName, Category: category,
			ResultID: fmt.Sprintf("upr-%d", i), Status: statuses[int(status)%len(statuses)],
			UserName: user, UPN: upn, Observed: at.Add(time.Duration(i) * time.Second),
			Tasks: []events.TaskResult{notifytest.CompletedTask(task), notifytest.FailedTask(task, strings.Repeat(reason, rep))},
		}
		ev, err := notifytest.Event(r)
		if err != nil {
			return nil
		}
		ns = append(ns, &notify.Notification{Event: ev})
	}
	return ns
}

// checkRendered asserts what FuzzRender promises of bs, the rendering of sums.
func checkRendered(t *testing.T, sums []notify.Summary, bs []notify.Batch) {
	t.Helper()
	seen := make([]int, len(sums))
	for _, b := range bs {
		if len(b.Messages) == 0 {
			t.Fatalf("batch of items %v has no message", b.Items)
		}
		var text strings.Builder
		for _, bm := range b.Messages {
			m := bm.(message)
			for _, part := range checkMessage(t, sums, m) {
				text.WriteString(part)
			}
		}
		got := noSpace(text.String())
		for _, i := range b.Items {
			seen[i]++
			want := []string{escape(sums[i].User)}
			for _, ft := range sums[i].FailedTasks {
				want = append(want, escape(ft.Reason))
			}
			for _, w := range want {
				if !strings.Contains(got, noSpace(w)) {
					t.Fatalf("result %d's batch does not carry %q whole", i, w)
				}
			}
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("result %d is in %d batches, want 1", i, n)
		}
	}
}

// checkMessage checks one message against Slack's limits and for mentions and links,
// and returns its section texts.
func checkMessage(t *testing.T, sums []notify.Summary, m message) []string {
	t.Helper()
	if len(m.Blocks) > maxBlocks {
		t.Fatalf("message of %d blocks, Slack allows %d", len(m.Blocks), maxBlocks)
	}
	texts := []string{m.Text}
	var sections []string
	for _, blk := range m.Blocks {
		switch blk := blk.(type) {
		case *slack.SectionBlock:
			if n := textLen(blk.Text.Text); n > maxSectionText {
				t.Fatalf("section of %d characters, Slack allows %d", n, maxSectionText)
			}
			texts = append(texts, blk.Text.Text)
			sections = append(sections, blk.Text.Text)
		case *slack.ContextBlock:
			texts = append(texts, blk.ContextElements.Elements[0].(*slack.TextBlockObject).Text)
		default:
			t.Fatalf("unexpected block %T", blk)
		}
	}
	total := 0
	for _, s := range texts {
		total += textLen(s)
	}
	if total > maxMessageText {
		t.Fatalf("message of %d characters, Slack allows %d", total, maxMessageText)
	}
	// Only lcwnotify's own constructs may open with '<': the mention and the links to
	// the admin center. Graph's text is escaped, so none of its '<' survives.
	var own []string
	for i := range sums {
		own = append(own, "<"+escapeURL(sums[i].WorkflowURL)+"|")
	}
	own = append(own, testMention)
	for _, s := range texts {
		for _, o := range own {
			s = strings.ReplaceAll(s, o, "")
		}
		if i := strings.IndexByte(s, '<'); i >= 0 {
			t.Fatalf("a message holds %q, which Slack would read as a mention or link", s[i:min(len(s), i+20)])
		}
	}
	return sections
}

func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}
