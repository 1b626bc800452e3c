package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// mention is LCW_SLACK_MENTION in TestHostileTextAndSecrets: the one piece of markup a
// message may carry that lcwnotify did not write itself.
const mention = "<!subteam^S0ONCALL1>"

// allowedMarkup is every '<' a message may hold: the configured mention, and links to a
// workflow in the Entra admin center whose label holds no markup.
var allowedMarkup = regexp.MustCompile(`^(` + regexp.QuoteMeta(mention) +
	`|<https://entra\.microsoft\.com/#view/Microsoft_AAD_LifecycleManagement/DetailedWorkflowMenuBlade/~/overview/workflowId/[0-9a-f-]+\|[^<>]*>)`)

// TestHostileTextAndSecrets: workflow names, task names, user names and failure reasons
// that try to mention (<!channel>, <@U…>, <#C…>), link, format or break lines reach
// Slack unable to do any of it, and the failures are still named and notified once;
// the signed webhook receives each failure with a valid signature. No secret — client
// secret, Graph tokens, Slack token, webhook URL and signing secret — appears in the
// process's output (logged at debug, through Slack and webhook errors), in /metrics, in
// the events, or in what Slack and the webhook received.
func TestHostileTextAndSecrets(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{webhook: true})
	s.channel = harness.DefaultChannel // by name, as many operators configure it
	tn := newTenant(s.world.Sim)
	wf := s.world.Sim.AddWorkflow(graphsim.Workflow{
		DisplayName: "<!here> Offboard <https://evil.example/login|Microsoft> & *co*",
		Category:    graphsim.CategoryLeaver,
		Tasks: []graphsim.Task{
			{DisplayName: "<@U024BE7LH> Remove <#C024BE7LH> access"},
			{DisplayName: "Disable `account` ~now~ <!everyone>", ContinueOnError: true},
			{DisplayName: "Delete account"},
		},
	})
	joiner := tn.workflow("Onboard new hires", graphsim.CategoryJoiner)
	names := []string{
		"<!channel> Mallory",
		"<@U0123ABCD|admin> Eve <#C0123ABCD>",
		"*bold* _it_ ~strike~ `code` > quote",
		"Line one\n• u9999 Fake Line · :x: failed\n<https://evil.example|click>",
		"&lt;!here&gt; pre-escaped &amp;",
		"\u202egnp.exe <!everyone> \u200b",
		strings.Repeat("<!channel>", 300),
	}
	const reason = "<!channel> reset at <https://evil.example/reset|aka.ms/reset> & <mailto:a@b.c|mail> <@U024BE7LH>\n• u9998 Fake · :x: failed"

	env := withEnv(s.env(), "LCW_SLACK_MENTION", mention)
	p := s.startReady(env, "run")
	s.world.Webhook.FailNext(2, httpfake.Fault{Status: 503})
	s.world.Slack.FailNextPosts(1, httpfake.Fault{Status: 500})

	ids := tn.startRun(wf, runSpec{names: names})
	for i, id := range ids {
		tn.set(id, "inProgress")
		switch i % 3 {
		case 0:
			tn.set(id, "failed", graphsim.TaskFailure{Task: "<@U024BE7LH> Remove <#C024BE7LH> access", Reason: reason})
		case 1:
			tn.set(id, "completedWithErrors", graphsim.TaskFailure{Task: "Disable `account` ~now~ <!everyone>", Reason: reason})
		default:
			tn.set(id, "failed")
		}
	}
	ids = tn.startRun(joiner, runSpec{names: names[:3], status: "failed", failures: []graphsim.TaskFailure{{Task: "Add user to groups", Reason: reason}}})
	s.settle(tn, p, 2*time.Minute, false)
	s.waitFor(2*time.Minute, "the webhook to hold nothing more", func() (bool, string) { return s.drained("webhook") })

	msgs := s.world.Slack.Messages()
	for i, m := range msgs {
		for _, text := range append([]string{m.Text}, blockTexts(m.Blocks)...) {
			for j := strings.IndexByte(text, '<'); j >= 0; j = next(text, j) {
				if !allowedMarkup.MatchString(text[j:]) {
					t.Errorf("message #%d carries markup lcwnotify did not write: %q in\n%s", i, clip(text[j:], 80), text)
					break
				}
			}
			if strings.Contains(text, "u9999") || strings.Contains(text, "u9998") {
				if strings.Contains(text, "\n• u999") {
					t.Errorf("message #%d: text from Graph started a line of its own:\n%s", i, text)
				}
			}
		}
		if leaks := s.world.Leaks(m.Text + string(m.Blocks)); len(leaks) > 0 {
			t.Errorf("message #%d holds secrets %q", i, leaks)
		}
	}
	if !strings.Contains(msgs[0].Text+string(msgs[0].Blocks), mention) {
		t.Errorf("the first message lacks LCW_SLACK_MENTION %s", mention)
	}

	checkWebhook(t, s, tn)
	for _, se := range s.events() {
		b, _ := json.Marshal(se.Event)
		if leaks := s.world.Leaks(string(b)); len(leaks) > 0 {
			t.Errorf("event %d holds secrets %q", se.Seq, leaks)
		}
	}
	s.stop(p)
}

// checkWebhook checks that the webhook received every failure at least once (it
// promises no more), each signed with the secret, and nothing else.
func checkWebhook(t *testing.T, s *stack, tn *tenant) {
	t.Helper()
	got := map[string]int{}
	for _, d := range s.world.Webhook.Deliveries() {
		if d.Verified != nil {
			t.Errorf("webhook delivery %s: signature does not verify: %v", d.ID, d.Verified)
		}
		if d.Event == nil {
			t.Errorf("webhook delivery %s is not a change event: %s", d.ID, clip(string(d.Body), 200))
			continue
		}
		if leaks := s.world.Leaks(string(d.Body)); len(leaks) > 0 {
			t.Errorf("webhook delivery %s holds secrets %q", d.ID, leaks)
		}
		got[d.Event.Subject]++
	}
	for _, r := range tn.all() {
		switch {
		case r.notifiable() && got[r.ID] == 0:
			t.Errorf("LOST: the webhook never received %s", r.String())
		case !r.notifiable() && got[r.ID] > 0:
			t.Errorf("FALSE: the webhook received %s", r.String())
		}
	}
}

// blockTexts returns the text of every text object in Block Kit JSON.
func blockTexts(raw json.RawMessage) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if s, ok := c.(string); ok && k == "text" {
					out = append(out, s)
				} else {
					walk(c)
				}
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	var blocks any
	_ = json.Unmarshal(raw, &blocks)
	walk(blocks)
	return out
}

// next returns the index of the next '<' after position j, or -1.
func next(text string, j int) int {
	k := strings.IndexByte(text[j+1:], '<')
	if k < 0 {
		return -1
	}
	return j + 1 + k
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
