package status_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/status"
	"github.com/lcwnotify/lcwnotify/internal/status/statustest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	return &env{statustest.New(t)}
}

type env struct{ *statustest.Env }

func (e *env) report(f status.Filter) *status.Report {
	e.T.Helper()
	rep, err := e.Reader.Report(context.Background(), f)
	if err != nil {
		e.T.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		e.T.Errorf("problems: %v", rep.Problems)
	}
	return rep
}

// TestReportShowsWhereFailuresWent: every failure is listed with its destination's
// channel, message and permalink; a success of the same user turns it resolved; the
// filter narrows the list; a dead letter is listed and replays once.
func TestReportShowsWhereFailuresWent(t *testing.T) {
	e := newEnv(t)
	alex := e.Event(notifytest.Result{ResultID: "upr-1", UserID: "u-alex", UserName: "Alex Wilber", UPN: "alex@contoso.example"})
	megan := e.Event(notifytest.Result{WorkflowID: "wf-2", WorkflowName: "Offboard leavers", Category: "leaver", ResultID: "upr-2",
		UserID: "u-megan", UserName: "Megan Bowen", Status: "completedWithErrors"})
	e.Publish(alex, megan)
	notifytest.Eventually(t, "both posted", e.Drained())

	rep := e.report(status.Filter{})
	if rep.Failures.Matching != 2 || len(rep.Failures.Items) != 2 {
		t.Fatalf("failures = %d listed of %d, want 2", len(rep.Failures.Items), rep.Failures.Matching)
	}
	for _, f := range rep.Failures.Items {
		if f.State != status.StateNotified || len(f.Deliveries) != 1 {
			t.Errorf("%s: state %q, deliveries %+v, want notified at slack", f.User, f.State, f.Deliveries)
			continue
		}
		d := f.Deliveries[0]
		if d.Sink != "slack" || d.Key != statustest.Channel || d.MessageID == "" ||
			d.Link != "https://fake.slack.example/archives/C0ALERTS01/p"+strings.Replace(d.MessageID, ".", "", 1) {
			t.Errorf("%s: delivery %+v, want the channel, the ts and its permalink", f.User, d)
		}
	}

	for _, tc := range []struct {
		name string
		f    status.Filter
		want []string
	}{
		{"workflow", status.Filter{Workflow: "wf-2"}, []string{"Megan Bowen"}},
		{"category", status.Filter{Category: "JOINER"}, []string{"Alex Wilber"}},
		{"user by upn", status.Filter{User: "ALEX@contoso"}, []string{"Alex Wilber"}},
		{"status", status.Filter{Status: "completedWithErrors"}, []string{"Megan Bowen"}},
		{"state", status.Filter{State: status.StateResolved}, nil},
		{"nothing", status.Filter{User: "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range e.report(tc.f).Failures.Items {
				got = append(got, f.User)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	done := e.Event(notifytest.Result{ResultID: "upr-3", UserID: "u-alex", UserName: "Alex Wilber", Status: "completed",
		Tasks: []events.TaskResult{notifytest.CompletedTask("Add user to groups")}})
	e.Publish(done)
	notifytest.Eventually(t, "alex resolved", func() bool {
		items := e.report(status.Filter{State: status.StateResolved}).Failures.Items
		return len(items) == 1 && items[0].User == "Alex Wilber"
	})
}

// TestDeadLetterReplaysOnce: a failure Slack refuses is dead-lettered and listed; once
// the cause is fixed, a replay posts it once, and a second replay posts nothing more.
func TestDeadLetterReplaysOnce(t *testing.T) {
	e := newEnv(t)
	e.Slack.SetChannelError(statustest.Channel, "channel_not_found")
	ev := e.Event(notifytest.Result{ResultID: "upr-9", UserID: "u-adele", UserName: "Adele Vance"})
	e.Publish(ev)
	var dl status.DeadLetter
	notifytest.Eventually(t, "the dead letter", func() bool {
		rep := e.report(status.Filter{})
		if len(rep.DeadLetters) != 1 {
			return false
		}
		dl = rep.DeadLetters[0]
		return true
	})
	if dl.Sink != "slack" || dl.EventID != ev.ID || dl.Reason == "" || !strings.Contains(dl.Error, "channel_not_found") ||
		!dl.Replayable || dl.User != "Adele Vance" || dl.Replayed != nil {
		t.Errorf("dead letter %+v", dl)
	}
	if f := e.report(status.Filter{}).Failures.Items[0]; f.State != status.StateDeadLettered {
		t.Errorf("state of the dead-lettered failure = %q", f.State)
	}

	e.Slack.SetChannelError(statustest.Channel, "")
	before := len(e.Slack.Messages())
	for i, want := range []string{status.ReplaySent, status.ReplayAlready} {
		out, err := e.Reader.ReplayDeadLetters(context.Background(), []string{dl.ID}, false, statustest.Replayer{D: e.D}, nil)
		if err != nil || len(out) != 1 || out[0].Result != want {
			t.Fatalf("replay %d = %+v, %v; want %s", i+1, out, err, want)
		}
	}
	if got := len(e.Slack.Messages()) - before; got != 1 {
		t.Errorf("Slack got %d messages from two replays, want 1", got)
	}
	rep := e.report(status.Filter{})
	if rep.DeadLetters[0].Replayed == nil || rep.Failures.Items[0].State != status.StateNotified {
		t.Errorf("after the replay: dead letter %+v, failure state %q", rep.DeadLetters[0], rep.Failures.Items[0].State)
	}
	if out, _ := e.Reader.ReplayDeadLetters(context.Background(), []string{"slack-999999"}, false, statustest.Replayer{D: e.D}, nil); len(out) != 1 || out[0].Result != status.ReplayUnknown {
		t.Errorf("replay of an unknown dead letter = %+v", out)
	}
}

// TestReplayPeriod: a dry run lists the period's failures and sends nothing; the replay
// sends each once more, grouped; run again under the same name it sends nothing.
func TestReplayPeriod(t *testing.T) {
	e := newEnv(t)
	evs, err := notifytest.Burst("wf-3", "Offboard contractors", "Contractor", 5)
	if err != nil {
		t.Fatal(err)
	}
	e.Publish(evs...)
	notifytest.Eventually(t, "posted", e.Drained())
	sent := len(e.Slack.Messages())
	count := func() int {
		n := 0
		for _, m := range e.Slack.Messages() {
			n += strings.Count(m.BlockText(), "Contractor 0")
		}
		return n
	}
	named := count()

	p := status.PeriodReplay{Since: time.Now().Add(-time.Hour), To: "slack", DryRun: true}
	res, err := e.Reader.ReplayPeriod(context.Background(), p, statustest.Replayer{D: e.D}, nil)
	if err != nil || len(res.Failures) != 5 || len(e.Slack.Messages()) != sent {
		t.Fatalf("dry run = %d failures, %v; %d messages, want 5 listed and none sent", len(res.Failures), err, len(e.Slack.Messages())-sent)
	}
	p.DryRun, p.Name = false, "r-test"
	var progress int
	res, err = e.Reader.ReplayPeriod(context.Background(), p, statustest.Replayer{D: e.D}, func(done, total int) { progress = max(progress, done) })
	if err != nil || res.Counts[status.ReplaySent] != 5 || progress != 5 {
		t.Fatalf("replay = %+v, %v (progress %d), want 5 sent", res, err, progress)
	}
	if got := count() - named; got != 5 {
		t.Errorf("the replay named the users %d times, want 5", got)
	}
	res, err = e.Reader.ReplayPeriod(context.Background(), p, statustest.Replayer{D: e.D}, nil)
	if err != nil || res.Counts[status.ReplayAlready] != 5 || count()-named != 5 {
		t.Errorf("the same replay again = %+v, %v, want 5 already sent and nothing posted", res.Counts, err)
	}
	if _, err := e.Reader.ReplayPeriod(context.Background(), status.PeriodReplay{Since: time.Now().Add(-time.Hour), To: "pagerduty", Name: "x"}, statustest.Replayer{D: e.D}, nil); err == nil {
		t.Error("a replay to a destination that is not here did not fail")
	}
}
