package pagerduty_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/pagerdutytest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/pagerduty"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name.golden, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	notifytest.Golden(t, name, got, *update)
}

// send renders nt as the Stage would and sends it to the fake, returning the body the
// fake took.
func send(t *testing.T, n *pagerduty.Notifier, fake *pagerdutytest.Server, nt *notify.Notification) []byte {
	t.Helper()
	key := n.Key(nt)
	if key == "" {
		t.Fatalf("%s: the notifier takes no such notification", nt.ID())
	}
	bs := n.Render(key, []*notify.Notification{nt}, false)
	if len(bs) != 1 || len(bs[0].Messages) != 1 {
		t.Fatalf("rendered %d batches, want one of one event", len(bs))
	}
	before := len(fake.Events())
	if _, err := n.Send(context.Background(), key, bs[0].Messages[0], notify.Part{}); err != nil {
		t.Fatalf("%s: Send = %v", nt.ID(), err)
	}
	evs := fake.Events()
	if len(evs) != before+1 {
		t.Fatalf("the fake took %d events, want 1", len(evs)-before)
	}
	return evs[len(evs)-1].Raw
}

func indent(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return bytes.ReplaceAll(out.Bytes(), []byte(keyOncall), []byte("<routing key>"))
}

// TestRenderGolden: the events of hostile results, as PagerDuty receives them.
func TestRenderGolden(t *testing.T) {
	fake := pagerdutytest.New(pagerdutytest.Options{Keys: []string{keyOncall}})
	defer fake.Close()
	n := newNotifier(t, testConfig(fake), nil)
	evs, err := notifytest.HostileEvents()
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		t.Run(ev.Subject, func(t *testing.T) {
			golden(t, "trigger-"+ev.Subject, indent(t, send(t, n, fake, &notify.Notification{Event: ev})))
		})
	}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	q, err := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeQuarantined, at.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	q.Time = at
	golden(t, "quarantined", indent(t, send(t, n, fake, &notify.Notification{Workflow: q})))
	done, _ := notifytest.Event(notifytest.Result{ResultID: "upr-2", UserID: "u-1", Status: "completed", Observed: at})
	golden(t, "resolve", indent(t, send(t, n, fake, &notify.Notification{Event: done,
		Follows: &notify.Incident{Key: notify.DefaultLabel, ID: "wf-1:u-1"}})))
}

// TestRenderWithinLimits: names of any length, ids too long for a dedup_key and results
// of thousands of tasks still make events PagerDuty takes: the summary cut to 1024
// characters, the dedup_key a digest, the details cut below 512 KB — the counts whole.
func TestRenderWithinLimits(t *testing.T) {
	fake := pagerdutytest.New(pagerdutytest.Options{})
	defer fake.Close()
	n := newNotifier(t, testConfig(fake), nil)
	many := make([]events.TaskResult, 3000)
	for i := range many {
		many[i] = notifytest.FailedTask(fmt.Sprintf("Task %d", i), strings.Repeat("ü reason ", 300))
	}
	tests := []struct {
		name string
		r    notifytest.Result
	}{
		{"huge names", notifytest.Result{WorkflowName: strings.Repeat("Ω workflow ", 500), UserName: strings.Repeat("👩‍💻 name ", 500)}},
		{"long ids", notifytest.Result{WorkflowID: strings.Repeat("w", 200), UserID: strings.Repeat("u", 200)}},
		{"thousands of tasks", notifytest.Result{Tasks: many}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := notifytest.Event(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			raw := send(t, n, fake, &notify.Notification{Event: ev})
			got := fake.Events()[len(fake.Events())-1]
			if c := utf8.RuneCountInString(got.Payload.Summary); c > pagerdutytest.MaxSummary || !strings.Contains(got.Payload.Summary, "tasks failed") {
				t.Errorf("summary of %d characters %q; want at most %d, the counts kept", c, got.Payload.Summary[:min(80, len(got.Payload.Summary))], pagerdutytest.MaxSummary)
			}
			if len(got.DedupKey) > pagerdutytest.MaxDedupKey || len(raw) > pagerdutytest.MaxBody {
				t.Errorf("dedup_key of %d characters, body of %d bytes", len(got.DedupKey), len(raw))
			}
			if want := float64(len(tc.r.Tasks)); tc.r.Tasks != nil && got.Payload.CustomDetails["failedTaskCount"] != want {
				t.Errorf("failedTaskCount = %v, want %v", got.Payload.CustomDetails["failedTaskCount"], want)
			}
		})
	}
}

// TestKeys: PagerDuty takes failures, the completions that may resolve them and the
// four workflow changes; no other status, no action record, no digest.
func TestKeys(t *testing.T) {
	n := newNotifier(t, pagerduty.Config{RoutingKey: keyOncall}, nil)
	result := func(status string) *notify.Notification {
		ev, err := notifytest.Event(notifytest.Result{Status: status})
		if err != nil {
			t.Fatal(err)
		}
		return &notify.Notification{Event: ev}
	}
	change := func(c string) *notify.Notification {
		w, err := notifytest.WorkflowChange("wf-1", "Onboard", c, "2026-12-03T09:00:00Z")
		if err != nil {
			t.Fatal(err)
		}
		return &notify.Notification{Workflow: w}
	}
	failure := result("failed")
	action, _ := notifytest.ActionStep(failure.Event, events.ActionRequested, events.RerunFailedTasks, "U1", "C1", "1.2")
	for _, tc := range []struct {
		name string
		n    *notify.Notification
		want string
	}{
		{"failed", failure, notify.DefaultLabel},
		{"completedWithErrors", result("completedWithErrors"), notify.DefaultLabel},
		{"completed", result("completed"), notify.DefaultLabel},
		{"canceled", result("canceled"), ""},
		{"quarantined", change(events.ChangeQuarantined), notify.DefaultLabel},
		{"enabled", change(events.ChangeEnabled), notify.DefaultLabel},
		{"unknown change", change("renamed"), ""},
		{"action", &notify.Notification{Action: action}, ""},
		{"digest", &notify.Notification{Digest: &events.DigestEvent{}}, ""},
	} {
		if got := n.Key(tc.n); got != tc.want {
			t.Errorf("%s: Key = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestResolveThroughAGoneKey: the routing key a trigger went to is no longer configured;
// the resolve goes through the current one, with a warning that PagerDuty may drop it.
func TestResolveThroughAGoneKey(t *testing.T) {
	fake := pagerdutytest.New(pagerdutytest.Options{})
	defer fake.Close()
	logs := &notifytest.Buffer{}
	n := newNotifier(t, testConfig(fake), slog.New(slog.NewTextHandler(logs, nil)))
	done := notifytest.MustEvent(t, notifytest.Result{UserID: "u-1", Status: "completed"})
	send(t, n, fake, &notify.Notification{Event: done, Follows: &notify.Incident{Key: "route:gone", ID: "wf-1:u-1"}})
	if got := fake.Events()[0]; got.RoutingKey != keyOncall || got.Action != "resolve" {
		t.Errorf("sent %+v, want a resolve through the default key", got)
	}
	if !strings.Contains(logs.String(), "no longer configured") || strings.Contains(logs.String(), keyOncall) {
		t.Errorf("log %q: want the warning, without the routing key", logs.String())
	}
}
