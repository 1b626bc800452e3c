package graphsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// nextTick is the first multiple of interval (since the Unix epoch) after t.
func nextTick(t time.Time, interval time.Duration) time.Time {
	return t.Truncate(interval).Add(interval)
}

func TestWorkflowStateProperties(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	wf := f.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard", Category: graphsim.CategoryLeaver})
	r := f.get(t, lcw+"/"+wf.ID)
	mustStatus(t, r, http.StatusOK)
	if got, want := r.body["nextScheduleRunDateTime"], ts(nextTick(f.clock.Now(), 3*time.Hour)); got != want {
		t.Errorf("nextScheduleRunDateTime = %v, want %v (the next tick of the 3-hour schedule)", got, want)
	}
	qd, _ := r.body["quarantineDetails"].(map[string]any)
	if len(qd) != 3 || qd["quarantineType"] != "notQuarantined" || qd["quarantinedDateTime"] != nil || qd["quarantineReason"] != nil {
		t.Errorf("quarantineDetails = %v", r.body["quarantineDetails"])
	}
	if !strings.Contains(r.raw, `"settings":{"quarantineConfiguration":null}`) {
		t.Errorf("settings of a workflow without limits: %s", r.raw)
	}

	// The watcher's single list request: $select with the state properties.
	sel := "id,displayName,category,version,isEnabled,isSchedulingEnabled,nextScheduleRunDateTime,quarantineDetails"
	list := f.get(t, q(lcw, "$select", sel))
	mustStatus(t, list, http.StatusOK)
	item := list.list()[0]
	if len(item) != 8 || item["quarantineDetails"] == nil || item["nextScheduleRunDateTime"] == nil {
		t.Errorf("selected workflow = %v", item)
	}
	if ctx := list.body["@odata.context"].(string); !strings.HasSuffix(ctx, "workflows("+sel+")") {
		t.Errorf("@odata.context = %s", ctx)
	}

	// nextScheduleRunDateTime documents lt and gt.
	later := ts(f.clock.Now().Add(4 * time.Hour))
	if got := f.get(t, q(lcw, "$filter", "nextScheduleRunDateTime lt "+later)).list(); len(got) != 1 {
		t.Errorf("nextScheduleRunDateTime lt: %d workflows, want 1", len(got))
	}
	for _, bad := range []string{"nextScheduleRunDateTime ge " + later, "quarantineDetails/quarantineType eq 'notQuarantined'"} {
		if r := f.get(t, q(lcw, "$filter", bad)); r.status != http.StatusBadRequest {
			t.Errorf("$filter=%s: status %d, want 400", bad, r.status)
		}
	}
	if r := f.get(t, q(lcw, "$orderby", "quarantineDetails")); r.status != http.StatusBadRequest {
		t.Errorf("$orderby on a complex property: status %d, want 400", r.status)
	}

	f.sim.SetQuarantineLimits(wf.ID, graphsim.QuarantineLimits{MaxUsers: 100, MaxPercent: 25, MatchMode: graphsim.MatchAll})
	r = f.get(t, lcw+"/"+wf.ID)
	want := `"settings":{"quarantineConfiguration":{"matchMode":"all","conditions":[` +
		`{"@odata.type":"#microsoft.graph.identityGovernance.countBasedQuarantineCondition","threshold":100},` +
		`{"@odata.type":"#microsoft.graph.identityGovernance.percentageBasedQuarantineCondition","percentage":25}]}}`
	if !strings.Contains(r.raw, want) {
		t.Errorf("settings = %s, want %s", r.raw, want)
	}
}

func TestDisabledWorkflow(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	u := f.sim.AddUsers(1)[0]
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	f.sim.SetWorkflowEnabled(wf.ID, false)
	r := f.get(t, lcw+"/"+wf.ID)
	if r.body["isEnabled"] != false || r.body["isSchedulingEnabled"] != false || r.body["nextScheduleRunDateTime"] != nil {
		t.Errorf("disabled workflow = %s", r.raw)
	}
	mustStatus(t, f.post(t, lcw+"/"+wf.ID+"/activate", subjects(u.ID)), http.StatusConflict)
	f.sim.SetWorkflowEnabled(wf.ID, true)
	r = f.get(t, lcw+"/"+wf.ID)
	if r.body["isEnabled"] != true || r.body["isSchedulingEnabled"] != true || r.body["nextScheduleRunDateTime"] == nil {
		t.Errorf("enabled again = %s", r.raw)
	}
	f.sim.SetSchedulingEnabled(wf.ID, false)
	if r := f.get(t, lcw+"/"+wf.ID); r.body["isSchedulingEnabled"] != false || r.body["nextScheduleRunDateTime"] != nil {
		t.Errorf("scheduling off = %s", r.raw)
	}
	mustStatus(t, f.post(t, lcw+"/"+wf.ID+"/activate", subjects(u.ID)), http.StatusNoContent)
}

// everyone plans the same users for every scheduled run, completing.
func everyone(ids ...string) graphsim.ScheduleHook {
	return func(graphsim.ScheduledRun) []graphsim.PlannedResult {
		out := make([]graphsim.PlannedResult, len(ids))
		for i, id := range ids {
			out[i] = graphsim.PlannedResult{UserID: id}
		}
		return out
	}
}

func TestScheduledRunOverTheLimitQuarantinesTheWorkflow(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	users := f.sim.AddUsers(3)
	wf := f.sim.AddWorkflow(graphsim.Workflow{Category: graphsim.CategoryLeaver, Limits: graphsim.QuarantineLimits{MaxUsers: 2}})
	f.sim.SetScheduleHook(everyone(users[0].ID, users[1].ID, users[2].ID))
	tick := nextTick(f.clock.Now(), 3*time.Hour)
	f.clock.Advance(tick.Add(time.Hour).Sub(f.clock.Now())) // long after the run would have finished

	r := f.get(t, lcw+"/"+wf.ID, "Prefer", preferEnums)
	qd := r.body["quarantineDetails"].(map[string]any)
	if qd["quarantineType"] != "countBasedThresholdExceeded" || qd["quarantinedDateTime"] != ts(tick) ||
		!strings.Contains(qd["quarantineReason"].(string), "3 users") {
		t.Errorf("quarantineDetails = %v", qd)
	}
	if r.body["nextScheduleRunDateTime"] != nil {
		t.Errorf("a quarantined workflow has nextScheduleRunDateTime %v", r.body["nextScheduleRunDateTime"])
	}
	runs := f.sim.Runs(wf.ID)
	if len(runs) != 1 || !runs[0].Quarantined || runs[0].ScheduledAt != tick {
		t.Fatalf("runs = %+v, want the one quarantined run", runs)
	}
	runURL := lcw + "/" + wf.ID + "/runs/" + runs[0].ID
	if got := f.get(t, runURL).body["processingStatus"]; got != "unknownFutureValue" {
		t.Errorf("run status without Prefer = %v, want unknownFutureValue", got)
	}
	if got := f.get(t, runURL, "Prefer", preferEnums).body["processingStatus"]; got != "quarantined" {
		t.Errorf("run status with Prefer = %v, want quarantined", got)
	}
	for _, id := range runs[0].Results {
		if res, _ := f.sim.Result(id); res.Status != events.StatusQueued {
			t.Errorf("result %s of the quarantined run is %s, want queued", id, res.Status)
		}
	}

	// No further scheduled run while quarantined; an on-demand run still goes ahead.
	f.clock.Advance(6 * time.Hour)
	if n := len(f.sim.Runs(wf.ID)); n != 1 {
		t.Errorf("%d runs while quarantined, want 1", n)
	}
	mustStatus(t, f.post(t, lcw+"/"+wf.ID+"/activate", subjects(users[0].ID)), http.StatusNoContent)

	release := f.clock.Now()
	f.sim.ReleaseQuarantine(wf.ID)
	f.clock.Advance(graphsim.DefaultStartAfter + graphsim.DefaultDuration)
	st := f.sim.WorkflowState(wf.ID)
	if st.QuarantineType != graphsim.QuarantineNone || !st.QuarantinedAt.IsZero() || st.NextScheduleRunAt != nextTick(release, 3*time.Hour) {
		t.Errorf("state after release = %+v", st)
	}
	held, _ := f.sim.Run(wf.ID, runs[0].ID)
	if held.Quarantined || held.Status != events.StatusCompleted {
		t.Errorf("held run after release = %+v, want it to have gone on and completed", held)
	}
	if got := f.get(t, lcw+"/"+wf.ID).body["quarantineDetails"].(map[string]any)["quarantineType"]; got != "notQuarantined" {
		t.Errorf("quarantineType after release = %v", got)
	}
}

func TestQuarantineByHand(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	f.sim.Quarantine(wf.ID, "manualReviewRequested", "")
	r := f.get(t, lcw+"/"+wf.ID)
	if got := r.body["quarantineDetails"].(map[string]any)["quarantineType"]; got != "unknownFutureValue" {
		t.Errorf("a newer quarantine type without Prefer = %v, want unknownFutureValue", got)
	}
	r = f.get(t, lcw+"/"+wf.ID, "Prefer", preferEnums)
	if got := r.body["quarantineDetails"].(map[string]any)["quarantineType"]; got != "manualReviewRequested" {
		t.Errorf("with Prefer = %v", got)
	}

	// clearQuarantine is delegated-only: an app is refused when roles are checked.
	cleared := f.post(t, lcw+"/"+wf.ID+"/clearQuarantine", "")
	mustStatus(t, cleared, http.StatusOK)
	if got := cleared.body["quarantineDetails"].(map[string]any)["quarantineType"]; got != "notQuarantined" {
		t.Errorf("clearQuarantine answered %s", cleared.raw)
	}
	strict := newFixture(t, graphsim.Options{RequireRoles: true, ValidToken: func(string) bool { return true },
		Roles: func(string) []string { return []string{graphsim.RoleReadWrite} }})
	wf2 := strict.sim.AddWorkflow(graphsim.Workflow{})
	strict.sim.Quarantine(wf2.ID, "", "")
	r = strict.post(t, lcw+"/"+wf2.ID+"/clearQuarantine", "")
	mustStatus(t, r, http.StatusForbidden)
	if st := strict.sim.WorkflowState(wf2.ID); st.QuarantineType != graphsim.QuarantineCount {
		t.Errorf("a refused clearQuarantine released the workflow: %+v", st)
	}
}

func TestQuarantineLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits graphsim.QuarantineLimits
		users  int
		want   string // "" for no quarantine
	}{
		{"under the count", graphsim.QuarantineLimits{MaxUsers: 5}, 5, ""},
		{"over the count", graphsim.QuarantineLimits{MaxUsers: 5}, 6, graphsim.QuarantineCount},
		{"over the share", graphsim.QuarantineLimits{MaxPercent: 10}, 3, graphsim.QuarantinePercentage},
		{"under the share", graphsim.QuarantineLimits{MaxPercent: 10}, 2, ""},
		{"both, any", graphsim.QuarantineLimits{MaxUsers: 2, MaxPercent: 10}, 3, graphsim.QuarantineMultiple},
		{"one of two, all", graphsim.QuarantineLimits{MaxUsers: 2, MaxPercent: 50, MatchMode: graphsim.MatchAll}, 3, ""},
		{"one of two, any", graphsim.QuarantineLimits{MaxUsers: 2, MaxPercent: 50}, 3, graphsim.QuarantineCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, graphsim.Options{})
			users := f.sim.AddUsers(20) // the directory: 10% is 2 users
			wf := f.sim.AddWorkflow(graphsim.Workflow{Limits: tt.limits})
			ids := make([]string, tt.users)
			for i := range ids {
				ids[i] = users[i].ID
			}
			run := f.sim.StartRun(wf.ID, ids...)
			st := f.sim.WorkflowState(wf.ID)
			got := ""
			if st.QuarantineType != graphsim.QuarantineNone {
				got = st.QuarantineType
			}
			if got != tt.want {
				t.Errorf("quarantine = %q, want %q", got, tt.want)
			}
			if snap, _ := f.sim.Run(wf.ID, run.ID); snap.Quarantined != (tt.want != "") {
				t.Errorf("run quarantined = %v", snap.Quarantined)
			}
			// On-demand runs are not subject to the limits.
			f.sim.ReleaseQuarantine(wf.ID)
			f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ExecutionType: graphsim.ExecutionOnDemand, Users: ids})
			if st := f.sim.WorkflowState(wf.ID); st.QuarantineType != graphsim.QuarantineNone {
				t.Errorf("an on-demand run quarantined the workflow: %+v", st)
			}
		})
	}
}
