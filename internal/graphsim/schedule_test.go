package graphsim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

func TestScheduledRunsStartOnTheClock(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	users := f.sim.AddUsers(2)
	wf := f.sim.AddWorkflow(graphsim.Workflow{ScheduleOffset: 20 * time.Minute})
	idle := f.sim.AddWorkflow(graphsim.Workflow{})
	var asked []graphsim.ScheduledRun
	f.sim.SetScheduleHook(func(sr graphsim.ScheduledRun) []graphsim.PlannedResult {
		asked = append(asked, sr)
		if sr.WorkflowID == idle.ID {
			return nil // nobody matched its execution conditions
		}
		return []graphsim.PlannedResult{
			{UserID: users[0].ID, Outcome: graphsim.Outcome{StartAfter: time.Minute, Duration: 4 * time.Minute}},
			{UserID: users[1].ID, Outcome: graphsim.Outcome{StartAfter: 2 * time.Minute, Duration: 10 * time.Minute,
				Status: events.StatusFailed, Info: []graphsim.TaskInfo{{Task: "Enable user account", Info: "The account was already enabled."}}}},
		}
	})
	first := nextTick(f.clock.Now().Add(-20*time.Minute), 3*time.Hour).Add(20 * time.Minute)
	if got := f.get(t, lcw+"/"+wf.ID).body["nextScheduleRunDateTime"]; got != ts(first) {
		t.Fatalf("nextScheduleRunDateTime = %v, want %s", got, ts(first))
	}

	// Jump a whole day at once: every tick happens at its own time.
	f.clock.Advance(24 * time.Hour)
	runs := f.sim.Runs(wf.ID)
	if len(runs) != 8 {
		t.Fatalf("%d runs in a day, want 8", len(runs))
	}
	for i, run := range runs {
		at := first.Add(time.Duration(i) * 3 * time.Hour)
		if run.ScheduledAt != at || run.ExecutionType != graphsim.ExecutionScheduled || run.Status != events.StatusCompletedWithErrors {
			t.Errorf("run %d = %+v, want scheduled at %s, ended completedWithErrors (one user failed)", i, run, at)
		}
		if run.CompletedAt != at.Add(12*time.Minute) {
			t.Errorf("run %d completed at %s, want %s", i, run.CompletedAt, at.Add(12*time.Minute))
		}
	}
	if n := len(f.sim.Runs(idle.ID)); n != 0 || len(asked) != 16 {
		t.Errorf("idle workflow has %d runs, the hook was asked %d times; want 0 and 16", n, len(asked))
	}
	last := runs[7]
	res, _ := f.sim.Result(last.Results[0])
	if res.StartedAt != last.ScheduledAt.Add(time.Minute) || res.CompletedAt != last.ScheduledAt.Add(5*time.Minute) {
		t.Errorf("planned result = %+v", res)
	}
	tasks := f.get(t, lcw+"/"+wf.ID+"/userProcessingResults/"+last.Results[1]+"/taskProcessingResults")
	for _, tr := range tasks.list() {
		if tr["processingInfo"] != nil && tr["processingInfo"] != "The account was already enabled." {
			t.Errorf("processingInfo = %v", tr["processingInfo"])
		}
	}
	if tasks.list()[0]["processingInfo"] != "The account was already enabled." {
		t.Errorf("task results = %s", tasks.raw)
	}

	// A shorter interval moves the next run to the next tick of the new schedule.
	f.sim.SetScheduleInterval(1)
	want := nextTick(f.clock.Now().Add(-20*time.Minute), time.Hour).Add(20 * time.Minute)
	if got := f.sim.WorkflowState(wf.ID).NextScheduleRunAt; got != want {
		t.Errorf("next run after SetScheduleInterval(1) = %s, want %s", got, want)
	}
}

func TestSimulatedDay(t *testing.T) {
	// What the adaptive-polling benchmark drives: 10 workflows on a 3-hour schedule,
	// runs of 1–300 users lasting 1–20 minutes, read every minute of a day.
	clock := graphsim.NewClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	f := newFixture(t, graphsim.Options{Now: clock.Now})
	var wfs []graphsim.Workflow
	for i := range 10 {
		wfs = append(wfs, f.sim.AddWorkflow(graphsim.Workflow{ScheduleOffset: time.Duration(i) * 7 * time.Minute}))
	}
	f.sim.SetScheduleHook(graphsim.RandomRuns(7, graphsim.RandomRunsOptions{FailedRate: 0.02, ErrorsRate: 0.01}))
	inProgress := 0
	for range 24 * 60 {
		clock.Advance(time.Minute)
		r := f.get(t, q(lcw+"/"+wfs[3].ID+"/runs", "$filter", "processingStatus eq 'inProgress' and scheduledDateTime ge "+ts(clock.Now().Add(-time.Hour))))
		mustStatus(t, r, http.StatusOK)
		inProgress += len(r.list())
	}
	total, users := 0, 0
	for _, wf := range wfs {
		runs := f.sim.Runs(wf.ID)
		total += len(runs)
		for _, run := range runs {
			users += len(run.Results)
			if run.Status == events.StatusInProgress || run.Status == events.StatusQueued {
				if clock.Now().Sub(run.ScheduledAt) > 20*time.Minute {
					t.Errorf("run %s still %s at the end of the day", run.ID, run.Status)
				}
			}
			if n := len(run.Results); n < 1 || n > 300 {
				t.Errorf("run %s has %d users", run.ID, n)
			}
		}
	}
	if total != 80 || users < 80 || inProgress == 0 {
		t.Errorf("%d runs of %d users; %d minute-polls saw a run in progress; want 80 runs", total, users, inProgress)
	}
}
