package pagerduty_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/pagerdutytest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// TestTriggerThenResolve: a user's failure triggers an alert keyed <workflowId>:<subjectId>;
// the same user's later completion of the workflow resolves it with the same key. A
// completion that follows no failure sends nothing.
func TestTriggerThenResolve(t *testing.T) {
	e := newEnv(t, pagerdutytest.Options{Keys: []string{keyOncall}})
	e.run(testConfig(e.fake))
	failure := e.result(notifytest.Result{ResultID: "upr-1", UserID: "u-alex", UserName: "Alex Wilber", RunID: "run-1", Status: "failed"})
	e.publish(failure)
	notifytest.Eventually(t, "the alert triggered", func() bool { return len(e.fake.Alerts()) == 1 })

	a, ok := e.fake.Alert(keyOncall, "wf-1:u-alex")
	if !ok || a.Resolved || a.Severity != "error" {
		t.Fatalf("alert = %+v, %v; want an open error alert wf-1:u-alex", a, ok)
	}
	ev := e.fake.Events()[0]
	p := ev.Payload
	for _, want := range []string{"Lifecycle workflow failed", "Alex Wilber", "Onboard new hires", "1 of 2 tasks failed"} {
		if !strings.Contains(p.Summary, want) {
			t.Errorf("summary %q lacks %q", p.Summary, want)
		}
	}
	if p.Component != "Add user to groups" || p.Class != "failed" || !strings.Contains(p.Source, "/workflows/wf-1") {
		t.Errorf("payload = %+v; want the failed task as component, the status as class, the workflow as source", p)
	}
	tasks, _ := p.CustomDetails["failedTasks"].([]any)
	if len(tasks) != 1 || p.CustomDetails["runId"] != "run-1" || p.CustomDetails["resultId"] != "upr-1" {
		t.Errorf("custom_details = %v; want the failed task, the run id and the result id", p.CustomDetails)
	}
	if len(ev.Links) != 2 || !strings.Contains(ev.Links[0].Href, "entra.microsoft.com") || !strings.Contains(ev.Links[1].Href, "u-alex") {
		t.Errorf("links = %+v; want the workflow and the user in the admin center", ev.Links)
	}

	other := e.result(completed("upr-3", "u-megan"))
	resolution := e.result(completed("upr-2", "u-alex"))
	e.publish(other, resolution)
	notifytest.Eventually(t, "settled", e.drained())
	notifytest.Eventually(t, "resolved", func() bool { a, _ := e.fake.Alert(keyOncall, "wf-1:u-alex"); return a.Resolved })
	evs := e.fake.Events()
	if len(evs) != 2 || evs[1].Action != "resolve" || evs[1].DedupKey != "wf-1:u-alex" {
		t.Errorf("events = %+v; want the trigger and one resolve with its dedup_key, nothing for the other user", evs)
	}
}

// TestRetriedTriggerIsOneAlert: the answer to a trigger is lost, the trigger is sent
// again, and PagerDuty still holds one alert — exactly once in effect.
func TestRetriedTriggerIsOneAlert(t *testing.T) {
	e := newEnv(t, pagerdutytest.Options{})
	e.fake.FailNext(1, httpfake.Fault{LoseResponse: true})
	e.run(testConfig(e.fake))
	e.publish(e.result(notifytest.Result{ResultID: "upr-1", UserID: "u-alex"}))
	notifytest.Eventually(t, "settled", e.drained())
	alerts := e.fake.Alerts()
	if len(alerts) != 1 || alerts[0].Triggers != 2 {
		t.Errorf("alerts = %+v; want one alert that took both triggers", alerts)
	}
}

// TestQuarantineCriticalThenReleased: a quarantine triggers a critical alert of the
// workflow; its release resolves it. Disabling is a warning that enabling resolves.
func TestQuarantineCriticalThenReleased(t *testing.T) {
	e := newEnv(t, pagerdutytest.Options{})
	e.run(testConfig(e.fake))
	q, err := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeQuarantined, "2026-12-03T09:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeDisabled, "2026-12-03T10:00:00Z")
	e.publishKinded(q, d)
	notifytest.Eventually(t, "two alerts", func() bool { return len(e.fake.Alerts()) == 2 })
	qa, _ := e.fake.Alert(keyOncall, "wf-leaver:quarantine")
	da, _ := e.fake.Alert(keyOncall, "wf-leaver:disabled")
	if qa.Severity != "critical" || !strings.Contains(qa.Summary, "quarantined") || da.Severity != "warning" {
		t.Errorf("quarantine %+v, disabled %+v; want critical and warning", qa, da)
	}
	for _, ev := range e.fake.Events() {
		if ev.DedupKey == "wf-leaver:quarantine" && !strings.Contains(ev.Payload.CustomDetails["reason"].(string), "10% threshold") {
			t.Errorf("the quarantine's details lack its reason: %v", ev.Payload.CustomDetails)
		}
	}
	rel, _ := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeReleased, "2026-12-03T09:00:00Z")
	en, _ := notifytest.WorkflowChange("wf-leaver", "Offboard leavers", events.ChangeEnabled, "2026-12-03T10:00:00Z")
	e.publishKinded(rel, en)
	notifytest.Eventually(t, "both resolved", func() bool {
		for _, a := range e.fake.Alerts() {
			if !a.Resolved {
				return false
			}
		}
		return true
	})
}

// TestSeverities: completedWithErrors is a warning unless LCW_PAGERDUTY_SEVERITY says
// otherwise, which then holds for every failure.
func TestSeverities(t *testing.T) {
	for _, tc := range []struct {
		name, setting, status, want string
	}{
		{"failed by default", "", "failed", "error"},
		{"completedWithErrors by default", "", "completedWithErrors", "warning"},
		{"set", "critical", "completedWithErrors", "critical"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pagerdutytest.Options{})
			cfg := testConfig(e.fake)
			cfg.Severity = tc.setting
			e.run(cfg)
			e.publish(e.result(notifytest.Result{Status: tc.status}))
			notifytest.Eventually(t, "triggered", func() bool { return len(e.fake.Alerts()) == 1 })
			if got := e.fake.Alerts()[0].Severity; got != tc.want {
				t.Errorf("severity = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRoutesResolveWhereTheyTriggered: a leaver workflow pages the leavers' service, and
// its resolution reaches the same routing key (PagerDuty drops a resolve sent through
// another).
func TestRoutesResolveWhereTheyTriggered(t *testing.T) {
	e := newEnv(t, pagerdutytest.Options{Keys: []string{keyOncall, keyLeavers}})
	cfg := testConfig(e.fake)
	cfg.Routes = map[string]string{"leaver": keyLeavers}
	e.run(cfg)
	e.publish(
		e.result(notifytest.Result{WorkflowID: "wf-l", Category: "leaver", ResultID: "upr-1", UserID: "u-1"}),
		e.result(notifytest.Result{WorkflowID: "wf-j", Category: "joiner", ResultID: "upr-2", UserID: "u-2"}),
	)
	notifytest.Eventually(t, "two alerts", func() bool { return len(e.fake.Alerts()) == 2 })
	if _, ok := e.fake.Alert(keyLeavers, "wf-l:u-1"); !ok {
		t.Error("the leaver's failure did not page the leavers' service")
	}
	if _, ok := e.fake.Alert(keyOncall, "wf-j:u-2"); !ok {
		t.Error("the joiner's failure did not page the default service")
	}
	e.publish(e.result(notifytest.Result{WorkflowID: "wf-l", Category: "leaver", ResultID: "upr-3", UserID: "u-1", Status: "completed",
		Tasks: []events.TaskResult{notifytest.CompletedTask("Remove licences")}}))
	notifytest.Eventually(t, "resolved at the leavers' service", func() bool { a, _ := e.fake.Alert(keyLeavers, "wf-l:u-1"); return a.Resolved })
}

// TestRateLimitedThenDelivered: past PagerDuty's limit every event waits out the 429 and
// goes again; none is lost or dead-lettered.
func TestRateLimitedThenDelivered(t *testing.T) {
	e := newEnv(t, pagerdutytest.Options{Limit: 3, Window: 300 * time.Millisecond})
	cfg := testConfig(e.fake)
	cfg.Interval, cfg.Burst = time.Millisecond, 20 // faster than the fake allows
	e.run(cfg)
	evs, err := notifytest.Burst("wf-1", "Offboard", "User", 12)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(evs...)
	notifytest.Eventually(t, "settled", e.drained())
	if st := e.fake.Stats(); st.RateLimited == 0 || len(e.fake.Alerts()) != len(evs) {
		t.Errorf("stats %+v, %d alerts; want 429s and still an alert per failure", st, len(e.fake.Alerts()))
	}
	if dls := e.deadLetters(); len(dls) != 0 {
		t.Errorf("%d dead letters after rate limiting, want none", len(dls))
	}
}

// TestRefusedEventDeadLettered: a 400 dead-letters the event with PagerDuty's message,
// and never the routing key; a routing key PagerDuty does not know says so.
func TestRefusedEventDeadLettered(t *testing.T) {
	for _, tc := range []struct {
		name       string
		keys       []string
		fault      bool
		wantReason string
		wantText   string
	}{
		{"invalid event", nil, true, "invalid_event", "Event object is invalid: 'payload.source' is missing"},
		{"unknown routing key", []string{keyLeavers}, false, "invalid_routing_key", "Invalid routing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, pagerdutytest.Options{Keys: tc.keys})
			if tc.fault {
				e.fake.FailNext(1, httpfake.Fault{Status: 400, Error: "'payload.source' is missing or blank " + keyOncall})
			}
			e.run(testConfig(e.fake))
			e.publish(e.result(notifytest.Result{}))
			var dls []notify.DeadLetter
			notifytest.Eventually(t, "a dead letter", func() bool { dls = e.deadLetters(); return len(dls) == 1 })
			if dls[0].Reason != tc.wantReason || !strings.Contains(dls[0].Error, tc.wantText) {
				t.Errorf("dead letter %+v; want reason %s and %q", dls[0], tc.wantReason, tc.wantText)
			}
		})
	}
}
