package digest

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// tenant is a simulated tenant on a fixed clock, read with the real Graph client.
type tenant struct {
	sim    *graphsim.Sim
	client *graph.Client
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	sim := graphsim.New(graphsim.Options{Now: func() time.Time { return t0 }, Seed: 1, PageSize: 3})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	c, err := graph.New(graph.Options{BaseURL: hs.URL, Credential: graph.NewStaticCredential("t"), TenantID: "tenant-1",
		MaxRetryTime: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &tenant{sim: sim, client: c}
}

// outcome is one result the test makes: a run for one user, final at once at an offset
// from t0, failing a task for a reason when it is not completed.
type outcome struct {
	user         int
	at           time.Duration
	status       string
	task, reason string
}

// fill makes the outcomes in workflow wf for users, and returns the result ids.
func (tn *tenant) fill(wf graphsim.Workflow, users []graphsim.User, outs []outcome) []string {
	var ids []string
	for _, o := range outs {
		spec := graphsim.RunSpec{ScheduledAt: t0.Add(o.at), Users: []string{users[o.user].ID}, Status: o.status}
		if o.task != "" {
			spec.Failures = []graphsim.TaskFailure{{Task: o.task, Reason: o.reason}}
		}
		ids = append(ids, tn.sim.StartRunWith(wf.ID, spec).Results[0])
	}
	return ids
}

func TestBuildCountsWhatHappened(t *testing.T) {
	tn := newTenant(t)
	users := tn.sim.AddUsers(6)
	wf := tn.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard", Category: graphsim.CategoryLeaver})
	stopped := tn.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard", Category: graphsim.CategoryJoiner})
	tn.sim.Quarantine(stopped.ID, graphsim.QuarantineCount, "412 users in scope")
	tn.sim.SetWorkflowEnabled(stopped.ID, false)
	taskA, taskB := wf.Tasks[0].DisplayName, wf.Tasks[1].DisplayName
	ids := tn.fill(wf, users, []outcome{
		{0, -20 * time.Hour, events.StatusCompleted, "", ""},
		{1, -19 * time.Hour, events.StatusFailed, taskA, "Insufficient privileges."},
		{1, -5 * time.Hour, events.StatusCompleted, "", ""}, // u1 re-run: resolved
		{2, -10 * time.Hour, events.StatusFailed, taskA, "Insufficient privileges."},
		{3, -8 * time.Hour, events.StatusCompletedWithErrors, taskB, "The user owns the last Team."},
		{4, -30 * time.Hour, events.StatusFailed, taskA, "Before the period."},
		{5, -2 * time.Hour, events.StatusFailed, taskA, "Insufficient privileges."},
		{5, -90 * time.Minute, events.StatusFailed, taskB, "Failed again."}, // u5's latest failure
	})
	p := events.Period{Start: t0.Add(-24 * time.Hour), End: t0, Schedule: "daily@09:00", TimeZone: "UTC"}

	var mu sync.Mutex
	var progress []int
	b, err := New(Options{Graph: tn.client, Progress: func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, done*10+total)
	}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Build(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if d.Partial || d.TenantID != "tenant-1" || d.Period != p || len(d.Workflows) != 2 {
		t.Fatalf("digest = %+v", d)
	}
	if !reflect.DeepEqual(progress, []int{12, 22}) {
		t.Errorf("progress = %v, want 1 of 2 then 2 of 2", progress)
	}
	got := d.Workflows[0]
	if got.Workflow.ID != wf.ID || got.Missing != "" {
		t.Fatalf("first workflow = %+v, want %s whole", got, wf.ID)
	}
	// Scheduled in the period (the summary): 7 results, of which 2 completed.
	if want := (events.UserCounts{Processed: 7, Succeeded: 2, Failed: 4, CompletedWithErrors: 1}); got.Users != want {
		t.Errorf("users = %+v, want %+v", got.Users, want)
	}
	if want := (events.RunCounts{Total: 7, Succeeded: 2, Failed: 5}); got.Runs != want {
		t.Errorf("runs = %+v, want %+v (graphsim counts completedWithErrors as failed)", got.Runs, want)
	}
	wantReasons := []events.ReasonCount{
		{Task: taskA, Reason: "Insufficient privileges.", Count: 3},
		{Task: taskB, Reason: "Failed again.", Count: 1},
		{Task: taskB, Reason: "The user owns the last Team.", Count: 1},
	}
	if !reflect.DeepEqual(got.TopReasons, wantReasons) || got.ReasonSample != (events.ReasonSample{Read: 5, Of: 5}) {
		t.Errorf("reasons = %+v from %+v, want %+v from all 5", got.TopReasons, got.ReasonSample, wantReasons)
	}
	var open []string
	for _, u := range got.Unresolved {
		open = append(open, u.ResultID)
		if u.User.DisplayName == "" {
			t.Errorf("unresolved %s without the user's name: %+v", u.ResultID, u.User)
		}
	}
	if want := []string{ids[7], ids[4], ids[3]}; !reflect.DeepEqual(open, want) || got.UnresolvedTotal != 3 {
		t.Errorf("unresolved = %v (total %d), want %v: u5's latest, u3, u2, newest first", open, got.UnresolvedTotal, want)
	}

	st := d.Workflows[1].State
	q, err := st.Quarantine()
	if err != nil || q.QuarantineType != graphsim.QuarantineCount || q.QuarantineReason != "412 users in scope" || st.IsEnabled {
		t.Errorf("stopped workflow's state = %+v (%+v, %v), want quarantined and disabled", st, q, err)
	}
}

func TestBuildBoundsItsReads(t *testing.T) {
	tn := newTenant(t)
	users := tn.sim.AddUsers(30)
	wf := tn.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard", Category: graphsim.CategoryLeaver})
	var outs []outcome
	for i := range users {
		outs = append(outs, outcome{i, -time.Duration(i+1) * time.Minute, events.StatusFailed, wf.Tasks[0].DisplayName, "Nope."})
	}
	tn.fill(wf, users, outs)
	b, _ := New(Options{Graph: tn.client, MaxSampled: 4, MaxUnresolved: 3})
	tn.sim.ResetStats()
	d, err := b.Build(context.Background(), events.Period{Start: t0.Add(-time.Hour), End: t0})
	if err != nil {
		t.Fatal(err)
	}
	w := d.Workflows[0]
	if w.ReasonSample != (events.ReasonSample{Read: 4, Of: 30}) || w.TopReasons[0].Count != 4 {
		t.Errorf("reasons %+v from %+v, want 4 read of 30", w.TopReasons, w.ReasonSample)
	}
	if len(w.Unresolved) != 3 || w.UnresolvedTotal != 30 {
		t.Errorf("%d unresolved listed of %d, want 3 of 30", len(w.Unresolved), w.UnresolvedTotal)
	}
	st := tn.sim.Stats().ByOp
	// Pages of three (a full page always has a next link): four results' task lists.
	if n, want := st[graphsim.OpListTaskResults].Requests, int64(4*(len(wf.Tasks)/3+1)); n != want {
		t.Errorf("%d task result pages, want %d: four results' lists", n, want)
	}
	if n := st[graphsim.OpGetUser].Requests; n != 3 {
		t.Errorf("%d user reads, want 3", n)
	}
}

// TestBuildSaysWhatIsMissing: what Graph does not answer makes the digest partial and
// is named; the rest is still reported, and a named workflow Graph does not know is
// listed as such.
func TestBuildSaysWhatIsMissing(t *testing.T) {
	tn := newTenant(t)
	users := tn.sim.AddUsers(1)
	wf := tn.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard", Category: graphsim.CategoryLeaver})
	tn.fill(wf, users, []outcome{{0, -time.Hour, events.StatusFailed, wf.Tasks[0].DisplayName, "Nope."}})
	tn.sim.InjectFault(graphsim.Fault{Op: graphsim.OpRunSummary, Kind: graphsim.FaultUnavailable, Times: 100})
	b, _ := New(Options{Graph: tn.client, Workflows: []string{wf.ID, "wf-gone", wf.ID}})
	d, err := b.Build(context.Background(), events.Period{Start: t0.Add(-24 * time.Hour), End: t0})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Partial || len(d.Workflows) != 2 {
		t.Fatalf("digest = %+v, want partial with two workflows", d)
	}
	w := d.Workflows[0]
	if !strings.Contains(w.Missing, "run summary") || w.Users.Failed != 1 || w.Users.Processed != 1 {
		t.Errorf("workflow = %+v: want the run summary missing and the rest counted", w)
	}
	if g := d.Workflows[1]; g.Workflow.ID != "wf-gone" || !strings.Contains(g.Missing, "does not know") {
		t.Errorf("unknown workflow = %+v", g)
	}

	tn.sim.ClearFaults()
	tn.sim.ThrottleFor(time.Hour)
	if _, err := b.Build(context.Background(), events.Period{Start: t0.Add(-time.Hour), End: t0}); err == nil {
		t.Error("Build with no workflow list succeeded")
	}
}
