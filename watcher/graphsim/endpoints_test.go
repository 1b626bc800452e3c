package graphsim_test

import (
	"net/http"
	"testing"

	"github.com/lcwnotify/lcwnotify/watcher/graphsim"
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
