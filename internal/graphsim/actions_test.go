package graphsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

const preferEnums = "include-unknown-enum-members"

// post sends a JSON body.
func (f *fixture) post(t *testing.T, path, body string, hdr ...string) response {
	t.Helper()
	return f.do(t, http.MethodPost, path, body, append([]string{"Content-Type", "application/json"}, hdr...)...)
}

func subjects(ids ...string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = `{"id":"` + id + `"}`
	}
	return `{"subjects":[` + strings.Join(parts, ",") + `]}`
}

func TestActivateRunsTheWorkflowOnDemand(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	users := f.sim.AddUsers(2)
	wf := f.sim.AddWorkflow(graphsim.Workflow{Category: graphsim.CategoryLeaver})

	r := f.post(t, lcw+"/"+wf.ID+"/activate", subjects(users[0].ID, users[1].ID), "client-request-id", "c0ffee00-0000-4000-8000-00000000000a")
	mustStatus(t, r, http.StatusNoContent)
	if r.raw != "" || r.header.Get("request-id") == "" {
		t.Errorf("204 with body %q, request-id %q", r.raw, r.header.Get("request-id"))
	}
	acts := f.sim.Activations()
	if len(acts) != 1 {
		t.Fatalf("activations = %+v, want one", acts)
	}
	a := acts[0]
	if a.Seq != 1 || a.Action != "activate" || a.WorkflowID != wf.ID || a.Scope != "" || len(a.Users) != 2 ||
		a.ClientRequestID != "c0ffee00-0000-4000-8000-00000000000a" || !a.At.Equal(f.clock.Now().Truncate(100)) {
		t.Errorf("activation = %+v", a)
	}
	run, ok := f.sim.Run(wf.ID, a.RunID)
	if !ok || run.ExecutionType != graphsim.ExecutionOnDemand || len(run.Results) != 2 || run.Status != events.StatusQueued {
		t.Fatalf("run = %+v, %v", run, ok)
	}
	body := f.get(t, lcw+"/"+wf.ID+"/runs/"+a.RunID)
	if body.body["workflowExecutionType"] != "onDemand" || body.body["activatedOnScope"] != nil {
		t.Errorf("run over HTTP = %s", body.raw)
	}

	// The results progress on the clock: queued, in progress, completed.
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{graphsim.DefaultStartAfter - time.Millisecond, events.StatusQueued},
		{time.Millisecond, events.StatusInProgress},
		{graphsim.DefaultDuration, events.StatusCompleted},
	}
	for _, st := range steps {
		f.clock.Advance(st.advance)
		res := f.get(t, lcw+"/"+wf.ID+"/userProcessingResults/"+run.Results[0])
		if got := res.body["processingStatus"]; got != st.want {
			t.Fatalf("after %v: processingStatus = %v, want %s", st.advance, got, st.want)
		}
	}
	if got, _ := f.sim.Run(wf.ID, a.RunID); got.Status != events.StatusCompleted || !got.CompletedAt.Equal(f.clock.Now().Truncate(100)) {
		t.Errorf("run after its results completed = %+v", got)
	}
}

func TestActivateRefusesBadRequests(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	users := f.sim.AddUsers(11)
	gone := f.sim.AddUser(graphsim.User{DisplayName: "Gone"})
	f.sim.SetUserAccess(gone.ID, graphsim.UserMissing)
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	off := f.sim.AddWorkflow(graphsim.Workflow{Disabled: true})
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	u0 := ids[0]
	tests := []struct {
		name, method, path, body, contentType string
		status                                int
		code, msg                             string
	}{
		{"no subjects", "POST", wf.ID, `{}`, "", 400, "BadRequest", "'subjects' is required"},
		{"null subjects", "POST", wf.ID, `{"subjects":null}`, "", 400, "BadRequest", "'StartArray' node was expected"},
		{"subjects not an array", "POST", wf.ID, `{"subjects":{"id":"` + u0 + `"}}`, "", 400, "BadRequest", "'StartObject' node was found"},
		{"empty subjects", "POST", wf.ID, `{"subjects":[]}`, "", 400, "BadRequest", "is empty"},
		{"eleven subjects", "POST", wf.ID, subjects(ids...), "", 400, "BadRequest", "at most 10"},
		{"a subject twice", "POST", wf.ID, subjects(u0, u0), "", 400, "BadRequest", "more than once"},
		{"subject not an object", "POST", wf.ID, `{"subjects":["` + u0 + `"]}`, "", 400, "BadRequest", "'StartObject' node was expected"},
		{"id not a string", "POST", wf.ID, `{"subjects":[{"id":42}]}`, "", 400, "BadRequest", "must be a string"},
		{"no id", "POST", wf.ID, `{"subjects":[{}]}`, "", 400, "BadRequest", "has no id"},
		{"another property", "POST", wf.ID, `{"subjects":[{"id":"` + u0 + `","userPrincipalName":"x"}]}`, "", 400, "BadRequest", "'userPrincipalName'"},
		{"wrong type", "POST", wf.ID, `{"subjects":[{"@odata.type":"#microsoft.graph.group","id":"` + u0 + `"}]}`, "", 400, "BadRequest", "not compatible"},
		{"unknown parameter", "POST", wf.ID, `{"subjects":[{"id":"` + u0 + `"}],"scope":{}}`, "", 400, "BadRequest", "'scope' in the request payload"},
		{"not JSON", "POST", wf.ID, `subjects=` + u0, "", 400, "BadRequest", "not a JSON object"},
		{"two JSON values", "POST", wf.ID, subjects(u0) + `{}`, "", 400, "BadRequest", "more than one JSON value"},
		{"form content type", "POST", wf.ID, subjects(u0), "application/x-www-form-urlencoded", 415, "UnsupportedMediaType", "application/json"},
		{"query option", "POST", wf.ID + "/activate?$select=id", subjects(u0), "", 400, "BadRequest", "not allowed"},
		{"GET", "GET", wf.ID, "", "", 405, "Request_BadRequest", "supports POST"},
		{"unknown workflow", "POST", "00000000-0000-4000-8000-000000000000", subjects(u0), "", 404, "ResourceNotFound", "workflow"},
		{"unknown user", "POST", wf.ID, subjects(u0, "11111111-1111-4111-8111-111111111111"), "", 406, "NotAcceptable", "11111111-1111-4111-8111-111111111111"},
		{"deleted user", "POST", wf.ID, subjects(gone.ID), "", 406, "NotAcceptable", gone.ID},
		{"disabled workflow", "POST", off.ID, subjects(u0), "", 409, "Conflict", "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := lcw + "/" + tt.path
			if !strings.Contains(tt.path, "/") {
				path += "/activate"
			}
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			r := f.do(t, tt.method, path, tt.body, "Content-Type", ct, "client-request-id", "c0ffee00-0000-4000-8000-000000000002")
			mustStatus(t, r, tt.status)
			if r.errorCode() != tt.code || !strings.Contains(r.errorMessage(), tt.msg) {
				t.Errorf("error = %s: %s, want %s containing %q", r.errorCode(), r.errorMessage(), tt.code, tt.msg)
			}
			assertErrorShape(t, r, "c0ffee00-0000-4000-8000-000000000002")
		})
	}
	if acts := f.sim.Activations(); len(acts) != 0 {
		t.Errorf("refused requests were recorded as activations: %+v", acts)
	}
	for _, w := range []string{wf.ID, off.ID} {
		if runs := f.sim.Runs(w); len(runs) != 0 {
			t.Errorf("refused requests started runs: %+v", runs)
		}
	}
}

func TestActivateActionNames(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	u := f.sim.AddUsers(1)[0]
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	for _, name := range []string{"activate", "microsoft.graph.identityGovernance.activate", "Activate"} {
		mustStatus(t, f.post(t, lcw+"/"+wf.ID+"/"+name, subjects(u.ID)), http.StatusNoContent)
	}
	beta := "/beta/identityGovernance/lifecycleWorkflows/workflows/" + wf.ID + "/activate"
	mustStatus(t, f.post(t, beta, subjects(u.ID)), http.StatusNoContent)
	if n := len(f.sim.Activations()); n != 4 {
		t.Errorf("activations = %d, want 4", n)
	}
	for _, bad := range []string{"activateNow", "microsoft.graph.activate", "activate/x"} {
		if r := f.post(t, lcw+"/"+wf.ID+"/"+bad, subjects(u.ID)); r.status != http.StatusBadRequest {
			t.Errorf("POST …/%s: status %d, want 400", bad, r.status)
		}
	}
}

// failedTenant is a workflow whose run ended with one failed user (the TAP task,
// whose later tasks were canceled), one completedWithErrors and one completed.
func failedTenant(t *testing.T, f *fixture) (graphsim.Workflow, graphsim.Run) {
	t.Helper()
	users := f.sim.AddUsers(3)
	wf := f.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard", Category: graphsim.CategoryJoiner})
	run := f.sim.StartRun(wf.ID, users[0].ID, users[1].ID, users[2].ID)
	f.clock.Advance(time.Minute)
	f.sim.SetResultStatus(run.Results[0], events.StatusFailed, graphsim.TaskFailure{
		Task: "Generate Temporary Access Pass and send via email to user's manager", Reason: graphsim.ReasonManagerNotSet})
	f.sim.SetResultStatus(run.Results[1], events.StatusCompletedWithErrors, graphsim.TaskFailure{Task: "Assign licenses to user"})
	f.sim.SetResultStatus(run.Results[2], events.StatusCompleted)
	f.clock.Advance(time.Minute)
	return wf, run
}

func processingResultScope(taskScope string, ids ...string) string {
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = `{"id":"` + id + `"}`
	}
	return `{"scope":{"@odata.type":"#microsoft.graph.identityGovernance.activateProcessingResultScope",` +
		`"processingResults":[` + strings.Join(refs, ",") + `],"taskScope":"` + taskScope + `"}}`
}

func TestActivateWithScopeReRunsFailedTasks(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	wf, orig := failedTenant(t, f)
	failed := orig.Results[0]
	mustStatus(t, f.post(t, lcw+"/"+wf.ID+"/activateWithScope", processingResultScope("failedTasks", failed)), http.StatusNoContent)

	a := f.sim.Activations()[0]
	if a.Action != "activateWithScope" || a.Scope != graphsim.ScopeProcessingResults || a.TaskScope != "failedTasks" ||
		len(a.ProcessingResults) != 1 || a.ProcessingResults[0] != failed || len(a.Users) != 1 {
		t.Fatalf("activation = %+v", a)
	}
	runURL := lcw + "/" + wf.ID + "/runs/" + a.RunID
	plain := f.get(t, runURL)
	if got := plain.body["workflowExecutionType"]; got != "unknownFutureValue" {
		t.Errorf("without Prefer: workflowExecutionType = %v, want unknownFutureValue", got)
	}
	run := f.get(t, runURL, "Prefer", preferEnums)
	if got := run.body["workflowExecutionType"]; got != "activatedWithScope" {
		t.Errorf("with Prefer: workflowExecutionType = %v, want activatedWithScope", got)
	}
	scope, _ := run.body["activatedOnScope"].(map[string]any)
	results, _ := scope["processingResults"].([]any)
	if scope["@odata.type"] != "#microsoft.graph.identityGovernance.activateProcessingResultScope" || scope["taskScope"] != "failedTasks" ||
		len(results) != 1 || results[0].(map[string]any)["id"] != failed || results[0].(map[string]any)["processingStatus"] != "failed" {
		t.Errorf("activatedOnScope = %v", run.body["activatedOnScope"])
	}

	// Only the failed task runs again, and it succeeds by default.
	rerun, _ := f.sim.Run(wf.ID, a.RunID)
	f.clock.Advance(graphsim.DefaultStartAfter + graphsim.DefaultDuration)
	res, _ := f.sim.Result(rerun.Results[0])
	if res.Status != events.StatusCompleted || res.TotalTasks != 1 || len(res.Tasks) != 1 ||
		res.Tasks[0].TaskName != "Generate Temporary Access Pass and send via email to user's manager" || res.ExecutionType != graphsim.ExecutionActivatedWithScope {
		t.Errorf("re-run result = %+v, want the one failed task, completed", res)
	}
	if prev, _ := f.sim.Result(failed); prev.Status != events.StatusFailed {
		t.Errorf("the original result changed: %+v", prev)
	}
}

func TestActivationOutcomeScriptsAFailureAgain(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	wf, orig := failedTenant(t, f)
	const again = "The manager attribute is still empty."
	f.sim.SetActivationOutcome(func(a graphsim.Activation, uid string) graphsim.Outcome {
		return graphsim.Outcome{Status: events.StatusFailed, StartAfter: time.Second, Duration: time.Minute,
			Failures: []graphsim.TaskFailure{
				{Task: "Generate Temporary Access Pass and send via email to user's manager", Reason: again},
				{Task: "Send welcome email to new hire"}, // not part of a failed-tasks re-run: dropped
			}}
	})
	mustStatus(t, f.post(t, lcw+"/"+wf.ID+"/activatewithscope", processingResultScope("failedTasks", orig.Results[0])), http.StatusNoContent)
	f.clock.Advance(time.Second + time.Minute)
	run, _ := f.sim.Run(wf.ID, f.sim.Activations()[0].RunID)
	tasks := f.get(t, lcw+"/"+wf.ID+"/userProcessingResults/"+run.Results[0]+"/taskProcessingResults")
	items := tasks.list()
	if len(items) != 1 || items[0]["processingStatus"] != "failed" || items[0]["failureReason"] != again {
		t.Errorf("task results of the failed re-run = %s", tasks.raw)
	}
}

func TestActivateWithRunScope(t *testing.T) {
	tests := []struct {
		userScope, taskScope string
		wantUsers            []int // indexes into the run's results
		wantTasks            []int // tasks each user's re-run runs
	}{
		{"failedUsers", "failedTasks", []int{0, 1}, []int{1, 1}},
		{"failedUsers", "allTasks", []int{0, 1}, []int{5, 5}},
		{"allUsers", "allTasks", []int{0, 1, 2}, []int{5, 5, 5}},
		{"allUsers", "failedTasks", []int{0, 1}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.userScope+"/"+tt.taskScope, func(t *testing.T) {
			f := newFixture(t, graphsim.Options{})
			wf, orig := failedTenant(t, f)
			body := fmt.Sprintf(`{"scope":{"@odata.type":"microsoft.graph.identityGovernance.activateRunScope","run":{"id":%q},"userScope":%q,"taskScope":%q}}`,
				orig.ID, tt.userScope, tt.taskScope)
			mustStatus(t, f.post(t, lcw+"/"+wf.ID+"/activateWithScope", body), http.StatusNoContent)
			a := f.sim.Activations()[0]
			if a.Scope != graphsim.ScopeRun || a.ScopeRunID != orig.ID || a.UserScope != tt.userScope {
				t.Errorf("activation = %+v", a)
			}
			rerun, _ := f.sim.Run(wf.ID, a.RunID)
			if len(rerun.Results) != len(tt.wantUsers) {
				t.Fatalf("re-run has %d results, want %d", len(rerun.Results), len(tt.wantUsers))
			}
			for i, ri := range tt.wantUsers {
				prev, _ := f.sim.Result(orig.Results[ri])
				got, _ := f.sim.Result(rerun.Results[i])
				if got.UserID != prev.UserID || got.TotalTasks != tt.wantTasks[i] {
					t.Errorf("re-run result %d = user %s with %d tasks, want user %s with %d", i, got.UserID, got.TotalTasks, prev.UserID, tt.wantTasks[i])
				}
			}
			r := f.get(t, lcw+"/"+wf.ID+"/runs/"+a.RunID, "Prefer", preferEnums)
			scope := r.body["activatedOnScope"].(map[string]any)
			if scope["userScope"] != tt.userScope || scope["run"].(map[string]any)["id"] != orig.ID {
				t.Errorf("activatedOnScope = %v", scope)
			}
			if _, nested := scope["run"].(map[string]any)["activatedOnScope"]; nested {
				t.Errorf("the scope's run carries a scope of its own: %v", scope)
			}
		})
	}
}

func TestActivateWithUserScope(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	u := f.sim.AddUsers(1)[0]
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	body := `{"scope":{"@odata.type":"#microsoft.graph.identityGovernance.activateUserScope","users":[{"id":"` + u.ID + `"}]}}`
	mustStatus(t, f.post(t, lcw+"/"+wf.ID+"/activateWithScope", body), http.StatusNoContent)
	a := f.sim.Activations()[0]
	r := f.get(t, lcw+"/"+wf.ID+"/runs/"+a.RunID, "Prefer", preferEnums)
	var scope struct {
		Type  string `json:"@odata.type"`
		Users []struct{ ID string }
	}
	b, _ := json.Marshal(r.body["activatedOnScope"])
	if err := json.Unmarshal(b, &scope); err != nil || scope.Type != "#microsoft.graph.identityGovernance.activateUserScope" ||
		len(scope.Users) != 1 || scope.Users[0].ID != u.ID {
		t.Errorf("activatedOnScope = %s (%v)", b, err)
	}
}

func TestActivateWithScopeRefusesBadScopes(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	wf, orig := failedTenant(t, f)
	other, otherRun := failedTenant(t, f)
	_ = other
	users := f.sim.AddUsers(1)
	running := f.sim.StartRun(wf.ID, users[0].ID)
	f.sim.SetResultStatus(running.Results[0], events.StatusInProgress)
	failed, completed := orig.Results[0], orig.Results[2]
	pr := `"@odata.type":"#microsoft.graph.identityGovernance.activateProcessingResultScope"`
	rs := `"@odata.type":"#microsoft.graph.identityGovernance.activateRunScope"`
	tests := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"no scope", `{}`, 400, "'scope' is required"},
		{"subjects instead", subjects(users[0].ID), 400, "'subjects' in the request payload"},
		{"scope not an object", `{"scope":[]}`, 400, "'StartObject' node was expected"},
		{"no type", `{"scope":{"processingResults":[{"id":"` + failed + `"}],"taskScope":"failedTasks"}}`, 400, "abstract"},
		{"unknown type", `{"scope":{"@odata.type":"#microsoft.graph.identityGovernance.activateEverything"}}`, 400, "could not be resolved"},
		{"abstract type", `{"scope":{"@odata.type":"#microsoft.graph.identityGovernance.activationScope"}}`, 400, "could not be resolved"},
		{"group scope", `{"scope":{"@odata.type":"#microsoft.graph.identityGovernance.activateGroupScope","group":{"id":"g"}}}`, 400, "does not model groups"},
		{"undeclared property", `{"scope":{` + pr + `,"processingResults":[{"id":"` + failed + `"}],"taskScope":"failedTasks","userScope":"allUsers"}}`, 400, "'userScope' does not exist"},
		{"no taskScope", `{"scope":{` + pr + `,"processingResults":[{"id":"` + failed + `"}]}}`, 400, "'taskScope' of"},
		{"taskScope unknownFutureValue", `{"scope":{` + pr + `,"processingResults":[{"id":"` + failed + `"}],"taskScope":"unknownFutureValue"}}`, 400, "sentinel"},
		{"taskScope misspelt", `{"scope":{` + pr + `,"processingResults":[{"id":"` + failed + `"}],"taskScope":"FailedTasks"}}`, 400, "activationTaskScopeType"},
		{"no processingResults", `{"scope":{` + pr + `,"taskScope":"failedTasks"}}`, 400, "'processingResults' of"},
		{"result of another workflow", processingResultScope("allTasks", otherRun.Results[0]), 404, "userProcessingResult"},
		{"unknown result", processingResultScope("allTasks", "nope"), 404, "nope"},
		{"result still running", processingResultScope("allTasks", running.Results[0]), 409, "still inProgress"},
		{"no failed tasks", processingResultScope("failedTasks", completed), 400, "no failed tasks"},
		{"same result twice", processingResultScope("allTasks", failed, failed), 400, "more than once"},
		{"run missing", `{"scope":{` + rs + `,"userScope":"failedUsers","taskScope":"failedTasks"}}`, 400, "'run' of"},
		{"unknown run", `{"scope":{` + rs + `,"run":{"id":"nope"},"userScope":"failedUsers","taskScope":"failedTasks"}}`, 404, "run"},
		{"run of another workflow", `{"scope":{` + rs + `,"run":{"id":"` + otherRun.ID + `"},"userScope":"allUsers","taskScope":"allTasks"}}`, 404, "run"},
		{"run not final", `{"scope":{` + rs + `,"run":{"id":"` + running.ID + `"},"userScope":"allUsers","taskScope":"allTasks"}}`, 409, "still inProgress"},
		{"userScope wrong", `{"scope":{` + rs + `,"run":{"id":"` + orig.ID + `"},"userScope":"someUsers","taskScope":"allTasks"}}`, 400, "activationUserScopeType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.post(t, lcw+"/"+wf.ID+"/activateWithScope", tt.body, "client-request-id", "c0ffee00-0000-4000-8000-000000000003")
			mustStatus(t, r, tt.status)
			if !strings.Contains(r.errorMessage(), tt.msg) {
				t.Errorf("message = %q, want it to contain %q", r.errorMessage(), tt.msg)
			}
			assertErrorShape(t, r, "c0ffee00-0000-4000-8000-000000000003")
		})
	}
	if acts := f.sim.Activations(); len(acts) != 0 {
		t.Errorf("refused requests were recorded: %+v", acts)
	}
	// A run whose users all completed has no failed users to re-run.
	ok := f.sim.StartRun(wf.ID, f.sim.AddUsers(1)[0].ID)
	f.sim.SetResultStatus(ok.Results[0], events.StatusCompleted)
	r := f.post(t, lcw+"/"+wf.ID+"/activateWithScope", `{"scope":{`+rs+`,"run":{"id":"`+ok.ID+`"},"userScope":"failedUsers","taskScope":"allTasks"}}`)
	mustStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.errorMessage(), "no failed users") {
		t.Errorf("message = %q", r.errorMessage())
	}
}

// TestConcurrentActivations: activations, clock moves and reads at once; every
// activation is recorded once and every run plays out.
func TestConcurrentActivations(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	users := f.sim.AddUsers(8)
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			for range 5 {
				if r := f.post(t, lcw+"/"+wf.ID+"/activate", subjects(users[i].ID)); r.status != http.StatusNoContent {
					t.Errorf("status %d: %s", r.status, r.raw)
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			f.clock.Advance(time.Second)
			f.sim.Runs(wf.ID)
		}
	})
	wg.Wait()
	f.clock.Advance(time.Hour)
	acts := f.sim.Activations()
	if len(acts) != 40 {
		t.Fatalf("%d activations, want 40", len(acts))
	}
	for i, a := range acts {
		if a.Seq != i+1 {
			t.Errorf("activation %d has Seq %d", i, a.Seq)
		}
		if run, _ := f.sim.Run(wf.ID, a.RunID); run.Status != events.StatusCompleted {
			t.Errorf("run %s is %s", run.ID, run.Status)
		}
	}
}
