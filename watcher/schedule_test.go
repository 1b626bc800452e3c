package watcher

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// adaptive is an env whose simulator and watchers run on one simulated clock, with Run
// scheduling the polls: 60 s idle, 5 s active.
type adaptive struct {
	*env
	sc  *simClock
	reg *prometheus.Registry
}

func newAdaptive(t testing.TB) *adaptive {
	t.Helper()
	sc := newSimClock(t0)
	e := newEnvOn(t, nil, graphsim.Options{Now: sc.Now, Seed: 1, PageSize: 50})
	return &adaptive{env: e, sc: sc}
}

// start runs a watcher under Run on the simulated clock and returns once its first poll
// is done and it waits for the clock.
func (a *adaptive) start(mod ...func(*Options)) *running {
	a.t.Helper()
	a.reg = prometheus.NewRegistry()
	w := a.watcher(append([]func(*Options){func(o *Options) {
		o.Clock = a.sc
		o.Instance = "adaptive"
		o.PollInterval = time.Minute
		o.ActiveInterval = 5 * time.Second
		o.Metrics = NewMetrics(a.reg)
	}}, mod...)...)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	a.t.Cleanup(func() { r.stop(a.t) })
	eventually(a.t, "the first poll", func() bool { return !w.LastSuccess().IsZero() })
	a.sc.settle(a.t, 2)
	return r
}

// until plays the simulated clock to t.
func (a *adaptive) until(t time.Time) {
	a.t.Helper()
	a.sc.runUntil(a.t, 2, t, nil, nil)
}

// schedule returns the schedule of workflow id.
func schedule(t testing.TB, w *Watcher, id string) WorkflowSchedule {
	t.Helper()
	for _, s := range w.Schedule() {
		if s.WorkflowID == id {
			return s
		}
	}
	t.Fatalf("workflow %s not in the schedule %+v", id, w.Schedule())
	return WorkflowSchedule{}
}

func wantMode(t testing.TB, w *Watcher, id string, mode PollMode, reason string) {
	t.Helper()
	if s := schedule(t, w, id); s.Mode != mode || s.Reason != reason {
		t.Errorf("at %s: workflow mode %s (%s), want %s (%s)", w.now().Format(time.TimeOnly), s.Mode, s.Reason, mode, reason)
	}
}

// latency returns, for the event announcing that result id entered status, the time
// from its completedDateTime (when Graph first serves it: the simulator has no
// reporting lag) to the watcher observing and publishing it.
func (e *env) latency(id, status string) time.Duration {
	e.t.Helper()
	for _, ev := range e.events() {
		r, _ := ev.Data.Result()
		if r.ID == id && r.ProcessingStatus == status && r.CompletedDateTime != nil {
			return ev.Time.Sub(*r.CompletedDateTime)
		}
	}
	e.t.Fatalf("no event of %s entering %s", id, status)
	return 0
}

// TestScheduledRunIsPolledActively: idle until a little before the workflow's next
// scheduled run, active from then while the run's results are not final, idle again
// once they are; the failure is published within the active interval.
func TestScheduledRunIsPolledActively(t *testing.T) {
	a := newAdaptive(t)
	wf := a.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Leavers", Category: graphsim.CategoryLeaver, ScheduleOffset: 10 * time.Minute})
	users := a.sim.AddUsers(2)
	a.sim.SetScheduleHook(func(graphsim.ScheduledRun) []graphsim.PlannedResult {
		return []graphsim.PlannedResult{
			{UserID: users[0].ID, Outcome: graphsim.Outcome{Status: events.StatusFailed, StartAfter: 10 * time.Second, Duration: 2 * time.Minute}},
			{UserID: users[1].ID, Outcome: graphsim.Outcome{StartAfter: 20 * time.Second, Duration: 4 * time.Minute}},
		}
	})
	due := t0.Add(10 * time.Minute) // 12:10, the first tick of the 3-hour schedule
	r := a.start()
	w := r.w

	s := schedule(t, w, wf.ID)
	if s.NextScheduledRun == nil || !s.NextScheduledRun.Equal(due) {
		t.Fatalf("next scheduled run %v, want %v", s.NextScheduledRun, due)
	}
	wantMode(t, w, wf.ID, ModeIdle, ReasonNothing)
	if !s.NextPoll.Equal(t0.Add(time.Minute)) {
		t.Errorf("next poll %v, want the next full poll at %v", s.NextPoll, t0.Add(time.Minute))
	}

	// Idle: one full poll a minute, nothing else.
	a.sim.ResetStats()
	a.until(due.Add(-scheduleLead - time.Second))
	wantMode(t, w, wf.ID, ModeIdle, ReasonNothing)
	if got, want := a.sim.Stats().Requests, int64(9*4); got != want {
		t.Errorf("idle until the lead: %d Graph requests, want %d (9 full polls of 4)", got, want)
	}
	if got := testutil.ToFloat64(w.metrics.schedule.activePolls.WithLabelValues("success")); got != 0 {
		t.Errorf("%v active polls while idle", got)
	}

	a.until(due.Add(-scheduleLead + time.Second))
	wantMode(t, w, wf.ID, ModeActive, ReasonScheduled)
	if next := schedule(t, w, wf.ID).NextPoll; next.Sub(a.sc.Now()) > 5*time.Second {
		t.Errorf("next poll %v, want within 5 s of %v", next, a.sc.Now())
	}

	a.until(due.Add(time.Minute))
	wantMode(t, w, wf.ID, ModeActive, ReasonResults)
	runs := a.sim.Runs(wf.ID)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want the scheduled one", len(runs))
	}
	ids := runs[0].Results
	a.names[ids[0]], a.names[ids[1]] = "fails", "completes"

	a.until(due.Add(6 * time.Minute))
	wantMode(t, w, wf.ID, ModeIdle, ReasonNothing)
	a.wantChanges(0,
		"fails: null → queued", "fails: queued → inProgress", "fails: inProgress → failed",
		"completes: null → queued", "completes: queued → inProgress", "completes: inProgress → completed")
	a.noDuplicates()
	if l := a.latency(ids[0], events.StatusFailed); l < 0 || l > 5*time.Second {
		t.Errorf("failure published %v after Graph served it, want within the 5 s active interval", l)
	}
	if got := testutil.ToFloat64(w.metrics.schedule.switches.WithLabelValues("active")); got != 1 {
		t.Errorf("switches to active = %v, want 1", got)
	}
	if got := testutil.ToFloat64(w.metrics.schedule.switches.WithLabelValues("idle")); got != 2 {
		t.Errorf("switches to idle = %v, want 2 (the first plan, and after the run)", got)
	}

	// Idle again: full polls only.
	a.sim.ResetStats()
	a.until(due.Add(16 * time.Minute))
	if got, want := a.sim.Stats().Requests, int64(10*4); got != want {
		t.Errorf("idle after the run: %d Graph requests in 10 minutes, want %d", got, want)
	}
}

// TestPortalRunIsCaughtWithinOneIdleInterval: a run started in the portal (lcwnotify
// hears nothing of it) is seen by the next full poll, and its workflow turns active.
func TestPortalRunIsCaughtWithinOneIdleInterval(t *testing.T) {
	a := newAdaptive(t)
	wf, u := a.workflow("Joiners", 2)
	w := a.start().w
	a.until(t0.Add(90 * time.Second))
	started := a.sc.Now()
	ids := a.run(wf, "portal", time.Time{}, u...)
	a.until(t0.Add(2*time.Minute - time.Second))
	a.wantChanges(0) // the idle interval has not passed
	a.until(t0.Add(2*time.Minute + time.Second))
	n := a.wantChanges(0, "portal0: null → queued", "portal1: null → queued")
	if seen := a.events()[0].Time.Sub(started); seen > time.Minute {
		t.Errorf("the portal's run seen %v after it started, want within the 60 s poll interval", seen)
	}
	wantMode(t, w, wf.ID, ModeActive, ReasonResults)

	a.until(t0.Add(2*time.Minute + 20*time.Second))
	a.set(ids[0], events.StatusFailed, time.Time{})
	a.set(ids[1], events.StatusCompleted, time.Time{})
	a.until(t0.Add(2*time.Minute + 26*time.Second))
	a.wantChanges(n, "portal0: queued → failed", "portal1: queued → completed")
	wantMode(t, w, wf.ID, ModeIdle, ReasonNothing)
	a.noDuplicates()
}

// accepted publishes the record of an activation of workflow wf that Graph accepted at at,
// as the Slack actions handler (in this process or another) does.
func (e *env) accepted(wf string, at time.Time, actionID string) {
	e.t.Helper()
	ev, err := events.NewActionEvent(e.url+"/workflows/"+wf, at, events.ActionData{
		Workflow: events.Workflow{ID: wf}, ActionID: actionID, Kind: events.ActionAccepted,
		Action: events.RerunWorkflow, Target: events.ActionTarget{ResultID: "r-" + actionID},
		Actor: events.Actor{Via: "slack", ID: "U0123"}, At: at,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if ack := events.NewPublisher(e.js, "LCW", "lcw").PublishMessage(context.Background(), ev.ID, ev); ack.Err != nil {
		e.t.Fatal(ack.Err)
	}
}

// TestAcceptedActivationHoldsTheWorkflowActive: the record of an activation lcwnotify
// made, read from the stream, makes its workflow active for activationHold; a restart
// within the hold still knows of it, one after the hold does not.
func TestAcceptedActivationHoldsTheWorkflowActive(t *testing.T) {
	a := newAdaptive(t)
	wf, _ := a.workflow("Movers", 1)
	other, _ := a.workflow("Joiners", 1)
	r := a.start()
	w := r.w
	wantMode(t, w, wf.ID, ModeIdle, ReasonNothing)

	a.accepted(wf.ID, a.sc.Now(), "a1")
	eventually(t, "the workflow active after its activation", func() bool {
		return schedule(t, w, wf.ID).Mode == ModeActive
	})
	wantMode(t, w, wf.ID, ModeActive, ReasonActivation)
	wantMode(t, w, other.ID, ModeIdle, ReasonNothing)
	if got := schedule(t, w, wf.ID).ActivatedAt; !got.Equal(t0) {
		t.Errorf("activated at %v, want %v", got, t0)
	}
	a.sim.ResetStats()
	a.until(t0.Add(30 * time.Second))
	// Six active polls of the activated workflow (two requests each) and nothing of the other.
	if got, want := a.requests()[graphsim.OpListResults], int64(6*2); got != want {
		t.Errorf("%d result lists in 30 s after the activation, want %d", got, want)
	}

	// A restart within the hold replays the record.
	r.stop(t)
	r = a.start()
	w = r.w
	eventually(t, "the activation known after a restart", func() bool {
		return schedule(t, w, wf.ID).Mode == ModeActive
	})
	wantMode(t, w, wf.ID, ModeActive, ReasonActivation)

	a.until(t0.Add(activationHold + time.Second))
	wantMode(t, w, wf.ID, ModeIdle, ReasonNothing)

	// A record older than the hold, replayed at start, changes nothing.
	a.accepted(other.ID, a.sc.Now().Add(-activationHold-time.Minute), "a2")
	r.stop(t)
	w = a.start().w
	a.until(a.sc.Now().Add(10 * time.Second))
	wantMode(t, w, other.ID, ModeIdle, ReasonNothing)
}

// TestRestartKeepsPollingActively: the state says what is in progress, so a new process
// picks the active schedule up at its first poll, and the failure is published once.
func TestRestartKeepsPollingActively(t *testing.T) {
	a := newAdaptive(t)
	wf, u := a.workflow("Leavers", 2)
	ids := a.run(wf, "r", time.Time{}, u...)
	a.set(ids[0], events.StatusInProgress, time.Time{})
	r := a.start()
	wantMode(t, r.w, wf.ID, ModeActive, ReasonResults)
	a.until(t0.Add(10 * time.Second))
	r.stop(t)

	a.sc.advance(20 * time.Second) // down for a while
	r = a.start()
	wantMode(t, r.w, wf.ID, ModeActive, ReasonResults)
	a.until(a.sc.Now().Add(7 * time.Second))
	a.set(ids[0], events.StatusFailed, time.Time{})
	a.until(a.sc.Now().Add(6 * time.Second))
	a.wantChanges(0, "r0: null → inProgress", "r1: null → queued", "r0: inProgress → failed")
	if l := a.latency(ids[0], events.StatusFailed); l > 5*time.Second {
		t.Errorf("failure published %v after it happened, want within 5 s", l)
	}
	a.noDuplicates()
}

// TestActivePollCost: a quiet active poll is two requests whatever the run's size; a
// run's results are listed when a result without a run id shows up, not at every poll.
func TestActivePollCost(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leavers", 120)
	w := e.watcher(func(o *Options) { o.ActiveInterval = 5 * time.Second })
	e.poll(w)
	wfs := w.sched.wfs
	active := func() PollStats {
		t.Helper()
		e.clock.advance(5 * time.Second)
		e.sim.ResetStats()
		st, err := w.pollActive(context.Background(), wfs)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	active()
	if got, want := e.requests(), map[graphsim.Operation]int64{graphsim.OpListResults: 2}; !maps.Equal(got, want) {
		t.Errorf("quiet active poll: %v, want %v", got, want)
	}

	ids := e.run(wf, "r", time.Time{}, u...)
	active()
	// 120 new results: the not-final list takes three pages of 50, the completed one
	// one; the runs list and the run's results (three pages) give their run id.
	if got, want := e.requests(), map[graphsim.Operation]int64{graphsim.OpListResults: 4, graphsim.OpListRuns: 1, graphsim.OpListRunResults: 3}; !maps.Equal(got, want) {
		t.Errorf("active poll of a new run: %v, want %v", got, want)
	}
	for _, id := range ids[:10] {
		e.set(id, events.StatusInProgress, time.Time{})
	}
	e.set(ids[10], events.StatusCompleted, time.Time{})
	st := active()
	if got, want := e.requests(), map[graphsim.Operation]int64{graphsim.OpListResults: 4}; !maps.Equal(got, want) {
		t.Errorf("active poll during the run: %v, want %v (no run listed again)", got, want)
	}
	if st.Published != 11 {
		t.Errorf("published %d, want 11", st.Published)
	}
	runID := e.sim.Runs(wf.ID)[0].ID
	for _, ev := range e.events() {
		if ev.Data.RunID != runID {
			t.Fatalf("event %s without its run id: %q", ev.ID, ev.Data.RunID)
		}
	}
	if m := e.mark(w, wf.ID); !m.Watermark.Equal(t0) {
		t.Errorf("watermark %v after active polls, want the full poll's %v", m.Watermark, t0)
	}
}

// TestActivePollCrashRepublishesOnce: an active poll dying between publishing and
// recording leaves the change to the next poll, whose event the stream already holds.
func TestActivePollCrashRepublishesOnce(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leavers", 1)
	ids := e.run(wf, "r", time.Time{}, u...)
	w := e.watcher()
	e.poll(w)
	e.clock.advance(5 * time.Second)
	e.set(ids[0], events.StatusFailed, time.Time{})
	crash(w)
	if _, err := w.pollActive(context.Background(), w.sched.wfs); err == nil {
		t.Fatal("an active poll that crashed reported no error")
	}
	w = e.watcher() // the new process
	e.clock.advance(5 * time.Second)
	st := e.poll(w)
	if st.Published != 0 || st.Duplicates != 1 {
		t.Errorf("poll after the crash: %+v, want the event found stored already", st)
	}
	e.wantChanges(0, "r0: null → queued", "r0: queued → failed")
	e.noDuplicates()
}

// TestScheduleModes decides modes from the state, the listing and the activations.
func TestScheduleModes(t *testing.T) {
	next := t0.Add(time.Hour)
	scheduled := graph.Workflow{ID: "wf", IsEnabled: true, IsSchedulingEnabled: true, NextScheduleRunDateTime: &next}
	quarantined := scheduled
	quarantined.QuarantineDetails = &graph.QuarantineDetails{QuarantineType: graph.QuarantineCount}
	unscheduled := scheduled
	unscheduled.IsSchedulingEnabled = false
	tests := []struct {
		name       string
		wf         graph.Workflow
		active     time.Duration
		records    []*record
		activated  time.Time
		now        time.Time
		wantMode   PollMode
		wantReason string
	}{
		{"nothing", scheduled, 5 * time.Second, nil, time.Time{}, t0, ModeIdle, ReasonNothing},
		{"fixed interval", scheduled, time.Minute, []*record{{ID: "r", Status: "inProgress", Seen: t0}}, time.Time{}, t0, ModeIdle, ReasonFixed},
		{"result in progress", scheduled, 5 * time.Second, []*record{{ID: "r", Status: "inProgress", Seen: t0}}, time.Time{}, t0, ModeActive, ReasonResults},
		{"result of a future status", scheduled, 5 * time.Second, []*record{{ID: "r", Status: "somethingNew", Seen: t0}}, time.Time{}, t0, ModeActive, ReasonResults},
		{"final results only", scheduled, 5 * time.Second, []*record{{ID: "r", Status: "failed", Seen: t0}}, time.Time{}, t0, ModeIdle, ReasonNothing},
		{"result waiting in quarantine", scheduled, 5 * time.Second, []*record{{ID: "r", Status: "quarantined", Seen: t0}}, time.Time{}, t0, ModeIdle, ReasonNothing},
		{"result unchanged for an hour", scheduled, 5 * time.Second, []*record{{ID: "r", Status: "inProgress", Seen: t0.Add(-staleActivity)}}, time.Time{}, t0, ModeIdle, ReasonNothing},
		{"quarantined workflow", quarantined, 5 * time.Second, []*record{{ID: "r", Status: "queued", Seen: t0}}, time.Time{}, t0, ModeIdle, ReasonQuarantined},
		{"just before the lead", scheduled, 5 * time.Second, nil, time.Time{}, next.Add(-scheduleLead - time.Second), ModeIdle, ReasonNothing},
		{"within the lead", scheduled, 5 * time.Second, nil, time.Time{}, next.Add(-scheduleLead), ModeActive, ReasonScheduled},
		{"within the grace", scheduled, 5 * time.Second, nil, time.Time{}, next.Add(scheduleGrace - time.Second), ModeActive, ReasonScheduled},
		{"after the grace, no run", scheduled, 5 * time.Second, nil, time.Time{}, next.Add(scheduleGrace), ModeIdle, ReasonNothing},
		{"scheduling disabled", unscheduled, 5 * time.Second, nil, time.Time{}, next, ModeIdle, ReasonNothing},
		{"activation", scheduled, 5 * time.Second, nil, t0.Add(-activationHold + time.Second), t0, ModeActive, ReasonActivation},
		{"activation of a quarantined workflow", quarantined, 5 * time.Second, nil, t0, t0, ModeActive, ReasonActivation},
		{"activation past its hold", scheduled, 5 * time.Second, nil, t0.Add(-activationHold), t0, ModeIdle, ReasonNothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newState(nil, quietLog())
			f := st.flow(tt.wf.ID)
			for _, r := range tt.records {
				f.results[r.ID] = r
			}
			s := newScheduler(time.Minute, tt.active, st, quietLog(), nil)
			if !tt.activated.IsZero() {
				s.activated(tt.wf.ID, tt.activated)
			}
			s.fullPolled(tt.now, []graph.Workflow{tt.wf}, nil)
			s.plan(tt.now)
			got := s.snapshot(tt.now)
			if len(got) != 1 || got[0].Mode != tt.wantMode || got[0].Reason != tt.wantReason {
				t.Errorf("schedule %+v, want %s (%s)", got, tt.wantMode, tt.wantReason)
			}
		})
	}
}

// TestScheduleMetrics: one series per watched workflow, deleted when it is no longer
// watched; a switch of mode is logged with its reason.
func TestScheduleMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	st := newState(nil, quietLog())
	st.flow("busy").results["r"] = &record{ID: "r", Status: "inProgress", Seen: t0}
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newScheduler(time.Minute, 5*time.Second, st, log, m)
	s.fullPolled(t0, []graph.Workflow{{ID: "busy"}, {ID: "quiet"}}, nil)
	s.setNextFull(t0.Add(time.Minute))
	due, next := s.plan(t0.Add(time.Second))
	if len(due) != 0 || !next.Equal(t0.Add(5*time.Second)) {
		t.Errorf("plan: due %v, next %v; want none due, the next at %v", due, next, t0.Add(5*time.Second))
	}
	wantGauge := func(g *prometheus.GaugeVec, wf string, want float64) {
		t.Helper()
		if got := testutil.ToFloat64(g.WithLabelValues(wf)); got != want {
			t.Errorf("%s{workflow=%q} = %v, want %v", "gauge", wf, got, want)
		}
	}
	if line := `msg="workflow poll mode changed" workflow=busy mode=active reason="results not final"`; !strings.Contains(logs.String(), line) {
		t.Errorf("logs lack %s:\n%s", line, logs.String())
	}
	wantGauge(m.schedule.active, "busy", 1)
	wantGauge(m.schedule.active, "quiet", 0)
	wantGauge(m.schedule.nextPoll, "busy", float64(t0.Add(5*time.Second).Unix()))
	wantGauge(m.schedule.nextPoll, "quiet", float64(t0.Add(time.Minute).Unix()))

	s.fullPolled(t0.Add(time.Minute), []graph.Workflow{{ID: "busy"}}, nil)
	if n := testutil.CollectAndCount(m.schedule.nextPoll); n != 1 {
		t.Errorf("%d next-poll series after a workflow went, want 1", n)
	}
	if n := testutil.CollectAndCount(m.schedule.active); n != 1 {
		t.Errorf("%d mode series after a workflow went, want 1", n)
	}
	if due, _ := s.plan(t0.Add(time.Minute + 5*time.Second)); !slices.ContainsFunc(due, func(wf graph.Workflow) bool { return wf.ID == "busy" }) {
		t.Errorf("due %v, want the busy workflow an active interval after the full poll", due)
	}
}

// TestLateReportIsLeftToTheFullPoll: a failure Graph reports later behind its
// completedDateTime than an active poll looks back is not lost: the next full poll,
// whose window reaches back the whole overlap from the watermark, announces it.
func TestLateReportIsLeftToTheFullPoll(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leavers", 1)
	ids := e.run(wf, "r", time.Time{}, u...)
	w := e.watcher(func(o *Options) { o.PollInterval = 15 * time.Minute })
	e.poll(w)
	active := func() PollStats {
		t.Helper()
		st, err := w.pollActive(context.Background(), w.sched.wfs)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for range 120 { // ten minutes of active polls
		e.clock.advance(5 * time.Second)
		active()
	}
	// Reported now, completed five minutes ago: behind the active polls' look-back.
	e.set(ids[0], events.StatusFailed, e.clock.now().Add(-5*time.Minute))
	e.clock.advance(5 * time.Second)
	if st := active(); st.Published != 0 {
		t.Fatalf("active poll published %d, want the late report left to the full poll", st.Published)
	}
	e.clock.advance(5 * time.Second)
	if st := e.poll(w); st.Published != 1 {
		t.Errorf("full poll published %d, want the late failure", st.Published)
	}
	e.wantChanges(0, "r0: null → queued", "r0: queued → failed")
}
