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
)

// These tests run the client against internal/graphsim, a simulator written separately
// from Graph's documentation, with its strict $filter, server-driven paging, evolvable
// enums and faults.

const simToken = "sim-token"

type simTenant struct {
	sim    *graphsim.Sim
	client *graph.Client
	wf     graphsim.Workflow
	run    graphsim.Run
	users  []graphsim.User
}

// newSimTenant builds a leaver workflow with one run over five users: one failed, one
// quarantined, one completed, two queued.
func newSimTenant(t *testing.T, pageSize int, mod ...func(*graph.Options)) simTenant {
	t.Helper()
	sim := graphsim.New(graphsim.Options{Token: simToken, PageSize: pageSize, Seed: 1})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	users := sim.AddUsers(5)
	sim.SetUserAccess(users[4].ID, graphsim.UserForbidden)
	wf := sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard", Category: graphsim.CategoryLeaver})
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	run := sim.StartRunWith(wf.ID, graphsim.RunSpec{Users: ids, ExecutionType: graphsim.ExecutionActivatedWithScope})
	sim.SetResultStatus(run.Results[0], events.StatusInProgress)
	sim.SetResultStatus(run.Results[0], events.StatusFailed, graphsim.TaskFailure{Task: "Remove user from all groups", Reason: "Insufficient privileges"})
	sim.SetResultStatus(run.Results[1], events.StatusQuarantined)
	sim.SetResultStatus(run.Results[2], events.StatusInProgress)
	sim.SetResultStatus(run.Results[2], events.StatusCompleted)

	o := graph.Options{BaseURL: srv.URL, Credential: graph.NewStaticCredential(simToken), MaxRetryTime: 10 * time.Second}
	for _, m := range mod {
		m(&o)
	}
	c, err := graph.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return simTenant{sim: sim, client: c, wf: wf, run: run, users: users}
}

// around is a range that holds everything the tenant did.
func around() (time.Time, time.Time) {
	now := time.Now()
	return now.Add(-time.Hour), now.Add(time.Hour)
}

func statuses(rs []graph.UserProcessingResult) map[string]string {
	m := make(map[string]string, len(rs))
	for _, r := range rs {
		m[r.ID] = r.ProcessingStatus
	}
	return m
}

// TestSimPoll makes the requests a poll makes (docs/architecture.md), with the exact
// filter forms, through several pages.
func TestSimPoll(t *testing.T) {
	ten := newSimTenant(t, 2)
	ctx := t.Context()
	c := ten.client
	from, to := around()

	wfs, err := c.ListWorkflows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wfs) != 1 || wfs[0].ID != ten.wf.ID || wfs[0].DisplayName != "Offboard" || wfs[0].Category != "leaver" || !wfs[0].IsEnabled {
		t.Errorf("ListWorkflows() = %+v", wfs)
	}

	runs, err := c.ListRuns(ctx, ten.wf.ID, graph.Query{Filter: graph.Between("lastUpdatedDateTime", from, to)})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != ten.run.ID || runs[0].WorkflowExecutionType != "activatedWithScope" {
		t.Fatalf("ListRuns() = %+v, want run %s with its evolvable execution type", runs, ten.run.ID)
	}

	want := map[string]string{
		ten.run.Results[0]: "failed", ten.run.Results[1]: "quarantined", ten.run.Results[2]: "completed",
		ten.run.Results[3]: "queued", ten.run.Results[4]: "queued",
	}
	runResults, err := c.ListRunResults(ctx, ten.wf.ID, ten.run.ID, graph.Query{Filter: graph.Between("scheduledDateTime", from, to)})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(runResults); !mapsEqual(got, want) {
		t.Errorf("ListRunResults() statuses = %v, want %v", got, want)
	}

	completed, err := c.ListResults(ctx, ten.wf.ID, graph.Query{Filter: graph.Between("completedDateTime", from, to)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(completed), map[string]string{ten.run.Results[0]: "failed", ten.run.Results[2]: "completed"}; !mapsEqual(got, want) {
		t.Errorf("completed results = %v, want %v", got, want)
	}

	notFinal := graph.Where("processingStatus", graph.Ne, "completed").And(
		graph.Where("processingStatus", graph.Ne, "completedWithErrors"),
		graph.Where("processingStatus", graph.Ne, "failed"),
		graph.Where("processingStatus", graph.Ne, "canceled"),
		graph.Between("scheduledDateTime", time.Now().Add(-29*24*time.Hour), to))
	open, err := c.ListResults(ctx, ten.wf.ID, graph.Query{Filter: notFinal})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(open), map[string]string{ten.run.Results[1]: "quarantined", ten.run.Results[3]: "queued", ten.run.Results[4]: "queued"}; !mapsEqual(got, want) {
		t.Errorf("results not final = %v, want %v", got, want)
	}
	for _, r := range runResults {
		if r.SubjectID == "" || r.ScheduledDateTime == nil || r.TotalTasksCount == 0 || len(r.Raw) == 0 {
			t.Errorf("result %s lacks data: %+v", r.ID, r)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSimDetails reads what a notification needs: the result alone (both paths), its
// task results with the task, the user (or the id when forbidden), and the summaries.
func TestSimDetails(t *testing.T) {
	ten := newSimTenant(t, 0)
	ctx := t.Context()
	c := ten.client
	failedID := ten.run.Results[0]

	for _, runID := range []string{ten.run.ID, ""} {
		r, err := c.GetResult(ctx, ten.wf.ID, runID, failedID)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != failedID || r.ProcessingStatus != "failed" || r.FailedTasksCount != 1 || r.SubjectID != ten.users[0].ID || r.CompletedDateTime == nil {
			t.Errorf("GetResult(run %q) = %+v", runID, r)
		}
	}
	if _, err := c.GetResult(ctx, ten.wf.ID, "", "no-such-result"); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("GetResult(missing) err = %v, want ErrNotFound", err)
	}

	tasks, err := c.ListTaskResults(ctx, ten.wf.ID, ten.run.ID, failedID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(tasks, func(tr graph.TaskProcessingResult) bool { return tr.ProcessingStatus == "failed" })
	if i < 0 || tasks[i].Task.DisplayName != "Remove user from all groups" || tasks[i].FailureReason == nil ||
		*tasks[i].FailureReason != "Insufficient privileges" {
		t.Errorf("ListTaskResults() = %+v, want the failed task with its reason", tasks)
	}

	u, err := c.LookupUser(ctx, ten.users[0].ID)
	if err != nil || u.DisplayName != ten.users[0].DisplayName || u.UserPrincipalName != ten.users[0].UserPrincipalName {
		t.Errorf("LookupUser() = %+v, %v; want %+v", u, err, ten.users[0])
	}
	if u, err := c.LookupUser(ctx, ten.users[4].ID); err != nil || u != (graph.User{ID: ten.users[4].ID}) {
		t.Errorf("LookupUser(forbidden) = %+v, %v; want the id alone", u, err)
	}

	from, to := around()
	us, err := c.UserSummary(ctx, ten.wf.ID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if us.TotalUsers != 5 || us.FailedUsers != 1 {
		t.Errorf("UserSummary() = %+v, want 5 users, 1 failed", us)
	}
	if _, err := c.RunSummary(ctx, ten.wf.ID, from, to); err != nil {
		t.Error(err)
	}
}

// TestSimFaults: throttling, 503, 504 and a truncated body are absorbed by retries; a
// malformed body is ErrMalformedResponse; a wrong token ErrUnauthorized.
func TestSimFaults(t *testing.T) {
	from, to := around()
	q := graph.Query{Filter: graph.Between("scheduledDateTime", from, to)}
	recovered := []graphsim.Fault{
		{Kind: graphsim.FaultThrottle, RetryAfter: 150 * time.Millisecond},
		{Kind: graphsim.FaultUnavailable, RetryAfter: 50 * time.Millisecond},
		{Kind: graphsim.FaultGatewayTimeout},
		{Kind: graphsim.FaultTruncated},
	}
	for _, f := range recovered {
		t.Run(f.Kind.String(), func(t *testing.T) {
			ten := newSimTenant(t, 2)
			ten.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListRunResults, Kind: f.Kind, RetryAfter: f.RetryAfter})
			got, err := ten.client.ListRunResults(t.Context(), ten.wf.ID, ten.run.ID, q)
			if err != nil || len(got) != 5 {
				t.Fatalf("ListRunResults() = %d results, %v; want all 5 after a retry", len(got), err)
			}
			if n := ten.sim.PendingFaults(); n != 0 {
				t.Errorf("%d faults did not fire", n)
			}
		})
	}
	t.Run("malformed", func(t *testing.T) {
		ten := newSimTenant(t, 2)
		ten.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListRunResults, Kind: graphsim.FaultMalformed})
		got, err := ten.client.ListRunResults(t.Context(), ten.wf.ID, ten.run.ID, q)
		if !errors.Is(err, graph.ErrMalformedResponse) || got != nil {
			t.Fatalf("ListRunResults() = %v, %v; want ErrMalformedResponse", got, err)
		}
	})
	t.Run("throttled past the budget", func(t *testing.T) {
		ten := newSimTenant(t, 2, func(o *graph.Options) { o.MaxRetryTime = 300 * time.Millisecond })
		ten.sim.ThrottleFor(time.Minute)
		if _, err := ten.client.ListWorkflows(t.Context()); !errors.Is(err, graph.ErrThrottled) {
			t.Fatalf("err = %v, want ErrThrottled", err)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		ten := newSimTenant(t, 2, func(o *graph.Options) { o.Credential = graph.NewStaticCredential("other") })
		_, err := ten.client.ListWorkflows(t.Context())
		var ge *graph.Error
		if !errors.Is(err, graph.ErrUnauthorized) || !errors.As(err, &ge) || ge.Code == "" || ge.RequestID == "" || ge.ClientRequestID == "" {
			t.Fatalf("err = %#v, want ErrUnauthorized with Graph's code and ids", err)
		}
	})
	t.Run("beyond 30 days", func(t *testing.T) {
		ten := newSimTenant(t, 2)
		_, err := ten.client.ListResults(t.Context(), ten.wf.ID, graph.Query{Filter: graph.Between("completedDateTime", from.Add(-40*24*time.Hour), to)})
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.StatusCode != 400 || ge.Code == "" {
			t.Fatalf("err = %v, want Graph's 400", err)
		}
	})
}
