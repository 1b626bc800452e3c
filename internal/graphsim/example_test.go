package graphsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// A test builds a tenant, moves a result along and reads it back over HTTP exactly as
// a Graph client would.
func Example() {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	sim := graphsim.New(graphsim.Options{Token: "secret", Now: func() time.Time { return now }})
	ada := sim.AddUser(graphsim.User{DisplayName: "Ada Lovelace"})
	wf := sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner})
	run := sim.StartRun(wf.ID, ada.ID)
	sim.SetResultStatus(run.Results[0], events.StatusInProgress)
	now = now.Add(2 * time.Minute)
	sim.SetResultStatus(run.Results[0], events.StatusFailed, graphsim.TaskFailure{
		Task:   "Generate Temporary Access Pass and send via email to user's manager",
		Reason: graphsim.ReasonManagerNotSet,
	})

	srv := httptest.NewServer(sim)
	defer srv.Close()
	filter := "completedDateTime ge 2026-05-01T08:50:00Z and completedDateTime le 2026-05-01T09:10:00Z"
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/identityGovernance/lifecycleWorkflows/workflows/"+
		wf.ID+"/userProcessingResults?$filter="+url.QueryEscape(filter), nil)
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var page struct {
		Value []struct {
			ProcessingStatus  string
			CompletedDateTime string
			FailedTasksCount  int
			Subject           struct{ ID string }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&page)
	for _, r := range page.Value {
		fmt.Println(r.ProcessingStatus, r.CompletedDateTime, r.FailedTasksCount, r.Subject.ID == ada.ID)
	}

	run, _ = sim.Run(wf.ID, run.ID)
	fmt.Println("run:", run.Status, run.LastUpdatedAt.Format(time.TimeOnly))
	// Output:
	// failed 2026-05-01T09:02:00Z 1 true
	// run: failed 09:02:00
}

// Faults make the next matching requests fail the way Graph does under load.
func ExampleSim_InjectFault() {
	sim := graphsim.New(graphsim.Options{})
	sim.InjectFault(graphsim.Fault{
		Op:         graphsim.OpListResults,
		Kind:       graphsim.FaultThrottle,
		RetryAfter: 2128 * time.Millisecond,
		Times:      2,
	})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	wf := sim.AddWorkflow(graphsim.Workflow{})
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/beta/identityGovernance/lifecycleWorkflows/workflows/"+wf.ID+"/userProcessingResults", nil)
		req.Header.Set("Authorization", "Bearer any")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	fmt.Println(sim.Stats().ByOp[graphsim.OpListResults].Errors, "throttled")
	// Output:
	// 429 Retry-After="2.128"
	// 429 Retry-After="2.128"
	// 200 Retry-After=""
	// 2 throttled
}
