package graph_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
	"github.com/lcwnotify/lcwnotify/watcher/graph/graphtest"
)

// actionTenant is a simulator on a manual clock with a joiner workflow, users and
// one finished run whose first user failed.
type actionTenant struct {
	sim    *graphsim.Sim
	clock  *graphsim.Clock
	client *graph.Client
	wf     graphsim.Workflow
	run    graphsim.Run
	users  []graphsim.User
}

func newActionTenant(t *testing.T, opts graphsim.Options, token string) actionTenant {
	t.Helper()
	clock := graphsim.NewClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	opts.Now, opts.Seed = clock.Now, 1
	sim := graphsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	users := sim.AddUsers(30)
	wf := sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard", Category: graphsim.CategoryJoiner})
	run := sim.StartRun(wf.ID, users[0].ID, users[1].ID)
	sim.SetResultStatus(run.Results[0], events.StatusFailed, graphsim.TaskFailure{Task: "Assign licenses to user", Reason: graphsim.ReasonNoLicenses})
	sim.SetResultStatus(run.Results[1], events.StatusCompleted)
	clock.Advance(time.Minute)
	c, err := graph.New(graph.Options{BaseURL: srv.URL, Credential: graph.NewStaticCredential(token), MaxRetryTime: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return actionTenant{sim: sim, clock: clock, client: c, wf: wf, run: run, users: users}
}

func (a actionTenant) userIDs(from, to int) []string {
	var ids []string
	for _, u := range a.users[from:to] {
		ids = append(ids, u.ID)
	}
	return ids
}

func TestSimActivateSplitsIntoCallsOfTen(t *testing.T) {
	ten := newActionTenant(t, graphsim.Options{}, "tok")
	ids := ten.userIDs(2, 27)         // 25 users
	ids = append(ids, ids[0], ids[3]) // repeats are sent once
	if err := ten.client.Activate(t.Context(), ten.wf.ID, ids); err != nil {
		t.Fatal(err)
	}
	acts := ten.sim.Activations()
	var sizes []int
	var all []string
	for _, a := range acts {
		sizes = append(sizes, len(a.Users))
		all = append(all, a.Users...)
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) || !slices.Equal(all, ten.userIDs(2, 27)) {
		t.Errorf("calls of %v users (%d in all), want 10, 10, 5 covering the 25 users once, in order", sizes, len(all))
	}
	run, _ := ten.sim.Run(ten.wf.ID, acts[0].RunID)
	if run.ExecutionType != graphsim.ExecutionOnDemand {
		t.Errorf("run = %+v", run)
	}
}

func TestSimActivateWithScopeIsMatchedToTheFailure(t *testing.T) {
	ten := newActionTenant(t, graphsim.Options{}, "tok")
	failed := ten.run.Results[0]
	ten.sim.SetActivationOutcome(func(graphsim.Activation, string) graphsim.Outcome {
		return graphsim.Outcome{Status: events.StatusFailed, Failures: []graphsim.TaskFailure{{Task: "Assign licenses to user", Reason: "Still no licenses."}}}
	})
	if err := ten.client.ActivateWithScope(t.Context(), ten.wf.ID, graph.ProcessingResultScope(graph.TaskScopeFailed, failed)); err != nil {
		t.Fatal(err)
	}
	ten.clock.Advance(graphsim.DefaultStartAfter + graphsim.DefaultDuration)
	now := ten.clock.Now()
	runs, err := ten.client.ListRuns(t.Context(), ten.wf.ID, graph.Query{Filter: graph.Between("scheduledDateTime", now.Add(-time.Hour), now)})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(runs, func(r graph.Run) bool { return r.ActivatedOnScope.Names(failed) })
	if i < 0 {
		t.Fatalf("no run names %s in its activatedOnScope: %+v", failed, runs)
	}
	rerun := runs[i]
	if rerun.WorkflowExecutionType != "activatedWithScope" || rerun.ActivatedOnScope.Kind != graph.ScopeProcessingResults ||
		rerun.ActivatedOnScope.TaskScope != graph.TaskScopeFailed || rerun.ProcessingStatus != "failed" {
		t.Errorf("re-run = %+v, scope %+v", rerun, rerun.ActivatedOnScope)
	}
	if n := slices.IndexFunc(runs, func(r graph.Run) bool { return r.ID == ten.run.ID && r.ActivatedOnScope == nil }); n < 0 {
		t.Errorf("the original run should have no activatedOnScope: %+v", runs)
	}
	results, err := ten.client.ListRunResults(t.Context(), ten.wf.ID, rerun.ID, graph.Query{Filter: graph.Between("scheduledDateTime", now.Add(-time.Hour), now)})
	if err != nil || len(results) != 1 {
		t.Fatalf("re-run results = %+v, %v", results, err)
	}
	tasks, err := ten.client.ListTaskResults(t.Context(), ten.wf.ID, rerun.ID, results[0].ID)
	if err != nil || len(tasks) != 1 || tasks[0].FailureReason == nil || *tasks[0].FailureReason != "Still no licenses." {
		t.Errorf("task results of the re-run = %+v, %v", tasks, err)
	}

	// A run scope: the failed users of the original run.
	if err := ten.client.ActivateWithScope(t.Context(), ten.wf.ID, graph.RunScope(ten.run.ID, graph.UserScopeFailed, graph.TaskScopeFailed)); err != nil {
		t.Fatal(err)
	}
	last := ten.sim.Activations()[1]
	if last.Scope != graphsim.ScopeRun || last.ScopeRunID != ten.run.ID || len(last.Users) != 1 || last.Users[0] != ten.users[0].ID {
		t.Errorf("run-scope activation = %+v", last)
	}
}

func TestSimActivateErrors(t *testing.T) {
	ten := newActionTenant(t, graphsim.Options{}, "tok")
	disabled := ten.sim.AddWorkflow(graphsim.Workflow{Disabled: true})
	ctx := t.Context()
	var ae *graph.ActivationError

	err := ten.client.Activate(ctx, "no-such-workflow", ten.userIDs(2, 3))
	if !errors.Is(err, graph.ErrNotFound) || !errors.As(err, &ae) || len(ae.Failed) != 1 {
		t.Errorf("unknown workflow: %v", err)
	}
	if err := ten.client.Activate(ctx, disabled.ID, ten.userIDs(2, 3)); !errors.Is(err, graph.ErrConflict) {
		t.Errorf("disabled workflow: err = %v, want ErrConflict", err)
	}
	var ge *graph.Error
	err = ten.client.Activate(ctx, ten.wf.ID, []string{"00000000-0000-4000-8000-000000000000"})
	if !errors.As(err, &ge) || ge.StatusCode != 406 || ge.Code == "" || ge.RequestID == "" {
		t.Errorf("unknown user: %v", err)
	}
	if err := ten.client.ActivateWithScope(ctx, ten.wf.ID, graph.ProcessingResultScope(graph.TaskScopeFailed, ten.run.Results[1])); !errors.As(err, &ge) || ge.StatusCode != 400 {
		t.Errorf("failed tasks of a completed result: %v", err)
	}

	// A failure in the second call: the first stays done, the rest is not sent.
	ids := ten.userIDs(2, 27)
	ids[12] = "00000000-0000-4000-8000-000000000000"
	err = ten.client.Activate(ctx, ten.wf.ID, ids)
	if !errors.As(err, &ae) || len(ae.Activated) != 10 || len(ae.Failed) != 10 || len(ae.NotSent) != 5 || len(ae.Unconfirmed) != 0 {
		t.Fatalf("err = %v (%+v)", err, ae)
	}
	if n := len(ten.sim.Activations()); n != 1 {
		t.Errorf("%d activations, want the first call's only", n)
	}

	// Refused before sending: nothing reaches Graph.
	before := ten.sim.Stats().Requests
	for name, call := range map[string]func() error{
		"no users": func() error { return ten.client.Activate(ctx, ten.wf.ID, nil) },
		"empty id": func() error { return ten.client.Activate(ctx, ten.wf.ID, []string{""}) },
		"empty wf": func() error { return ten.client.Activate(ctx, "", ten.userIDs(2, 3)) },
		"no results": func() error {
			return ten.client.ActivateWithScope(ctx, ten.wf.ID, graph.ProcessingResultScope(graph.TaskScopeFailed))
		},
		"task scope": func() error {
			return ten.client.ActivateWithScope(ctx, ten.wf.ID, graph.ProcessingResultScope("someTasks", "x"))
		},
		"user scope": func() error {
			return ten.client.ActivateWithScope(ctx, ten.wf.ID, graph.RunScope("r", "", graph.TaskScopeAll))
		},
		"no run": func() error {
			return ten.client.ActivateWithScope(ctx, ten.wf.ID, graph.RunScope("", graph.UserScopeAll, graph.TaskScopeAll))
		},
		"unknown kind": func() error {
			return ten.client.ActivateWithScope(ctx, ten.wf.ID, graph.ActivationScope{Kind: "activateGroupScope"})
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		} else if name != "empty wf" && !errors.Is(err, graph.ErrInvalidQuery) {
			t.Errorf("%s: err = %v, want ErrInvalidQuery", name, err)
		}
	}
	if after := ten.sim.Stats().Requests; after != before {
		t.Errorf("%d requests sent for invalid activations", after-before)
	}
}

// TestSimActivateRetries: what Graph cannot have executed is retried and activates
// once; what it may have executed is not retried and is reported unconfirmed.
func TestSimActivateRetries(t *testing.T) {
	tests := []struct {
		name            string
		fault           graphsim.Fault
		wantErr         error
		wantRequests    int64
		wantActivations int
	}{
		{"throttled", graphsim.Fault{Kind: graphsim.FaultThrottle, RetryAfter: 50 * time.Millisecond}, nil, 2, 1},
		{"unavailable", graphsim.Fault{Kind: graphsim.FaultUnavailable, RetryAfter: 20 * time.Millisecond}, nil, 2, 1},
		{"gateway timeout", graphsim.Fault{Kind: graphsim.FaultGatewayTimeout}, graph.ErrUnconfirmed, 1, 0},
		// The simulator activates, then breaks the answer off: retrying would run it twice.
		{"truncated after acting", graphsim.Fault{Kind: graphsim.FaultTruncated}, graph.ErrUnconfirmed, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ten := newActionTenant(t, graphsim.Options{}, "tok")
			tt.fault.Op = graphsim.OpActivate
			ten.sim.InjectFault(tt.fault)
			err := ten.client.Activate(t.Context(), ten.wf.ID, ten.userIDs(2, 4))
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var ae *graph.ActivationError
			if tt.wantErr != nil && (!errors.As(err, &ae) || len(ae.Unconfirmed) != 2) {
				t.Errorf("err = %v, want both users unconfirmed", err)
			}
			if got := ten.sim.Stats().ByOp[graphsim.OpActivate].Requests; got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
			if got := len(ten.sim.Activations()); got != tt.wantActivations {
				t.Errorf("%d activations, want %d", got, tt.wantActivations)
			}
		})
	}
}

func TestSimActivatePermission(t *testing.T) {
	readOnly := graphtest.NewToken(map[string]any{"tid": "t", "roles": []string{"LifecycleWorkflows-Reports.Read.All", "LifecycleWorkflows-Workflow.ReadBasic.All"}})
	ten := newActionTenant(t, graphsim.Options{RequireRoles: true}, readOnly)
	ok, err := ten.client.CanActivate(t.Context())
	if err != nil || ok {
		t.Errorf("CanActivate() = %v, %v; want false", ok, err)
	}
	err = ten.client.Activate(t.Context(), ten.wf.ID, ten.userIDs(2, 3))
	var ge *graph.Error
	if !errors.Is(err, graph.ErrForbidden) || !errors.As(err, &ge) || ge.Code != "Authorization_RequestDenied" {
		t.Errorf("err = %v, want 403 Authorization_RequestDenied", err)
	}
	if _, err := ten.client.ListWorkflows(t.Context()); err != nil {
		t.Errorf("the read-only token cannot read: %v", err)
	}

	actor := graphtest.NewToken(map[string]any{"tid": "t", "roles": []string{graph.PermissionActivate}})
	ten = newActionTenant(t, graphsim.Options{RequireRoles: true}, actor)
	if ok, err := ten.client.CanActivate(t.Context()); err != nil || !ok {
		t.Errorf("CanActivate() = %v, %v; want true", ok, err)
	}
	if err := ten.client.Activate(t.Context(), ten.wf.ID, ten.userIDs(2, 3)); err != nil {
		t.Error(err)
	}
}

func TestSimWorkflowState(t *testing.T) {
	ten := newActionTenant(t, graphsim.Options{}, "tok")
	mover := ten.sim.AddWorkflow(graphsim.Workflow{Category: graphsim.CategoryMover})
	ten.sim.Quarantine(ten.wf.ID, graphsim.QuarantinePercentage, "Too many users.")
	wfs, err := ten.client.ListWorkflows(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]graph.Workflow{}
	for _, w := range wfs {
		byID[w.ID] = w
	}
	q := byID[ten.wf.ID]
	if !q.Quarantined() || q.QuarantineDetails.QuarantineType != graph.QuarantinePercentage ||
		q.QuarantineDetails.QuarantineReason != "Too many users." || q.QuarantineDetails.QuarantinedDateTime == nil ||
		!q.QuarantineDetails.QuarantinedDateTime.Equal(ten.clock.Now()) || q.NextScheduleRunDateTime != nil {
		t.Errorf("quarantined workflow = %+v, details %+v", q, q.QuarantineDetails)
	}
	m := byID[mover.ID]
	want := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if m.Quarantined() || m.QuarantineDetails == nil || m.Category != "mover" || m.NextScheduleRunDateTime == nil || !m.NextScheduleRunDateTime.Equal(want) {
		t.Errorf("mover workflow = %+v (next run %v, want %v)", m, m.NextScheduleRunDateTime, want)
	}
	ten.sim.SetWorkflowEnabled(mover.ID, false)
	got, err := ten.client.GetWorkflow(t.Context(), mover.ID)
	if err != nil || got.IsEnabled || got.IsSchedulingEnabled || got.NextScheduleRunDateTime != nil {
		t.Errorf("GetWorkflow(disabled) = %+v, %v", got, err)
	}
	if n := ten.sim.Stats().ByOp[graphsim.OpListWorkflows].Requests; n != 1 {
		t.Errorf("the workflow state took %d list requests, want 1", n)
	}
}

func TestSimProcessingInfoAndSummaries(t *testing.T) {
	ten := newActionTenant(t, graphsim.Options{}, "tok")
	run := ten.sim.StartRun(ten.wf.ID, ten.users[5].ID, ten.users[6].ID, ten.users[7].ID)
	ten.sim.UpdateResult(run.Results[0], graphsim.ResultUpdate{Status: events.StatusCompleted,
		Info: []graphsim.TaskInfo{{Task: "Add user to groups", Info: "The user already was a member of every group."}}})
	ten.sim.SetResultStatus(run.Results[1], events.StatusCompletedWithErrors)
	ten.sim.SetResultStatus(run.Results[2], events.StatusFailed)
	tasks, err := ten.client.ListTaskResults(t.Context(), ten.wf.ID, run.ID, run.Results[0])
	if err != nil {
		t.Fatal(err)
	}
	var infos []string
	for _, tr := range tasks {
		if tr.ProcessingInfo != nil {
			infos = append(infos, tr.Task.DisplayName+": "+*tr.ProcessingInfo)
		}
	}
	if !slices.Equal(infos, []string{"Add user to groups: The user already was a member of every group."}) {
		t.Errorf("processingInfo = %q", infos)
	}

	now := ten.clock.Now()
	us, err := ten.client.UserSummary(t.Context(), ten.wf.ID, now.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	// 5 results: the setup's failed and completed, then completed, completedWithErrors, failed.
	if want := (graph.UserSummary{FailedTasks: 3, FailedUsers: 3, SuccessfulUsers: 2, TotalTasks: 25, TotalUsers: 5}); us != want {
		t.Errorf("UserSummary() = %+v, want %+v", us, want)
	}
	rs, err := ten.client.RunSummary(t.Context(), ten.wf.ID, now.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (graph.RunSummary{FailedRuns: 2, FailedTasks: 3, SuccessfulRuns: 0, TotalRuns: 2, TotalTasks: 25, TotalUsers: 5}); rs != want {
		t.Errorf("RunSummary() = %+v, want %+v", rs, want)
	}
	var ge *graph.Error
	if _, err := ten.client.RunSummary(t.Context(), ten.wf.ID, now.AddDate(0, 0, -31), now); !errors.As(err, &ge) || ge.StatusCode != 400 {
		t.Errorf("a summary beyond 30 days: err = %v, want Graph's 400", err)
	}
}
