package teams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/teamstest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/teams"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name.golden, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	notifytest.Golden(t, name, got, *update)
}

// post renders ns for key as the Stage would and posts every card to the fake, which
// refuses any card Teams would not show. It returns the bodies, indented.
func post(t *testing.T, n *teams.Notifier, key string, ns ...*notify.Notification) ([]notify.Batch, []byte) {
	t.Helper()
	bs := n.Render(key, ns, false)
	var out bytes.Buffer
	for _, b := range bs {
		for k, m := range b.Messages {
			raw := messageBytes(t, n, key, m, notify.Part{Index: k + 1, Count: len(b.Messages)})
			if err := json.Indent(&out, raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			out.WriteByte('\n')
		}
	}
	return bs, out.Bytes()
}

// messageBytes sends m and returns its body as the fake received it.
func messageBytes(t *testing.T, n *teams.Notifier, key string, m notify.Message, p notify.Part) []byte {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(context.Background(), key, m, p); err != nil {
		t.Fatalf("Send = %v", err)
	}
	if len(body) > teams.DefaultMaxCardBytes {
		t.Errorf("a card of %d bytes, over the %d budget", len(body), teams.DefaultMaxCardBytes)
	}
	return body
}

func goldenNotifier(t *testing.T) (*teams.Notifier, *teamstest.Server) {
	fake := teamstest.New(teamstest.Options{Limit: -1})
	t.Cleanup(fake.Close)
	return newNotifier(t, teams.Config{WebhookURL: fake.Webhook("default")}, nil), fake
}

// TestRenderGolden: the cards of hostile results, alone and grouped, and of workflow
// changes, resolutions and a digest, as Teams receives them.
func TestRenderGolden(t *testing.T) {
	n, fake := goldenNotifier(t)
	evs, err := notifytest.HostileEvents()
	if err != nil {
		t.Fatal(err)
	}
	var all []*notify.Notification
	for _, ev := range evs {
		nt := &notify.Notification{Event: ev}
		all = append(all, nt)
		t.Run(ev.Subject, func(t *testing.T) {
			_, got := post(t, n, notify.DefaultLabel, nt)
			golden(t, "single-"+ev.Subject, got)
		})
	}
	bs, got := post(t, n, notify.DefaultLabel, all...)
	golden(t, "grouped", got)
	if len(bs) != 1 || len(bs[0].Items) != len(all) || len(bs[0].Messages) != 1 {
		t.Errorf("%d hostile results laid out in %d batches, want one card", len(all), len(bs))
	}

	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var changes []*notify.Notification
	for _, c := range []string{events.ChangeQuarantined, events.ChangeReleased, events.ChangeDisabled, events.ChangeEnabled} {
		w, err := notifytest.WorkflowChange("wf-leaver", "Offboard <b>leavers</b>", c, at.Format(time.RFC3339))
		if err != nil {
			t.Fatal(err)
		}
		w.Time = at
		changes = append(changes, &notify.Notification{Workflow: w})
	}
	_, got = post(t, n, notify.DefaultLabel, changes...)
	golden(t, "workflow-changes", got)

	var done []*notify.Notification
	for _, u := range []string{"Alex Wilber", "Megan_Bowen_"} {
		ev, _ := notifytest.Event(notifytest.Result{ResultID: "upr-" + u, UserName: u, Status: "completed", RunID: "run-9", Observed: at,
			Tasks: []events.TaskResult{notifytest.CompletedTask("Add user to groups")}})
		done = append(done, &notify.Notification{Event: ev, Follows: &notify.Incident{Key: notify.DefaultLabel}})
	}
	_, got = post(t, n, notify.DefaultLabel, done...)
	golden(t, "resolved", got)

	_, got = post(t, n, notify.DefaultLabel, &notify.Notification{Digest: digest(t)})
	golden(t, "digest", got)

	for _, c := range fake.Cards() {
		text := c.Text()
		for _, bad := range []string{"<!channel>", "<@U0123ABCD>", "](https://evil", "[Microsoft support]", "*Eve*", "`rm -rf`", "<b>", "<script>"} {
			if strings.Contains(text, bad) {
				t.Errorf("a card shows %q as Graph sent it:\n%s", bad, text)
			}
		}
	}
}

// TestLargeResultSpansCards: a result too large for one card goes out in several, each
// within the limit, together listing every task and the whole of every reason.
func TestLargeResultSpansCards(t *testing.T) {
	n, fake := goldenNotifier(t)
	var tasks []events.TaskResult
	for i := range 40 {
		tasks = append(tasks, notifytest.FailedTask("Task "+strings.Repeat("x", i), strings.Repeat("The directory refused the change. ", 60)))
	}
	tasks = append(tasks, notifytest.FailedTask("Huge", strings.Repeat("ünïcödé ", 20000)))
	ev, err := notifytest.Event(notifytest.Result{UserName: "Large Result", Tasks: tasks})
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := post(t, n, notify.DefaultLabel, &notify.Notification{Event: ev})
	if len(bs) != 1 || len(bs[0].Messages) < 3 {
		t.Fatalf("%d batches, the first of %d cards; want one batch of several cards", len(bs), len(bs[0].Messages))
	}
	var all strings.Builder
	for _, c := range fake.Cards() {
		all.WriteString(c.Text())
		all.WriteByte(' ')
	}
	joined := strings.Join(strings.Fields(all.String()), " ")
	for _, task := range tasks {
		if !strings.Contains(joined, task.Task.DisplayName) {
			t.Errorf("task %q is missing", task.Task.DisplayName)
		}
	}
	if got, want := strings.Count(joined, "ünïcödé"), 20000; got != want {
		t.Errorf("the huge reason shows %d of its %d words", got, want)
	}
}

func digest(t *testing.T) *events.DigestEvent {
	t.Helper()
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	p := events.Period{Start: start, End: start.Add(24 * time.Hour), Schedule: "daily@09:00", TimeZone: "UTC"}
	ev, err := events.NewDigestEvent("https://graph.microsoft.com", p.End, events.DigestData{Period: p, Workflows: []events.WorkflowDigest{
		{Workflow: events.Workflow{ID: "wf-j", DisplayName: "Onboard joiners", Category: "joiner"}, State: events.WorkflowState{IsEnabled: true},
			Users: events.UserCounts{Processed: 40, Succeeded: 40}},
		{Workflow: events.Workflow{ID: "wf-l", DisplayName: "Offboard leavers", Category: "leaver"}, State: events.WorkflowState{IsEnabled: false},
			Users:      events.UserCounts{Processed: 12, Succeeded: 10, Failed: 1, CompletedWithErrors: 1},
			Runs:       events.RunCounts{Total: 2, Failed: 1},
			TopReasons: []events.ReasonCount{{Task: "Remove licenses", Reason: "License not assigned", Count: 2}},
			Unresolved: []events.Unresolved{{ResultID: "r-1", User: events.User{ID: "u1", DisplayName: "Adele Vance"}, Status: "failed"}}, UnresolvedTotal: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
