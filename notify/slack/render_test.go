package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const testMention = "<!subteam^S0123ABCD>"

func summaries(t testing.TB, evs []*events.Event) []*notify.Summary {
	t.Helper()
	out := make([]*notify.Summary, len(evs))
	for i, ev := range evs {
		s := notify.Summarize(ev, "")
		out[i] = &s
	}
	return out
}

func hostile(t testing.TB) []*notify.Summary {
	t.Helper()
	evs, err := notifytest.HostileEvents()
	if err != nil {
		t.Fatal(err)
	}
	return summaries(t, evs)
}

// golden compares got with testdata/name.golden, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff\ngot:\n%s", path, got)
	}
}

func messagesJSON(t *testing.T, bs []batch) []byte {
	t.Helper()
	var msgs []message
	for _, b := range bs {
		msgs = append(msgs, b.messages...)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep <, > and & readable in the golden files
	enc.SetIndent("", "  ")
	if err := enc.Encode(msgs); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestRenderGolden(t *testing.T) {
	r := renderer{mention: testMention}
	sums := hostile(t)
	for _, s := range sums {
		t.Run(s.ResultID, func(t *testing.T) {
			bs := r.pack([]*notify.Summary{s}, true)
			checkMessages(t, bs)
			golden(t, "single-"+s.ResultID, messagesJSON(t, bs))
		})
	}
	t.Run("digest", func(t *testing.T) {
		bs := r.pack(sums, true)
		checkMessages(t, bs)
		golden(t, "digest", messagesJSON(t, bs))
	})
}

// ownLink matches the only <…> constructs lcwnotify writes: its mention and its links
// to the admin center.
var ownLink = regexp.MustCompile(`^(` + regexp.QuoteMeta(testMention) + `|<https://entra\.microsoft\.com/#view/Microsoft_AAD_LifecycleManagement/DetailedWorkflowMenuBlade/~/overview/workflowId/[A-Za-z0-9%._~-]+\|[^<>|]*>)$`)

var angle = regexp.MustCompile(`<[^>]*>`)

// checkMessages asserts Slack's limits and that nothing but lcwnotify's own mention and
// links can mention or link.
func checkMessages(t *testing.T, bs []batch) {
	t.Helper()
	for _, b := range bs {
		for _, m := range b.messages {
			if len(m.Blocks) > maxBlocks {
				t.Errorf("message has %d blocks, Slack allows %d", len(m.Blocks), maxBlocks)
			}
			total := textLen(m.Text)
			texts := []string{m.Text}
			for _, blk := range m.Blocks {
				var text string
				switch blk := blk.(type) {
				case *slack.SectionBlock:
					text = blk.Text.Text
					if n := textLen(text); n > maxSectionText {
						t.Errorf("section text has %d characters, Slack allows %d", n, maxSectionText)
					}
					if !blk.Text.Verbatim {
						t.Error("section text is not verbatim: Slack would auto-link names and URLs in it")
					}
				case *slack.ContextBlock:
					text = blk.ContextElements.Elements[0].(*slack.TextBlockObject).Text
				}
				total += textLen(text)
				texts = append(texts, text)
			}
			if total > maxMessageText {
				t.Errorf("message has %d characters, Slack allows %d", total, maxMessageText)
			}
			for _, text := range texts {
				for _, a := range angle.FindAllString(text, -1) {
					// "(" + mention ")" patterns aside, every <…> must be ours.
					if !ownLink.MatchString(a) {
						t.Errorf("message contains %q, which Slack would parse as a mention or link", a)
					}
				}
				for _, bad := range []string{"<!channel>", "<!here>", "<@U", "```", "\n• *fake"} {
					if strings.Contains(text, bad) {
						t.Errorf("message contains %q", bad)
					}
				}
			}
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<!channel>", "&lt;!channel&gt;"},
		{"<@U0123ABCD>", "&lt;@U0123ABCD&gt;"},
		{"<https://x.example|y>", "&lt;https://x.example|y&gt;"},
		{"a & b", "a &amp; b"},
		{"&amp;", "&amp;amp;"},
		{"*bold* `code` ~strike~", "∗bold∗ ˋcodeˋ ∼strike∼"},
		{"_italic_ first_last@contoso.example", "＿italic＿ first_last@contoso.example"},
		{"snake_case_ _x", "snake_case＿ ＿x"},
		{"line 1\nline 2\r\n\tend", "line 1 line 2 end"},
		{"bidi\u202eexe.txt\u200b", "bidiexe.txt"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"Zoë 😀", "Zoë 😀"},
	}
	for _, tc := range tests {
		if got := escape(tc.in); got != tc.want {
			t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitText(t *testing.T) {
	s := strings.Repeat("ab &amp; cd ", 600) // 7200 characters
	parts := splitText(s, 1000)
	if len(parts) < 8 {
		t.Fatalf("split into %d parts, want at least 8", len(parts))
	}
	var joined []string
	for _, p := range parts {
		if textLen(p) > 1000 {
			t.Errorf("part of %d characters, limit 1000", textLen(p))
		}
		if strings.Count(p, "&") != strings.Count(p, "&amp;") {
			t.Errorf("part cuts an entity: %q…%q", p[:10], p[len(p)-10:])
		}
		joined = append(joined, p)
	}
	if got := strings.TrimSpace(strings.Join(joined, " ")); got != strings.TrimSpace(s) {
		t.Errorf("split lost or changed text:\n%q\nwant\n%q", got[:200], strings.TrimSpace(s)[:200])
	}
	if got := textLen("😀a"); got != 3 {
		t.Errorf("textLen counts %d UTF-16 units in an emoji and a letter, want 3", got)
	}
}

// TestPackKeepsEverything packs a large burst and results larger than a message, and
// checks that every result is in exactly one batch, whole, and within Slack's limits.
func TestPackKeepsEverything(t *testing.T) {
	burstA, err := notifytest.Burst("wf-a", "Offboard contractors", "Contractor", 300)
	if err != nil {
		t.Fatal(err)
	}
	burstB, err := notifytest.Burst("wf-b", "Offboard employees", "Employee", 50)
	if err != nil {
		t.Fatal(err)
	}
	huge, err := notifytest.Event(notifytest.Result{ResultID: "upr-huge", UserName: "Huge Reason",
		Tasks: []events.TaskResult{notifytest.FailedTask("Sync", strings.Repeat("x<y ", 25000))}})
	if err != nil {
		t.Fatal(err)
	}
	evs := append(append(burstA[:150:150], huge), append(burstA[150:], burstB...)...)
	sums := summaries(t, evs)
	r := renderer{mention: testMention}
	bs := r.pack(sums, true)
	checkMessages(t, bs)

	seen := map[int]int{}
	messages := 0
	for _, b := range bs {
		messages += len(b.messages)
		var text strings.Builder
		for _, m := range b.messages {
			for _, blk := range m.Blocks {
				if s, ok := blk.(*slack.SectionBlock); ok {
					text.WriteString(s.Text.Text + "\n")
				}
			}
		}
		for _, i := range b.items {
			seen[i]++
			if !strings.Contains(text.String(), "*"+escape(sums[i].User)+"*") {
				t.Errorf("batch lists %s but its messages do not name them", sums[i].User)
			}
		}
	}
	for i := range sums {
		if seen[i] != 1 {
			t.Errorf("result %d (%s) is in %d batches, want 1", i, sums[i].User, seen[i])
		}
	}
	// 350 short results fit in a few messages; the huge reason takes a few of its own.
	if messages > 8 {
		t.Errorf("%d messages for 351 results, want at most 8", messages)
	}
	// The huge reason arrives whole, across its messages.
	var hugeText strings.Builder
	for _, b := range bs {
		if len(b.items) == 1 && sums[b.items[0]].User == "Huge Reason" {
			for _, m := range b.messages {
				for _, blk := range m.Blocks[1 : len(m.Blocks)-1] {
					hugeText.WriteString(blk.(*slack.SectionBlock).Text.Text + " ")
				}
			}
		}
	}
	if got, want := strings.Count(hugeText.String(), "x&lt;y"), 25000; got != want {
		t.Errorf("the huge reason arrived with %d of its %d parts", got, want)
	}
	// The mention is on the first message only.
	for k, b := range bs {
		for j, m := range b.messages {
			first := k == 0 && j == 0
			if got := strings.Contains(m.Text, testMention); got != first {
				t.Errorf("batch %d message %d: mention present = %v, want %v", k, j, got, first)
			}
		}
	}
}

// TestPackHostileHeadings gives results workflow names, ids and categories larger than a
// section or a whole message. Packing must end, keep every message within Slack's limits
// (one section over 3,000 characters and Slack refuses the message, with every result in
// it) and carry the text whole.
func TestPackHostileHeadings(t *testing.T) {
	tests := []struct {
		name string
		r    notifytest.Result
		// want is text that must arrive whole, counted across the batch's sections.
		want  string
		count int
	}{
		{"name larger than a message", notifytest.Result{WorkflowName: strings.Repeat("n", 50000)}, "n", 50000},
		{"name of many words larger than a message", notifytest.Result{WorkflowName: strings.Repeat("word ", 12000)}, "word", 12000},
		{"category larger than a section", notifytest.Result{Category: strings.Repeat("c", 5000)}, "c", 5000},
		{"workflow id larger than a section", notifytest.Result{WorkflowID: strings.Repeat("i", 4000)}, "i", 4000},
		{"workflow id larger than a message", notifytest.Result{WorkflowID: strings.Repeat("i", 50000)}, "i", 50000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.ResultID, tc.r.UserName = "upr-hostile", "Hostile Heading"
			hostileEv, err := notifytest.Event(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			others, err := notifytest.Burst("wf-other", "Offboard", "Other", 3)
			if err != nil {
				t.Fatal(err)
			}
			sums := summaries(t, append(others, hostileEv))
			done := make(chan []batch, 1)
			go func() {
				r := renderer{mention: testMention}
				done <- r.pack(sums, true)
			}()
			var bs []batch
			select {
			case bs = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("pack never returned")
			}
			checkMessages(t, bs)
			seen := map[int]int{}
			var text strings.Builder
			for _, b := range bs {
				for _, i := range b.items {
					seen[i]++
				}
				for _, m := range b.messages {
					for _, blk := range m.Blocks {
						if s, ok := blk.(*slack.SectionBlock); ok && slices.Contains(b.items, len(others)) {
							text.WriteString(s.Text.Text)
						}
					}
				}
			}
			for i := range sums {
				if seen[i] != 1 {
					t.Errorf("result %d is in %d batches, want 1", i, seen[i])
				}
			}
			if got := strings.Count(text.String(), tc.want); got < tc.count {
				t.Errorf("the hostile result's messages carry %q %d times, want at least %d", tc.want, got, tc.count)
			}
		})
	}
}

// TestPackPutsButtons: with actions on, a failure's message has its two re-run buttons,
// a grouped message of one run the run's button, and one of several runs none; the
// values decode back to the failure they act on.
func TestPackPutsButtons(t *testing.T) {
	evs, err := notifytest.Burst("wf-1", "Offboard", "User", 3)
	if err != nil {
		t.Fatal(err)
	}
	other, err := notifytest.Event(notifytest.Result{WorkflowID: "wf-1", RunID: "run-2", ResultID: "upr-x", UserName: "Another"})
	if err != nil {
		t.Fatal(err)
	}
	r := &renderer{actions: true}
	buttons := func(m message) []string {
		var ids []string
		for _, b := range m.Blocks {
			if a, ok := b.(*slack.ActionBlock); ok {
				for _, e := range a.Elements.ElementSet {
					if btn, ok := e.(*slack.ButtonBlockElement); ok {
						ids = append(ids, btn.ActionID)
						v, err := DecodeActionValue(btn.ActionID, btn.Value)
						if err != nil || v.WorkflowID != "wf-1" {
							t.Errorf("button %s's value decodes to %+v, %v", btn.ActionID, v, err)
						}
					}
				}
			}
		}
		return ids
	}
	one := r.pack(summaries(t, evs[:1]), false)
	if got := buttons(one[0].messages[0]); len(got) != 2 || got[0] != ActionIDRerunFailedTasks || got[1] != ActionIDRerunWorkflow {
		t.Errorf("one failure's buttons = %v, want re-run failed tasks and re-run workflow", got)
	}
	run := r.pack(summaries(t, evs), false)
	if got := buttons(run[0].messages[0]); len(got) != 1 || got[0] != ActionIDRerunFailedUsers {
		t.Errorf("one run's grouped buttons = %v, want re-run failed users of this run", got)
	}
	mixed := r.pack(summaries(t, append(evs[:2:2], other)), false)
	if got := buttons(mixed[0].messages[0]); len(got) != 0 {
		t.Errorf("buttons %v on a message of two runs, want none", got)
	}
	if got := buttons((&renderer{}).pack(summaries(t, evs[:1]), false)[0].messages[0]); len(got) != 0 {
		t.Errorf("buttons %v with actions off, want none", got)
	}
}
