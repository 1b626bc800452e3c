package watcher

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

func TestDiffState(t *testing.T) {
	at := func(min int) *time.Time { v := t0.Add(time.Duration(min) * time.Minute); return &v }
	yes, no := true, false
	q := func(typ string, since *time.Time) *graph.QuarantineDetails {
		return &graph.QuarantineDetails{QuarantineType: typ, QuarantinedDateTime: since}
	}
	free := q(graph.QuarantineNone, nil)
	wf := func(enabled *bool, qd *graph.QuarantineDetails, modified int) graph.Workflow {
		w := graph.Workflow{ID: "wf", QuarantineDetails: qd, LastModifiedDateTime: at(modified)}
		if enabled != nil {
			w.IsEnabled, w.IsEnabledKnown = *enabled, true
		}
		return w
	}
	rec := func(enabled *bool, typ, episode string) *wfRecord {
		r := &wfRecord{WorkflowID: "wf", Enabled: enabled, rev: 7}
		if typ != "" {
			r.Quarantine = &quarantineRecord{Type: typ, Episode: episode}
		}
		return r
	}
	ep := func(min int) string { return episodeTime(at(min)) }
	for _, tt := range []struct {
		name    string
		rec     *wfRecord
		wf      graph.Workflow
		changes []wfChange
		write   bool
	}{
		{"first sight, running", nil, wf(&yes, free, 0), nil, true},
		{"first sight, quarantined", nil, wf(&yes, q(graph.QuarantineCount, at(-5)), 0),
			[]wfChange{{events.ChangeQuarantined, ep(-5)}}, true},
		{"first sight, disabled", nil, wf(&no, free, -9), []wfChange{{events.ChangeDisabled, ep(-9)}}, true},
		{"first sight, quarantined and disabled", nil, wf(&no, q(graph.QuarantineMultiple, at(-5)), -9),
			[]wfChange{{events.ChangeQuarantined, ep(-5)}, {events.ChangeDisabled, ep(-9)}}, true},
		{"first sight, nothing usable", nil, wf(nil, nil, 0), nil, false},
		{"unchanged", rec(&yes, graph.QuarantineNone, ""), wf(&yes, free, 0), nil, false},
		{"enters quarantine", rec(&yes, graph.QuarantineNone, ""), wf(&yes, q(graph.QuarantineCount, at(1)), 0),
			[]wfChange{{events.ChangeQuarantined, ep(1)}}, true},
		{"an unknown type is a quarantine", rec(&yes, graph.QuarantineNone, ""), wf(&yes, q("manualHold", at(1)), 0),
			[]wfChange{{events.ChangeQuarantined, ep(1)}}, true},
		{"leaves quarantine: the release names it", rec(&yes, graph.QuarantineCount, ep(1)), wf(&yes, free, 0),
			[]wfChange{{events.ChangeReleased, ep(1)}}, true},
		{"released and quarantined again between polls", rec(&yes, graph.QuarantineCount, ep(1)),
			wf(&yes, q(graph.QuarantineCount, at(30)), 0),
			[]wfChange{{events.ChangeReleased, ep(1)}, {events.ChangeQuarantined, ep(30)}}, true},
		{"the same quarantine, another type", rec(&yes, graph.QuarantineCount, ep(1)),
			wf(&yes, q(graph.QuarantineMultiple, at(1)), 0), nil, true},
		{"an undated quarantine keeps its episode when the workflow is edited", rec(&yes, graph.QuarantineCount, undatedPrefix+ep(0)),
			wf(&yes, q(graph.QuarantineCount, nil), 50), nil, false},
		{"an undated quarantine learns its date: the same one", rec(&yes, graph.QuarantineCount, undatedPrefix+ep(0)),
			wf(&yes, q(graph.QuarantineCount, at(3)), 0), nil, false},
		{"quarantineDetails unusable: nothing changes", rec(&yes, graph.QuarantineCount, ep(1)), wf(&yes, nil, 0), nil, false},
		{"disabled", rec(&yes, graph.QuarantineNone, ""), wf(&no, free, 20), []wfChange{{events.ChangeDisabled, ep(20)}}, true},
		{"enabled", rec(&no, graph.QuarantineNone, ""), wf(&yes, free, 40), []wfChange{{events.ChangeEnabled, ep(40)}}, true},
		{"isEnabled unusable: nothing changes", rec(&yes, graph.QuarantineNone, ""), wf(nil, free, 40), nil, false},
		{"first usable isEnabled after unusable ones", rec(nil, graph.QuarantineNone, ""), wf(&no, free, 40),
			[]wfChange{{events.ChangeDisabled, ep(40)}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next, changes := diffState(tt.rec, tt.wf, t0)
			if !reflect.DeepEqual(changes, tt.changes) {
				t.Errorf("changes = %v, want %v", changes, tt.changes)
			}
			if (next != nil) != tt.write {
				t.Fatalf("record to write = %+v, want one: %v", next, tt.write)
			}
			if next != nil && tt.rec != nil && next.rev != tt.rec.rev {
				t.Errorf("rev %d, want the recorded %d (compare-and-set)", next.rev, tt.rec.rev)
			}
			if next != nil {
				// Once written, the same read changes nothing more.
				if again, more := diffState(next, tt.wf, t0.Add(time.Minute)); again != nil || more != nil {
					t.Errorf("the same read again: %+v, %v", again, more)
				}
			}
		})
	}
}

// TestQuarantineEnterAndLeave: a scheduled run over the workflow's threshold
// quarantines it; the watcher announces it once, then its release, which names the same
// episode, then a later quarantine as an event of its own.
func TestQuarantineEnterAndLeave(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Offboard leavers", 5)
	e.sim.SetQuarantineLimits(wf.ID, graphsim.QuarantineLimits{MaxUsers: 3})
	e.sim.SetScheduleHook(func(r graphsim.ScheduledRun) []graphsim.PlannedResult {
		var plans []graphsim.PlannedResult
		for _, id := range u {
			plans = append(plans, graphsim.PlannedResult{UserID: id})
		}
		return plans
	})
	w := e.watcher()
	e.poll(w)
	e.wantStates()

	e.clock.advance(3 * time.Hour) // the next scheduled run: five users, over the limit of three
	if st := e.sim.WorkflowState(wf.ID); st.QuarantineType != graphsim.QuarantineCount {
		t.Fatalf("simulator did not quarantine the workflow: %+v", st)
	}
	if st := e.poll(w); st.StateChanges != 1 {
		t.Errorf("stats %+v, want one state change", st)
	}
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantStates("Offboard leavers: quarantined")
	// The run's results wait queued while the workflow is quarantined.
	for _, ev := range e.events() {
		if r, _ := ev.Data.Result(); r.ProcessingStatus != events.StatusQueued {
			t.Errorf("result %s %s while its workflow is quarantined", r.ID, r.ProcessingStatus)
		}
	}
	q := e.workflowEvents()[0]
	got, err := q.Data.State.Quarantine()
	if err != nil || got.QuarantineType != graphsim.QuarantineCount || got.QuarantineReason == "" || got.QuarantinedDateTime == nil {
		t.Fatalf("quarantine in the event = %+v, %v", got, err)
	}
	if q.ID != events.WorkflowID(wf.ID, events.ChangeQuarantined, q.Data.Episode) || q.Data.TenantID != "tenant-1" ||
		q.Data.Workflow.Category != graphsim.CategoryLeaver || q.Source != e.graph.WorkflowURL(wf.ID) {
		t.Errorf("quarantined event = %+v", q)
	}

	e.clock.advance(time.Minute)
	e.sim.ReleaseQuarantine(wf.ID)
	e.poll(w)
	e.wantStates("Offboard leavers: quarantined", "Offboard leavers: released")
	if r := e.workflowEvents()[1]; r.Data.Episode != q.Data.Episode {
		t.Errorf("released episode %q, want the quarantine's %q", r.Data.Episode, q.Data.Episode)
	}

	e.clock.advance(time.Hour)
	e.sim.Quarantine(wf.ID, "someTypeAddedLater", "")
	e.poll(w)
	e.wantStates("Offboard leavers: quarantined", "Offboard leavers: released", "Offboard leavers: quarantined")
	e.noDuplicates()
}

func TestDisabledAndEnabled(t *testing.T) {
	e := newEnv(t)
	wf, _ := e.workflow("Onboard", 0)
	w := e.watcher()
	e.poll(w)
	e.clock.advance(time.Minute)
	e.sim.SetWorkflowEnabled(wf.ID, false)
	e.poll(w)
	e.clock.advance(time.Minute)
	e.poll(w)
	e.sim.SetWorkflowEnabled(wf.ID, true)
	e.poll(w)
	e.clock.advance(time.Minute)
	e.sim.SetWorkflowEnabled(wf.ID, false)
	e.poll(w)
	e.wantStates("Onboard: disabled", "Onboard: enabled", "Onboard: disabled")
	evs := e.workflowEvents()
	if evs[0].ID == evs[2].ID {
		t.Error("two disablings share an id")
	}
	if evs[0].Data.State.IsEnabled || !evs[1].Data.State.IsEnabled {
		t.Errorf("states %+v, %+v", evs[0].Data.State, evs[1].Data.State)
	}
	e.noDuplicates()
}

// TestFirstStartAnnouncesStoppedWorkflows: on the very first start a workflow already
// quarantined or disabled is announced — someone must know it is stopped — once, not
// again by a restarted process; a workflow that appears later already disabled too.
func TestFirstStartAnnouncesStoppedWorkflows(t *testing.T) {
	e := newEnv(t)
	a, _ := e.workflow("Quarantined", 0)
	b, _ := e.workflow("Disabled", 0)
	e.workflow("Running", 0)
	e.sim.Quarantine(a.ID, "", "")
	e.sim.SetWorkflowEnabled(b.ID, false)
	e.poll(e.watcher())
	e.wantStates("Quarantined: quarantined", "Disabled: disabled")

	e.clock.advance(time.Minute)
	e.poll(e.watcher()) // a restart
	e.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Created disabled", Disabled: true})
	e.clock.advance(time.Minute)
	e.poll(e.watcher())
	e.wantStates("Quarantined: quarantined", "Disabled: disabled", "Created disabled: disabled")
	e.noDuplicates()
}

// TestStateCrashBetweenPublishAndRecord: killed after the event is stored, before it is
// recorded: the next process publishes it again (absorbed) and records it.
func TestStateCrashBetweenPublishAndRecord(t *testing.T) {
	e := newEnv(t)
	wf, _ := e.workflow("Offboard", 0)
	w := e.watcher()
	e.poll(w)
	e.clock.advance(time.Minute)
	e.sim.Quarantine(wf.ID, "", "")
	crash(w)
	if _, err := w.Poll(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("poll = %v, want the crash", err)
	}
	e.wantStates("Offboard: quarantined")

	e.clock.advance(time.Minute)
	again := e.watcher()
	if st := e.poll(again); st.StateChanges != 0 || st.Duplicates != 1 {
		t.Errorf("after the crash: %+v, want the event absorbed as a duplicate", st)
	}
	e.clock.advance(time.Minute)
	if st := e.poll(again); st.StateChanges != 0 || st.Duplicates != 0 {
		t.Errorf("once recorded: %+v, want nothing", st)
	}
	e.sim.ReleaseQuarantine(wf.ID)
	e.poll(again)
	e.wantStates("Offboard: quarantined", "Offboard: released")
	e.noDuplicates()
}

func TestStateTwoWatchers(t *testing.T) {
	e := newEnv(t)
	wf, _ := e.workflow("Offboard", 0)
	a, b := e.watcher(), e.watcher()
	steps := []func(){
		func() { e.sim.Quarantine(wf.ID, "", "") },
		func() { e.sim.SetWorkflowEnabled(wf.ID, false) },
		func() { e.sim.ReleaseQuarantine(wf.ID) },
		func() { e.sim.SetWorkflowEnabled(wf.ID, true) },
	}
	for _, step := range steps {
		e.clock.advance(time.Minute)
		step()
		for range 2 { // a lost compare-and-set race fails a poll; the next one reloads
			var wg sync.WaitGroup
			for _, w := range []*Watcher{a, b} {
				wg.Go(func() { _, _ = w.Poll(context.Background()) })
			}
			wg.Wait()
		}
	}
	e.poll(a)
	e.poll(b)
	e.wantStates("Offboard: quarantined", "Offboard: disabled", "Offboard: released", "Offboard: enabled")
	e.noDuplicates()
}

func TestStateAcrossNATSRestart(t *testing.T) {
	e := newEnv(t)
	wf, _ := e.workflow("Offboard", 0)
	w := e.watcher()
	e.poll(w)

	// NATS restarts after the event is stored, before it is recorded.
	e.clock.advance(time.Minute)
	e.sim.Quarantine(wf.ID, "", "")
	w.afterPublish = func(string) error { e.srv.Restart(); return nil }
	if _, err := w.Poll(context.Background()); err != nil {
		t.Logf("poll across the restart: %v (retried at the next poll)", err)
	}
	w.afterPublish = nil
	e.reconnected()

	// NATS down for a whole poll: nothing is lost.
	e.clock.advance(time.Minute)
	e.sim.SetWorkflowEnabled(wf.ID, false)
	e.srv.Stop()
	if _, err := w.Poll(context.Background()); err == nil {
		t.Fatal("poll succeeded with NATS down")
	}
	e.srv.StartAgain()
	e.reconnected()
	e.clock.advance(time.Minute)
	e.poll(w)
	e.poll(w)
	e.wantStates("Offboard: quarantined", "Offboard: disabled")
	e.noDuplicates()
}

// TestMalformedQuarantineDetails: while Graph sends quarantineDetails the client cannot
// use, the watcher keeps the last state recorded and announces nothing, in either
// direction; once Graph sends it usable again, the change meanwhile is announced.
func TestMalformedQuarantineDetails(t *testing.T) {
	e := newEnv(t)
	var broken atomic.Bool
	details := regexp.MustCompile(`"quarantineDetails":\{[^}]*\}`)
	client := e.rewritten(func(r *http.Request, status int, body string) (int, string) {
		if broken.Load() {
			body = details.ReplaceAllString(body, `"quarantineDetails":{"quarantineType":42}`)
		}
		return status, body
	})
	quarantined, _ := e.workflow("Quarantined first", 0)
	running, _ := e.workflow("Running first", 0)
	e.sim.Quarantine(quarantined.ID, "", "")
	w := e.watcher(func(o *Options) { o.Graph = client })
	e.poll(w)
	e.wantStates("Quarantined first: quarantined")

	broken.Store(true)
	for range 3 {
		e.clock.advance(time.Minute)
		e.poll(w)
	}
	e.sim.ReleaseQuarantine(quarantined.ID)
	e.sim.Quarantine(running.ID, "", "")
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantStates("Quarantined first: quarantined")

	broken.Store(false)
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantStates("Quarantined first: quarantined", "Quarantined first: released", "Running first: quarantined")
}
