package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

func (e *env) publishKinded(msgs ...notifytest.Kinded) {
	e.t.Helper()
	if err := notifytest.PublishMessage(context.Background(), e.js, stream, prefix, msgs...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) result(r notifytest.Result) *events.Event {
	e.t.Helper()
	ev, err := notifytest.Event(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// root returns the one channel message (not a thread reply) that names who.
func (e *env) root(who string) slacktest.Message {
	e.t.Helper()
	var found []slacktest.Message
	for _, m := range e.fake.Messages() {
		if m.Thread == "" && strings.Contains(m.BlockText(), who) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("%d channel messages name %s, want 1", len(found), who)
	}
	return found[0]
}

// TestResolvedAfterFailure: a user's failure is posted; the same user's later success of
// the same workflow turns that message resolved and says so in its thread, once, naming
// the user as the failure did (a completion's event names the user by id only). A
// success that follows no failure posts nothing.
func TestResolvedAfterFailure(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: testInterval})
	e.run(e.js, e.notifier(testConfig(e.fake)))
	failure := e.result(notifytest.Result{ResultID: "upr-1", UserID: "u-alex", UserName: "Alex Wilber", Status: "failed"})
	e.publish(failure)
	notifytest.Eventually(t, "the failure posted", func() bool { return len(e.fake.Messages()) == 1 })

	// As the watcher publishes completions: the user by id alone.
	success := e.result(notifytest.Result{ResultID: "upr-2", UserID: "u-alex", Status: "completed", RunID: "run-2",
		Tasks: []events.TaskResult{notifytest.CompletedTask("Add user to groups")}})
	other := e.result(notifytest.Result{ResultID: "upr-3", UserID: "u-megan", UserName: "Megan Bowen", Status: "completed",
		Tasks: []events.TaskResult{notifytest.CompletedTask("Add user to groups")}})
	e.publish(other, success)
	notifytest.Eventually(t, "settled", e.drained())

	root := e.root("Alex Wilber")
	if root.Updates != 1 || !strings.Contains(root.BlockText(), "Resolved") || !strings.Contains(root.BlockText(), "Add user to groups") {
		t.Errorf("root after the success (%d updates):\n%s\nwant it updated once to resolved, the failure still shown", root.Updates, root.BlockText())
	}
	replies := e.fake.Thread(root.Channel, root.TS)
	if len(replies) != 1 || !strings.Contains(replies[0].BlockText(), "Resolved") || !strings.Contains(replies[0].BlockText(), "run-2") ||
		!strings.Contains(replies[0].BlockText(), "Alex Wilber") {
		t.Errorf("thread = %+v, want one reply naming the user and the run that resolved it", replies)
	}
	for _, m := range e.fake.Messages() {
		if strings.Contains(m.BlockText(), "Megan") {
			t.Errorf("a success that followed no failure was posted: %s", m.BlockText())
		}
	}
	if n := len(e.fake.Messages()); n != 2 {
		t.Errorf("%d messages, want the failure and the reply", n)
	}
}

// TestActionThenRerunOutcome: a re-run asked for from the failure's message shows on the
// message and in its thread; the re-run failing again is told in the thread (the message
// says still failing); its later success resolves the message.
func TestActionThenRerunOutcome(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: testInterval})
	e.run(e.js, e.notifier(testConfig(e.fake)))
	failure := e.result(notifytest.Result{ResultID: "upr-1", UserID: "u-alex", UserName: "Alex Wilber", Status: "failed"})
	e.publish(failure)
	notifytest.Eventually(t, "the failure posted", func() bool { return len(e.fake.Messages()) == 1 })
	root := e.root("Alex Wilber")

	requested, err := notifytest.ActionStep(failure, events.ActionRequested, events.RerunFailedTasks, "U0ONCALL1", root.Channel, root.TS)
	if err != nil {
		t.Fatal(err)
	}
	accepted, _ := notifytest.ActionStep(failure, events.ActionAccepted, events.RerunFailedTasks, "U0ONCALL1", root.Channel, root.TS)
	e.publishKinded(requested, accepted)
	notifytest.Eventually(t, "the request and Graph's answer in the thread", func() bool { return len(e.fake.Thread(root.Channel, root.TS)) == 2 })
	if m := e.root("Alex Wilber"); !strings.Contains(m.BlockText(), "Re-run of failed tasks requested by") || !strings.Contains(m.BlockText(), "<@U0ONCALL1>") {
		t.Errorf("root after the request:\n%s\nwant who asked for the re-run", m.BlockText())
	}

	again := e.result(notifytest.Result{ResultID: "upr-2", UserID: "u-alex", UserName: "Alex Wilber", Status: "failed",
		Tasks: []events.TaskResult{notifytest.FailedTask("Add user to groups", "Still no such group.")}})
	e.publish(again)
	notifytest.Eventually(t, "the failed re-run in the thread", func() bool { return len(e.fake.Thread(root.Channel, root.TS)) == 3 })
	if m := e.root("Alex Wilber"); !strings.Contains(m.BlockText(), "Still failing") {
		t.Errorf("root after the re-run failed:\n%s\nwant still failing", m.BlockText())
	}
	if th := e.fake.Thread(root.Channel, root.TS); !strings.Contains(th[2].BlockText(), "Still no such group.") {
		t.Errorf("the reply about the failed re-run lacks its reason: %s", th[2].BlockText())
	}

	success := e.result(notifytest.Result{ResultID: "upr-3", UserID: "u-alex", UserName: "Alex Wilber", Status: "completed",
		Tasks: []events.TaskResult{notifytest.CompletedTask("Add user to groups")}})
	e.publish(success)
	notifytest.Eventually(t, "settled", e.drained())
	if m := e.root("Alex Wilber"); !strings.Contains(m.BlockText(), "Resolved") {
		t.Errorf("root after the success:\n%s\nwant resolved", m.BlockText())
	}
	if th := e.fake.Thread(root.Channel, root.TS); len(th) != 4 {
		t.Errorf("%d replies, want 4: requested, accepted, failed again, resolved", len(th))
	}
	if n := len(e.fake.Messages()); n != 5 {
		t.Errorf("%d messages, want the root and four replies: a follow-up must never be a message of its own", n)
	}
}

// TestQuarantineThenRelease: a quarantine is a message of its own with the reason; the
// release updates it and replies in its thread.
func TestQuarantineThenRelease(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: testInterval})
	e.run(e.js, e.notifier(testConfig(e.fake)))
	q, err := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeQuarantined, "2026-12-03T09:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	e.publishKinded(q)
	notifytest.Eventually(t, "the quarantine posted", func() bool { return len(e.fake.Messages()) == 1 })
	root := e.root("quarantined")
	if !strings.Contains(root.BlockText(), "over the 10% threshold") || !strings.Contains(root.BlockText(), "percentageBasedThresholdExceeded") {
		t.Errorf("quarantine message lacks the reason or type:\n%s", root.BlockText())
	}
	rel, _ := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeReleased, "2026-12-03T09:00:00Z")
	e.publishKinded(rel)
	notifytest.Eventually(t, "settled", func() bool { return e.drained()() && len(e.fake.Thread(root.Channel, root.TS)) == 1 })
	if m, _ := e.fake.Message(root.Channel, root.TS); m.Updates != 1 || !strings.Contains(m.BlockText(), "Released") {
		t.Errorf("quarantine message after the release (%d updates):\n%s", m.Updates, m.BlockText())
	}
}

// TestDigestPerChannel: a digest goes to every channel, each naming the workflows routed
// to it, once.
func TestDigestPerChannel(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: testInterval})
	cfg := testConfig(e.fake)
	cfg.Routes = map[string]string{"leaver": "C0LEAVERS1"}
	e.run(e.js, e.notifier(cfg))
	dg := digest(t)
	e.publishKinded(dg)
	e.publishKinded(dg) // published twice: stored once
	notifytest.Eventually(t, "settled", e.drained())
	msgs := e.fake.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want one per channel", len(msgs))
	}
	for _, m := range msgs {
		text := m.BlockText()
		switch m.Channel {
		case "C0LEAVERS1":
			if !strings.Contains(text, "Offboard leavers") || strings.Contains(text, "Onboard joiners") || !strings.Contains(text, "Still unresolved (1)") {
				t.Errorf("leavers' digest:\n%s", text)
			}
		case "C0ALERTS01":
			if !strings.Contains(text, "Onboard joiners") || strings.Contains(text, "Offboard leavers") {
				t.Errorf("default channel's digest:\n%s", text)
			}
		default:
			t.Errorf("digest posted to %s", m.Channel)
		}
	}
}

// TestThreadReplyReadBack: the answer to a reply in a thread is lost; the next attempt
// finds the reply in the thread and does not post it again.
func TestThreadReplyReadBack(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: testInterval})
	e.run(e.js, e.notifier(testConfig(e.fake)))
	failure := e.result(notifytest.Result{ResultID: "upr-1", UserID: "u-alex", UserName: "Alex Wilber", Status: "failed"})
	e.publish(failure)
	notifytest.Eventually(t, "the failure posted", func() bool { return len(e.fake.Messages()) == 1 })
	root := e.root("Alex Wilber")
	e.fake.FailNextPosts(1, httpfake.Fault{Status: 500, Accepted: true})
	accepted, _ := notifytest.ActionStep(failure, events.ActionAccepted, events.RerunFailedTasks, "U0ONCALL1", root.Channel, root.TS)
	e.publishKinded(accepted)
	notifytest.Eventually(t, "settled", e.drained())
	if th := e.fake.Thread(root.Channel, root.TS); len(th) != 1 {
		t.Errorf("%d replies, want 1: the reply Slack took despite its 500 is found, not posted again", len(th))
	}
}

func digest(t *testing.T) *events.DigestEvent {
	t.Helper()
	p := events.Period{Start: mustTime(t, "2026-12-02T09:00:00Z"), End: mustTime(t, "2026-12-03T09:00:00Z"), Schedule: "daily@09:00", TimeZone: "UTC"}
	ev, err := events.NewDigestEvent("https://graph.microsoft.com", p.End, events.DigestData{Period: p, Workflows: []events.WorkflowDigest{
		{Workflow: events.Workflow{ID: "wf-j", DisplayName: "Onboard joiners", Category: "joiner"}, State: events.WorkflowState{IsEnabled: true},
			Users: events.UserCounts{Processed: 40, Succeeded: 40}},
		{Workflow: events.Workflow{ID: "wf-l", DisplayName: "Offboard leavers", Category: "leaver"}, State: events.WorkflowState{IsEnabled: true},
			Users:      events.UserCounts{Processed: 12, Succeeded: 10, Failed: 1, CompletedWithErrors: 1},
			TopReasons: []events.ReasonCount{{Task: "Remove licenses", Reason: "License not assigned", Count: 2}},
			Unresolved: []events.Unresolved{{ResultID: "r-1", User: events.User{ID: "u1", DisplayName: "Adele Vance"}, Status: "failed"}}, UnresolvedTotal: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
