package graphsim_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

func TestResultShapeMatchesGraph(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	u := f.sim.AddUser(graphsim.User{DisplayName: "Ada Lovelace"})
	wf := f.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner})
	run := f.sim.StartRun(wf.ID, u.ID)

	r := f.get(t, lcw+"/"+wf.ID+"/runs/"+run.ID+"/userProcessingResults/"+run.Results[0])
	mustStatus(t, r, http.StatusOK)
	wantCtx := f.srv.URL + "/v1.0/$metadata#identityGovernance/lifecycleWorkflows/workflows('" + wf.ID +
		"')/runs('" + run.ID + "')/userProcessingResults/$entity"
	if got := r.body["@odata.context"]; got != wantCtx {
		t.Errorf("@odata.context = %v, want %v", got, wantCtx)
	}
	for _, k := range []string{"id", "completedDateTime", "failedTasksCount", "processingStatus", "scheduledDateTime",
		"startedDateTime", "totalTasksCount", "totalUnprocessedTasksCount", "workflowExecutionType", "workflowVersion", "subject"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("property %s missing from %s", k, r.raw)
		}
	}
	if r.body["completedDateTime"] != nil || r.body["startedDateTime"] != nil {
		t.Errorf("a queued result must have explicit null start and completion: %s", r.raw)
	}
	if got := r.body["subject"].(map[string]any)["id"]; got != u.ID {
		t.Errorf("subject.id = %v, want %v", got, u.ID)
	}
	if got := r.body["processingStatus"]; got != "queued" {
		t.Errorf("processingStatus = %v, want queued", got)
	}
	if r.header.Get("request-id") == "" {
		t.Error("no request-id header")
	}
}

// tenant is a small scenario most tests share: a joiner workflow with one run of three
// users (one in progress, one failed, one completed).
type tenant struct {
	wf    graphsim.Workflow
	run   graphsim.Run
	users []graphsim.User
}

func newTenant(t *testing.T, f *fixture) tenant {
	t.Helper()
	users := f.sim.AddUsers(3)
	wf := f.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner})
	run := f.sim.StartRun(wf.ID, users[0].ID, users[1].ID, users[2].ID)
	f.clock.Advance(time.Minute)
	f.sim.SetResultStatus(run.Results[0], events.StatusInProgress)
	f.clock.Advance(time.Minute)
	f.sim.SetResultStatus(run.Results[1], events.StatusFailed,
		graphsim.TaskFailure{Task: "Generate Temporary Access Pass and send via email to user's manager", Reason: graphsim.ReasonManagerNotSet})
	f.clock.Advance(time.Minute)
	f.sim.SetResultStatus(run.Results[2], events.StatusCompleted)
	return tenant{wf: wf, run: run, users: users}
}

func TestEveryEndpointAnswersOnBothVersions(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	from, to := ts(f.clock.Now().Add(-time.Hour)), ts(f.clock.Now())
	wf, run, res := tn.wf.ID, tn.run.ID, tn.run.Results[1]
	paths := []struct {
		path, wantContext string
	}{
		{"/identityGovernance/lifecycleWorkflows/workflows", "identityGovernance/lifecycleWorkflows/workflows"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf, "identityGovernance/lifecycleWorkflows/workflows/$entity"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/runs", "workflows('" + wf + "')/runs"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/runs/" + run, "workflows('" + wf + "')/runs/$entity"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/runs/summary(startDateTime=" + from + ",endDateTime=" + to + ")",
			"#microsoft.graph.identityGovernance.runSummary"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/userProcessingResults", "workflows('" + wf + "')/userProcessingResults"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/runs/" + run + "/userProcessingResults",
			"workflows('" + wf + "')/runs('" + run + "')/userProcessingResults"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/userProcessingResults/" + res,
			"workflows('" + wf + "')/userProcessingResults/$entity"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/runs/" + run + "/userProcessingResults/" + res,
			"runs('" + run + "')/userProcessingResults/$entity"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/userProcessingResults/summary(startDateTime=" + from + ",endDateTime=" + to + ")",
			"#microsoft.graph.identityGovernance.userSummary"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/userProcessingResults/" + res + "/taskProcessingResults",
			"userProcessingResults('" + res + "')/taskProcessingResults"},
		{"/identityGovernance/lifecycleWorkflows/workflows/" + wf + "/runs/" + run + "/userProcessingResults/" + res + "/taskProcessingResults",
			"runs('" + run + "')/userProcessingResults('" + res + "')/taskProcessingResults"},
		{"/users/" + tn.users[0].ID, "#users/$entity"},
	}
	for _, version := range []string{"v1.0", "beta"} {
		for _, p := range paths {
			t.Run(version+p.path, func(t *testing.T) {
				r := f.get(t, "/"+version+p.path)
				mustStatus(t, r, http.StatusOK)
				ctx, _ := r.body["@odata.context"].(string)
				if !strings.HasPrefix(ctx, f.srv.URL+"/"+version+"/$metadata#") || !strings.HasSuffix(ctx, p.wantContext) {
					t.Errorf("@odata.context = %q, want %s/%s/$metadata#…%s", ctx, f.srv.URL, version, p.wantContext)
				}
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
					t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
				}
			})
		}
	}
}

func TestTimestampsUseGraphFormat(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	r := f.get(t, lcw+"/"+tn.wf.ID+"/userProcessingResults/"+tn.run.Results[2])
	mustStatus(t, r, http.StatusOK)
	// The clock started at 12:00:00.1234567 and moved three whole minutes.
	if got, want := r.body["completedDateTime"], "2026-05-01T12:03:00.1234567Z"; got != want {
		t.Errorf("completedDateTime = %v, want %v", got, want)
	}
	if got, want := r.body["scheduledDateTime"], "2026-05-01T12:00:00.1234567Z"; got != want {
		t.Errorf("scheduledDateTime = %v, want %v", got, want)
	}
	re := regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z"`)
	for _, m := range regexp.MustCompile(`"[^"]*DateTime":("[^"]*"|null)`).FindAllStringSubmatch(r.raw, -1) {
		if m[1] != "null" && !re.MatchString(m[1]) {
			t.Errorf("timestamp %s is not in Graph's format", m[1])
		}
	}
}

func TestRunFollowsItsResults(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	runURL := lcw + "/" + tn.wf.ID + "/runs/" + tn.run.ID
	before := f.get(t, runURL)
	mustStatus(t, before, http.StatusOK)
	if got := before.body["processingStatus"]; got != "inProgress" {
		t.Errorf("run status = %v, want inProgress", got)
	}
	if before.body["completedDateTime"] != nil {
		t.Errorf("a run with a result in progress has completedDateTime %v", before.body["completedDateTime"])
	}
	wantCounts := map[string]float64{"totalUsersCount": 3, "failedUsersCount": 1, "successfulUsersCount": 1,
		"failedTasksCount": 1, "totalTasksCount": 15}
	for k, want := range wantCounts {
		if got := before.body[k]; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}

	f.clock.Advance(5 * time.Minute)
	f.sim.SetResultStatus(tn.run.Results[0], events.StatusCompletedWithErrors)
	after := f.get(t, runURL)
	if got, want := after.body["lastUpdatedDateTime"], ts(f.clock.Now()); got != want {
		t.Errorf("lastUpdatedDateTime = %v, want %v (the time of the last result change)", got, want)
	}
	if got := after.body["processingStatus"]; got != "completedWithErrors" {
		t.Errorf("run status = %v, want completedWithErrors once every result is final with failures", got)
	}
	if got := after.body["completedDateTime"]; got != ts(f.clock.Now()) {
		t.Errorf("completedDateTime = %v, want %v", got, ts(f.clock.Now()))
	}
	if got := after.body["failedUsersCount"]; got != 2.0 {
		t.Errorf("failedUsersCount = %v, want 2", got)
	}
}

func TestTaskResultsExpandTask(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	base := lcw + "/" + tn.wf.ID + "/userProcessingResults/" + tn.run.Results[1] + "/taskProcessingResults"

	plain := f.get(t, base)
	mustStatus(t, plain, http.StatusOK)
	for _, tr := range plain.list() {
		if _, ok := tr["task"]; ok {
			t.Fatalf("task present without $expand: %v", tr)
		}
		if tr["subject"].(map[string]any)["id"] != tn.users[1].ID {
			t.Errorf("subject = %v, want {id: %s}", tr["subject"], tn.users[1].ID)
		}
	}

	r := f.get(t, q(base, "$expand", "task"))
	mustStatus(t, r, http.StatusOK)
	items := r.list()
	if len(items) != len(graphsim.JoinerTasks()) {
		t.Fatalf("got %d task results, want %d", len(items), len(graphsim.JoinerTasks()))
	}
	var got []string
	for _, tr := range items {
		task := tr["task"].(map[string]any)
		for _, k := range []string{"displayName", "description", "category", "executionSequence", "continueOnError"} {
			if _, ok := task[k]; !ok {
				t.Errorf("task lacks %s: %v", k, task)
			}
		}
		reason := "null"
		if s, ok := tr["failureReason"].(string); ok {
			reason = s
		}
		got = append(got, fmt.Sprintf("%s=%s (%s)", task["displayName"], tr["processingStatus"], reason))
	}
	want := []string{
		"Enable user account=completed (null)",
		"Add user to groups=completed (null)",
		"Assign licenses to user=completed (null)",
		"Generate Temporary Access Pass and send via email to user's manager=failed (" + graphsim.ReasonManagerNotSet + ")",
		"Send welcome email to new hire=canceled (null)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("task results:\n got %q\nwant %q", got, want)
	}
}

func TestSelect(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	r := f.get(t, q(lcw+"/"+tn.wf.ID+"/runs/"+tn.run.ID+"/userProcessingResults/"+tn.run.Results[1],
		"$select", "id,failedTasksCount,processingStatus,totalTasksCount,totalUnprocessedTasksCount,subject"))
	mustStatus(t, r, http.StatusOK)
	var keys []string
	for k := range r.body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"@odata.context", "failedTasksCount", "id", "processingStatus", "subject", "totalTasksCount", "totalUnprocessedTasksCount"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	if ctx := r.body["@odata.context"].(string); !strings.HasSuffix(ctx,
		"/userProcessingResults(id,failedTasksCount,processingStatus,totalTasksCount,totalUnprocessedTasksCount,subject)/$entity") {
		t.Errorf("@odata.context = %s", ctx)
	}

	bad := f.get(t, q(lcw+"/"+tn.wf.ID+"/userProcessingResults", "$select", "id,userName"))
	mustStatus(t, bad, http.StatusBadRequest)
	if !strings.Contains(bad.errorMessage(), "'userName'") {
		t.Errorf("message = %q, want it to name the property", bad.errorMessage())
	}
}

func TestUsers(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	u := f.sim.AddUser(graphsim.User{DisplayName: "<!channel> Mallory", UserPrincipalName: "mallory@contoso.com"})
	hidden := f.sim.AddUser(graphsim.User{DisplayName: "Hidden", Access: graphsim.UserForbidden})
	gone := f.sim.AddUser(graphsim.User{DisplayName: "Gone"})
	f.sim.SetUserAccess(gone.ID, graphsim.UserMissing)

	r := f.get(t, q("/v1.0/users/"+u.ID, "$select", "id,displayName,userPrincipalName"))
	mustStatus(t, r, http.StatusOK)
	if r.body["displayName"] != "<!channel> Mallory" || r.body["userPrincipalName"] != "mallory@contoso.com" || r.body["id"] != u.ID {
		t.Errorf("user = %s", r.raw)
	}
	if _, ok := r.body["jobTitle"]; ok {
		t.Errorf("$select returned an unselected property: %s", r.raw)
	}
	if byUPN := f.get(t, "/v1.0/users/mallory@contoso.com"); byUPN.body["id"] != u.ID {
		t.Errorf("lookup by UPN = %s", byUPN.raw)
	}

	tests := []struct {
		id       string
		status   int
		wantCode string
	}{
		{hidden.ID, http.StatusForbidden, "Authorization_RequestDenied"},
		{gone.ID, http.StatusNotFound, "Request_ResourceNotFound"},
		{"00000000-0000-0000-0000-000000000000", http.StatusNotFound, "Request_ResourceNotFound"},
	}
	for _, tt := range tests {
		r := f.get(t, q("/v1.0/users/"+tt.id, "$select", "id,displayName,userPrincipalName"))
		mustStatus(t, r, tt.status)
		if r.errorCode() != tt.wantCode {
			t.Errorf("code = %q, want %q", r.errorCode(), tt.wantCode)
		}
	}
}

func TestSummaries(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	now := f.clock.Now()
	call := "summary(startDateTime=" + ts(now.Add(-time.Hour)) + ",endDateTime=" + ts(now) + ")"
	users := f.get(t, lcw+"/"+tn.wf.ID+"/userProcessingResults/"+call)
	mustStatus(t, users, http.StatusOK)
	want := map[string]float64{"failedTasks": 1, "failedUsers": 1, "successfulUsers": 1, "totalTasks": 15, "totalUsers": 3}
	for k, v := range want {
		if users.body[k] != v {
			t.Errorf("userSummary.%s = %v, want %v", k, users.body[k], v)
		}
	}
	runs := f.get(t, lcw+"/"+tn.wf.ID+"/runs/"+call)
	mustStatus(t, runs, http.StatusOK)
	if runs.body["totalRuns"] != 1.0 || runs.body["totalUsers"] != 3.0 {
		t.Errorf("runSummary = %s", runs.raw)
	}

	for _, bad := range []string{
		"summary(startDateTime=" + ts(now) + ")",
		"summary(startDateTime='" + ts(now) + "',endDateTime=" + ts(now) + ")",
		"summary(startDateTime=" + ts(now.Add(-40*24*time.Hour)) + ",endDateTime=" + ts(now) + ")",
	} {
		r := f.get(t, lcw+"/"+tn.wf.ID+"/userProcessingResults/"+bad)
		mustStatus(t, r, http.StatusBadRequest)
	}
	if r := f.get(t, q(lcw+"/"+tn.wf.ID+"/runs/"+call, "$filter", "id eq 'x'")); r.status != http.StatusBadRequest {
		t.Errorf("summary with $filter: status %d, want 400", r.status)
	}
}

func TestRequestErrors(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown workflow", "GET", lcw + "/nope/runs", 404, "ResourceNotFound"},
		{"unknown run", "GET", lcw + "/" + tn.wf.ID + "/runs/nope", 404, "ResourceNotFound"},
		{"unknown result", "GET", lcw + "/" + tn.wf.ID + "/userProcessingResults/nope", 404, "ResourceNotFound"},
		{"result of another run", "GET", lcw + "/" + tn.wf.ID + "/runs/" + tn.wf.ID + "_1/userProcessingResults/" + tn.run.Results[0], 404, "ResourceNotFound"},
		{"unknown segment", "GET", lcw + "/" + tn.wf.ID + "/deletedItems", 400, "BadRequest"},
		{"unknown version", "GET", "/v2.0/identityGovernance/lifecycleWorkflows/workflows", 400, "BadRequest"},
		{"write to a report", "DELETE", lcw + "/" + tn.wf.ID + "/runs", 405, "Request_BadRequest"},
		{"undocumented option", "GET", q(lcw+"/"+tn.wf.ID+"/userProcessingResults", "$count", "true"), 400, "BadRequest"},
		{"option on a get", "GET", q(lcw+"/"+tn.wf.ID+"/runs/"+tn.run.ID, "$filter", "id eq 'x'"), 400, "BadRequest"},
		{"top too large", "GET", q(lcw+"/"+tn.wf.ID+"/userProcessingResults", "$top", "1000"), 400, "BadRequest"},
		{"top zero", "GET", q(lcw+"/"+tn.wf.ID+"/userProcessingResults", "$top", "0"), 400, "BadRequest"},
		{"orderby undocumented", "GET", q(lcw+"/"+tn.wf.ID+"/userProcessingResults", "$orderby", "totalTasksCount"), 400, "BadRequest"},
		{"orderby bad direction", "GET", q(lcw+"/"+tn.wf.ID+"/userProcessingResults", "$orderby", "id up"), 400, "BadRequest"},
		{"expand unknown", "GET", q(lcw+"/"+tn.wf.ID+"/userProcessingResults", "$expand", "run"), 400, "BadRequest"},
		{"filter or", "GET", q(lcw+"/"+tn.wf.ID+"/userProcessingResults", "$filter", "id eq 'a' or id eq 'b'"), 400, "BadRequest"},
		{"patch on v1.0", "PATCH", "/v1.0/workflowBase/userProcessingResults/" + tn.run.Results[0], 400, "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, tt.method, tt.path, "", "client-request-id", "c0ffee00-0000-4000-8000-000000000001")
			mustStatus(t, r, tt.status)
			if r.errorCode() != tt.code {
				t.Errorf("code = %q, want %q", r.errorCode(), tt.code)
			}
			assertErrorShape(t, r, "c0ffee00-0000-4000-8000-000000000001")
		})
	}
}

// assertErrorShape checks Graph's error body: code, message and innerError with date,
// request-id (equal to the header) and the client's request id.
func assertErrorShape(t *testing.T, r response, clientRequestID string) {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", r.raw)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("empty message: %s", r.raw)
	}
	inner, _ := e["innerError"].(map[string]any)
	if inner == nil {
		t.Fatalf("no innerError: %s", r.raw)
	}
	if _, err := time.Parse("2006-01-02T15:04:05", fmt.Sprint(inner["date"])); err != nil {
		t.Errorf("innerError.date = %v", inner["date"])
	}
	if inner["request-id"] != r.header.Get("request-id") || inner["request-id"] == "" {
		t.Errorf("innerError.request-id = %v, header %q", inner["request-id"], r.header.Get("request-id"))
	}
	if inner["client-request-id"] != clientRequestID || r.header.Get("client-request-id") != clientRequestID {
		t.Errorf("client-request-id = %v (header %q), want %s", inner["client-request-id"], r.header.Get("client-request-id"), clientRequestID)
	}
}
