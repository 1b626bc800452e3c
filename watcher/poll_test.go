package watcher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// steadyRequests asserts the cost of a poll in which nothing changed: the workflow list
// and three lists per workflow.
func (e *env) steadyRequests(workflows int) {
	e.t.Helper()
	got := e.requests()
	want := map[graphsim.Operation]int64{
		graphsim.OpListWorkflows: 1,
		graphsim.OpListResults:   int64(2 * workflows),
		graphsim.OpListRuns:      int64(workflows),
	}
	for op, n := range got {
		if want[op] != n {
			e.t.Errorf("steady poll: %d %s requests, want %d (all: %v)", n, op, want[op], got)
		}
	}
}

func TestFirstStartThenChanges(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Offboard leavers", 6)
	old := e.run(wf, "old", t0.Add(-2*time.Hour), u[0], u[1])
	e.set(old[0], "completed", t0.Add(-119*time.Minute))
	e.set(old[1], "failed", t0.Add(-119*time.Minute))
	cur := e.run(wf, "cur", t0.Add(-5*time.Minute), u[2], u[3], u[4])
	e.set(cur[1], "inProgress", t0.Add(-4*time.Minute))
	e.set(cur[2], "failed", t0.Add(-time.Minute)) // final before the first start: history

	w := e.watcher()
	st := e.poll(w)
	n := e.wantChanges(0, "cur0: null → queued", "cur1: null → inProgress")
	if st.Published != 2 || st.Tracked != 2 {
		t.Errorf("first poll stats %+v, want 2 published and 2 tracked", st)
	}

	e.clock.advance(time.Minute)
	e.set(cur[0], "inProgress", time.Time{})
	e.set(cur[1], "failed", time.Time{})
	next := e.run(wf, "next", time.Time{}, u[5])
	e.set(next[0], "failed", time.Time{}) // never seen before it failed
	e.poll(w)
	n = e.wantChanges(n, "cur0: queued → inProgress", "cur1: inProgress → failed", "next0: null → failed")

	// A steady poll: nothing changed, four requests.
	e.clock.advance(time.Minute)
	e.sim.ResetStats()
	st = e.poll(w)
	e.wantChanges(n)
	e.steadyRequests(1)
	if st.Published != 0 || st.Tracked != 3 {
		t.Errorf("steady poll stats %+v, want nothing published and 3 tracked", st)
	}

	// Once the overlap has passed, final results are forgotten: state is the active ones.
	e.clock.advance(11 * time.Minute)
	e.poll(w)
	st = e.poll(w)
	if st.Tracked != 1 {
		t.Errorf("tracked %d after the overlap, want 1 (cur0, in progress)", st.Tracked)
	}
	e.noDuplicates()
}

func TestLookback(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Onboard", 4)
	r := e.run(wf, "r", t0.Add(-3*time.Hour), u...)
	e.set(r[0], "failed", t0.Add(-2*time.Hour))                 // before the lookback: history
	e.set(r[1], "completedWithErrors", t0.Add(-30*time.Minute)) // inside: announced
	e.set(r[2], "completed", t0.Add(-time.Minute))              // inside: announced
	e.set(r[3], "inProgress", t0.Add(-2*time.Hour))             // not final: announced
	w := e.watcher(func(o *Options) { o.Lookback = time.Hour })
	e.poll(w)
	e.wantChanges(0, "r1: null → completedWithErrors", "r2: null → completed", "r3: null → inProgress")

	// The lookback applies to the first start only: a new watcher on the same state
	// announces nothing more.
	e.clock.advance(time.Minute)
	e.poll(e.watcher(func(o *Options) { o.Lookback = 24 * time.Hour }))
	e.wantChanges(0, "r1: null → completedWithErrors", "r2: null → completed", "r3: null → inProgress")
}

func TestTransitions(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Mover", 6)
	w := e.watcher()
	e.poll(w) // first start: nothing yet

	r := e.run(wf, "r", time.Time{}, u...)
	steps := [][]string{
		{"queued", "inProgress", "completed"},
		{"queued", "failed"},
		{"queued", "inProgress", "completedWithErrors"},
		{"queued", "inProgress", "canceling", "canceled"},
		{"queued", "quarantined", "inProgress", "failed"},
		{"queued", "someStatusFromTheFuture", "completed"},
	}
	var want []string
	for i := range 4 {
		e.clock.advance(time.Minute)
		for j, s := range steps {
			if i == 0 {
				want = append(want, "r"+string(rune('0'+j))+": null → queued")
				continue
			}
			if i < len(s) {
				e.set(r[j], s[i], time.Time{})
				want = append(want, "r"+string(rune('0'+j))+": "+s[i-1]+" → "+s[i])
			}
		}
		e.poll(w)
	}
	e.wantChanges(0, want...)
	e.noDuplicates()
}

func TestFailureEventCarriesTasksAndUser(t *testing.T) {
	e := newEnv(t)
	wf := e.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Leaver <!channel>", Category: graphsim.CategoryMover, Version: 4})
	adele := e.sim.AddUser(graphsim.User{DisplayName: "Adele <@U123> Vance", UserPrincipalName: "adele@contoso.example"})
	hidden := e.sim.AddUser(graphsim.User{DisplayName: "Hidden", Access: graphsim.UserForbidden})
	w := e.watcher()
	e.poll(w)

	run := e.sim.StartRunWith(wf.ID, graphsim.RunSpec{Users: []string{adele.ID, hidden.ID}, ExecutionType: graphsim.ExecutionActivatedWithScope})
	e.clock.advance(time.Minute)
	e.sim.SetResultStatus(run.Results[0], "failed", graphsim.TaskFailure{Task: wf.Tasks[1].DisplayName, Reason: "Manager <not> set"})
	e.sim.SetResultStatus(run.Results[1], "completedWithErrors")
	e.sim.ResetStats()
	e.poll(w)

	evs := e.events()
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	byResult := map[string]*events.Event{}
	for _, ev := range evs {
		byResult[ev.Subject] = ev
	}
	ev := byResult[run.Results[0]]
	if ev == nil {
		t.Fatal("no event for the failed result")
	}
	d := ev.Data
	if d.TenantID != "tenant-1" || d.RunID != run.ID || d.Workflow != (events.Workflow{ID: wf.ID, DisplayName: "Leaver <!channel>", Category: "mover", Version: 4}) {
		t.Errorf("envelope data = tenant %q, run %q, workflow %+v", d.TenantID, d.RunID, d.Workflow)
	}
	if ev.Source != e.graph.WorkflowURL(wf.ID) || !ev.Time.Equal(e.clock.now()) {
		t.Errorf("source %q, time %v", ev.Source, ev.Time)
	}
	if d.User != (events.User{ID: adele.ID, DisplayName: "Adele <@U123> Vance", UserPrincipalName: "adele@contoso.example"}) {
		t.Errorf("user = %+v", d.User)
	}
	if !strings.Contains(string(d.UserProcessingResult), `"workflowExecutionType":"activatedWithScope"`) {
		t.Errorf("unknown enum value not kept as received: %s", d.UserProcessingResult)
	}
	var failed []string
	for i, tr := range d.TaskProcessingResults {
		if tr.Task.ExecutionSequence != i+1 || tr.Task.DisplayName == "" {
			t.Errorf("task result %d: %+v", i, tr)
		}
		if tr.ProcessingStatus == "failed" {
			failed = append(failed, tr.Task.DisplayName+": "+*tr.FailureReason)
		}
	}
	if want := wf.Tasks[1].DisplayName + ": Manager <not> set"; len(failed) != 1 || failed[0] != want {
		t.Errorf("failed tasks %q, want [%q]", failed, want)
	}
	if len(d.TaskProcessingResults) != len(wf.Tasks) {
		t.Errorf("%d task results, want %d", len(d.TaskProcessingResults), len(wf.Tasks))
	}
	if got := byResult[run.Results[1]].Data.User; got != (events.User{ID: hidden.ID}) {
		t.Errorf("unreadable user = %+v, want the id alone", got)
	}
	// Extra requests are proportional to the changes: per notify result, its task
	// results and its user.
	if got := e.requests(); got[graphsim.OpListTaskResults] != 2 || got[graphsim.OpGetUser] != 2 {
		t.Errorf("requests %v, want 2 task-result lists and 2 user reads", got)
	}
}

func TestStatusesOutsideNotifyCarryNoDetails(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Joiner", 1)
	w := e.watcher(func(o *Options) { o.NotifyStatuses = []string{"failed"} })
	e.poll(w)
	r := e.run(wf, "r", time.Time{}, u...)
	e.clock.advance(time.Minute)
	e.set(r[0], "completedWithErrors", time.Time{})
	e.sim.ResetStats()
	e.poll(w)
	evs := e.events()
	if len(evs) != 1 || evs[0].Data.TaskProcessingResults != nil || evs[0].Data.User != (events.User{ID: u[0]}) {
		t.Fatalf("events %+v: want one without task results and with the user id alone", evs)
	}
	if got := e.requests(); got[graphsim.OpListTaskResults] != 0 || got[graphsim.OpGetUser] != 0 {
		t.Errorf("requests %v: no details for a status outside LCW_NOTIFY_STATUSES", got)
	}
}

func TestCatchUpAfterDowntime(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 5)
	a := e.run(wf, "a", time.Time{}, u[0], u[1])
	e.set(a[1], "inProgress", time.Time{})
	w := e.watcher()
	e.poll(w)
	n := e.wantChanges(0, "a0: null → queued", "a1: null → inProgress")

	// Down for three days: results move on, new runs come and finish.
	e.clock.advance(time.Hour)
	e.set(a[0], "inProgress", time.Time{})
	e.clock.advance(time.Hour)
	e.set(a[0], "failed", time.Time{}) // queued → inProgress → failed: one event, from queued
	e.set(a[1], "completed", time.Time{})
	e.clock.advance(24 * time.Hour)
	b := e.run(wf, "b", time.Time{}, u[2], u[3], u[4])
	e.clock.advance(time.Hour)
	e.set(b[0], "failed", time.Time{})
	e.set(b[1], "completed", time.Time{})
	e.set(b[2], "inProgress", time.Time{})
	e.clock.advance(48 * time.Hour)

	// A new process on the same state.
	st := e.poll(e.watcher())
	e.wantChanges(n, "a0: queued → failed", "a1: inProgress → completed",
		"b0: null → failed", "b1: null → completed", "b2: null → inProgress")
	if st.Fetched != 0 {
		t.Errorf("fetched %d results one by one; the lists cover a three-day gap", st.Fetched)
	}
	e.noDuplicates()
}

func TestTrackedResultNoListReturns(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 2)
	r := e.run(wf, "r", time.Time{}, u...)
	e.set(r[0], "inProgress", time.Time{})
	e.set(r[1], "inProgress", time.Time{})
	w := e.watcher()
	e.poll(w)
	n := len(e.events())

	// r0 shows up in the report with a completion time far behind the window (a reporting
	// lag longer than the overlap): no list returns it, the watcher reads it alone.
	e.clock.advance(3 * time.Hour)
	e.poll(w)
	e.set(r[0], "failed", t0.Add(time.Hour))
	e.clock.advance(time.Minute)
	e.sim.ResetStats()
	st := e.poll(w)
	e.wantChanges(n, "r0: inProgress → failed")
	if st.Fetched != 1 || e.requests()[graphsim.OpGetResult] != 1 {
		t.Errorf("fetched %d, requests %v: want r0 read alone, once", st.Fetched, e.requests())
	}
}

func TestNewWorkflowAfterFirstStart(t *testing.T) {
	for _, tt := range []struct {
		name   string
		global func(listed time.Time) string // rewrites the global entry; nil keeps it
	}{
		{name: "as recorded"},
		// Earlier versions kept a zero start when they rewrote an unreadable entry.
		{name: "first start unknown", global: func(listed time.Time) string {
			return `{"listed":"` + listed.Format(time.RFC3339Nano) + `"}`
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.workflow("Existing", 0)
			w := e.watcher()
			e.poll(w)
			if tt.global != nil {
				if _, err := w.state.kv.Put(context.Background(), globalKey, []byte(tt.global(t0))); err != nil {
					t.Fatal(err)
				}
			}

			// A workflow created while the watcher was down runs and fails before the next
			// poll: its results are not history, although the lookback (0) would call them that.
			e.clock.advance(30 * time.Minute)
			wf, u := e.workflow("Created later", 1)
			r := e.run(wf, "r", time.Time{}, u...)
			e.clock.advance(time.Minute)
			e.set(r[0], "failed", time.Time{})
			e.clock.advance(time.Minute)
			e.poll(e.watcher())
			e.wantChanges(0, "r0: null → failed")
		})
	}
}

func TestNamedWorkflows(t *testing.T) {
	e := newEnv(t)
	watched, u := e.workflow("Watched", 1)
	other, v := e.workflow("Other", 1)
	w := e.watcher(func(o *Options) { o.Workflows = []string{watched.ID, watched.ID} })
	e.poll(w)
	e.clock.advance(time.Minute)
	r := e.run(watched, "w", time.Time{}, u...)
	e.run(other, "o", time.Time{}, v...)
	e.sim.ResetStats()
	st := e.poll(w)
	e.wantChanges(0, "w0: null → queued")
	if st.Workflows != 1 {
		t.Errorf("polled %d workflows, want 1", st.Workflows)
	}
	// One workflow list a poll, named workflows or not: it carries every workflow's
	// state (quarantine, enabled). Nothing is read one by one.
	if got := e.requests(); got[graphsim.OpListWorkflows] != 1 || got[graphsim.OpGetWorkflow] != 0 {
		t.Errorf("%v requests in a poll with named workflows, want one workflow list", got)
	}
	_ = r
}

func TestNamedWorkflowUnknown(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Watched", 1)
	w := e.watcher(func(o *Options) { o.Workflows = []string{wf.ID, "no-such-workflow"} })
	e.run(wf, "r", time.Time{}, u...)
	st, err := w.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no-such-workflow") {
		t.Errorf("poll error %v, want one naming the unknown workflow", err)
	}
	if st.Workflows != 1 || st.FailedWorkflows != 0 {
		t.Errorf("stats %+v: the known workflow must still be polled", st)
	}
	e.wantChanges(0, "r0: null → queued")
}

// TestFirstStartLookbackCoversAWorkflowItsListingMissed: a workflow named in
// LCW_WORKFLOWS that the first start could not read is owed the first start's lookback
// when it is read, like every workflow read then, even when the lookback is longer than
// the overlap.
func TestFirstStartLookbackCoversAWorkflowItsListingMissed(t *testing.T) {
	e := newEnv(t)
	a, u := e.workflow("Read at the first start", 1)
	const late = "wf-late"
	w := e.watcher(func(o *Options) {
		o.Workflows = []string{a.ID, late}
		o.Lookback = 2 * time.Hour
	})
	ra := e.run(a, "a", t0.Add(-100*time.Minute), u...)
	e.set(ra[0], "failed", t0.Add(-90*time.Minute))
	if _, err := w.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), late) {
		t.Fatalf("first poll = %v, want an error naming %s", err, late)
	}
	n := e.wantChanges(0, "a0: null → failed")

	// Graph knows the workflow now, with a failure from inside the lookback.
	b := e.sim.AddWorkflow(graphsim.Workflow{ID: late, DisplayName: "Read later", Category: graphsim.CategoryLeaver, CreatedAt: t0.Add(-3 * time.Hour)})
	v := e.sim.AddUsers(1)
	rb := e.run(b, "b", t0.Add(-100*time.Minute), v[0].ID)
	e.set(rb[0], "failed", t0.Add(-90*time.Minute))
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantChanges(n, "b0: null → failed")
}
