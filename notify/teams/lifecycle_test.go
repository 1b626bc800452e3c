package teams_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/teamstest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// TestResolvedAfterFailure: a failure's card, then a short resolved card for the same
// user's completion; a completion that follows no failure posts nothing.
func TestResolvedAfterFailure(t *testing.T) {
	e := newEnv(t, testFake())
	e.run(testConfig(e.fake.Webhook("default")))
	e.publish(e.result(notifytest.Result{ResultID: "upr-1", UserID: "u-alex", UserName: "Alex Wilber"}))
	notifytest.Eventually(t, "the failure posted", func() bool { return len(e.fake.Cards()) == 1 })
	done := []events.TaskResult{notifytest.CompletedTask("Add user to groups")}
	e.publish(
		e.result(notifytest.Result{ResultID: "upr-3", UserID: "u-megan", UserName: "Megan Bowen", Status: "completed", Tasks: done}),
		e.result(notifytest.Result{ResultID: "upr-2", UserID: "u-alex", UserName: "Alex Wilber", Status: "completed", RunID: "run-2", Tasks: done}),
	)
	notifytest.Eventually(t, "settled", e.drained())
	cards := e.fake.Cards()
	if len(cards) != 2 {
		t.Fatalf("%d cards, want the failure and its resolution", len(cards))
	}
	if got := cards[1].Text(); !strings.Contains(got, "Resolved") || !strings.Contains(got, "Alex Wilber") || !strings.Contains(got, "run-2") || strings.Contains(got, "Megan") {
		t.Errorf("resolution card:\n%s\nwant Alex's resolution by run-2 only", got)
	}
}

// TestQuarantineThenReleased: a quarantine is a card with its reason and type; the
// release another.
func TestQuarantineThenReleased(t *testing.T) {
	e := newEnv(t, testFake())
	e.run(testConfig(e.fake.Webhook("default")))
	q, err := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeQuarantined, "2026-12-03T09:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	e.publishKinded(q)
	notifytest.Eventually(t, "the quarantine posted", func() bool { return len(e.fake.Cards()) == 1 })
	rel, _ := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeReleased, "2026-12-03T09:00:00Z")
	e.publishKinded(rel)
	notifytest.Eventually(t, "settled", func() bool { return e.drained()() && len(e.fake.Cards()) == 2 })
	cards := e.fake.Cards()
	if got := cards[0].Text(); !strings.Contains(got, "quarantined") || !strings.Contains(got, "10% threshold") || !strings.Contains(got, "percentageBasedThresholdExceeded") {
		t.Errorf("quarantine card:\n%s", got)
	}
	if got := cards[1].Text(); !strings.Contains(got, "released") {
		t.Errorf("release card:\n%s", got)
	}
	if len(cards[0].Actions) != 1 || !strings.Contains(cards[0].Actions[0].URL, "wf-leaver") {
		t.Errorf("actions = %+v; want one opening the workflow in the admin center", cards[0].Actions)
	}
}

// TestRoutesAndDigest: a leaver's failure goes to the leavers' webhook, a joiner's to
// the default; the digest goes to both, each naming its own workflows.
func TestRoutesAndDigest(t *testing.T) {
	e := newEnv(t, testFake())
	cfg := testConfig(e.fake.Webhook("default"))
	cfg.Routes = map[string]string{"leaver": e.fake.Webhook("leavers")}
	e.run(cfg)
	e.publish(
		e.result(notifytest.Result{WorkflowID: "wf-l", Category: "leaver", ResultID: "upr-1", UserName: "Leaving User"}),
		e.result(notifytest.Result{WorkflowID: "wf-j", Category: "joiner", ResultID: "upr-2", UserName: "Joining User"}),
	)
	e.publishKinded(digest(t))
	notifytest.Eventually(t, "settled", e.drained())
	leavers, def := e.fake.Cards("leavers"), e.fake.Cards("default")
	if len(leavers) != 2 || len(def) != 2 {
		t.Fatalf("%d cards to the leavers, %d to the default; want a failure and a digest each", len(leavers), len(def))
	}
	var lt, dt string
	for _, c := range leavers {
		lt += c.Text()
	}
	for _, c := range def {
		dt += c.Text()
	}
	if !strings.Contains(lt, "Leaving User") || strings.Contains(lt, "Joining User") || !strings.Contains(lt, "Offboard leavers") || strings.Contains(lt, "Onboard joiners") {
		t.Errorf("the leavers' cards:\n%s", lt)
	}
	if !strings.Contains(dt, "Joining User") || strings.Contains(dt, "Leaving User") || !strings.Contains(dt, "Onboard joiners") || strings.Contains(dt, "Offboard leavers") {
		t.Errorf("the default's cards:\n%s", dt)
	}
}

// TestBurstGrouped: 350 failures at once reach the channel in a few cards that list
// every user, within the size limit, without a request inside a Retry-After.
func TestBurstGrouped(t *testing.T) {
	e := newEnv(t, testFake())
	e.run(testConfig(e.fake.Webhook("default")))
	evs, err := notifytest.OffboardingBurst()
	if err != nil {
		t.Fatal(err)
	}
	e.publish(evs...)
	notifytest.Eventually(t, "settled", e.drained())
	cards := e.fake.Cards()
	if len(cards) > 20 {
		t.Errorf("%d cards for %d failures, want a few", len(cards), len(evs))
	}
	count := countUser(e.fake)
	for _, ev := range evs {
		if got := count(ev); got != 1 {
			t.Errorf("%s listed in %d cards, want 1", ev.Data.User.DisplayName, got)
		}
	}
	for _, c := range cards {
		if c.Bytes > 24000 {
			t.Errorf("a card of %d bytes", c.Bytes)
		}
	}
	if st := e.fake.Stats(); st.Violations > 0 || st.Refused > 0 {
		t.Errorf("fake saw %+v", st)
	}
}

// TestRefusedCardSplit: a grouped card Teams refuses for its size is sent again in
// halves; every failure still arrives, none is dead-lettered. The fake takes less than
// lcwnotify's budget, so that a card of several failures is too large for it and one of
// a single failure is not.
func TestRefusedCardSplit(t *testing.T) {
	e := newEnv(t, teamstest.New(teamstest.Options{Limit: -1, MaxBytes: 2000}))
	cfg := testConfig(e.fake.Webhook("default"))
	cfg.Interval = 500 * time.Millisecond // long enough for the eight to queue behind the first
	e.run(cfg)
	e.publish(e.result(notifytest.Result{ResultID: "upr-0", UserName: "First User"}))
	notifytest.Eventually(t, "the first card", func() bool { return len(e.fake.Cards()) == 1 })
	var evs []*events.Event
	for i := range 8 {
		evs = append(evs, e.result(notifytest.Result{ResultID: fmt.Sprintf("upr-%d", i+1), UserName: fmt.Sprintf("Grouped User %d", i+1)}))
	}
	e.publish(evs...)
	notifytest.Eventually(t, "settled", e.drained())
	for _, ev := range evs {
		if got := countUser(e.fake)(ev); got != 1 {
			t.Errorf("%s in %d cards, want 1", ev.Data.User.DisplayName, got)
		}
	}
	if st := e.fake.Stats(); st.TooLarge == 0 {
		t.Errorf("fake saw %+v: want a card refused as too large first", st)
	}
	if dls, _ := notifytest.DeadLetters(t, e.js, stream, prefix, "teams"); len(dls) != 0 {
		t.Errorf("%d dead letters, want none", len(dls))
	}
}

// TestThrottledThenDelivered: a webhook throttled by others' traffic answers 429 with
// Retry-After; nothing is lost, nothing is sent inside the window.
func TestThrottledThenDelivered(t *testing.T) {
	e := newEnv(t, teamstest.New(teamstest.Options{Limit: -1}))
	e.fake.FailNext(2, httpfake.Fault{Status: 429, RetryAfter: "1"})
	e.run(testConfig(e.fake.Webhook("default")))
	ev := e.result(notifytest.Result{UserName: "Throttled User"})
	e.publish(ev)
	notifytest.Eventually(t, "settled", e.drained())
	if got := countUser(e.fake)(ev); got != 1 {
		t.Errorf("delivered %d times, want 1", got)
	}
}
