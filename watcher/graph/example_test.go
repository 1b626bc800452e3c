package graph_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// The results of a workflow that reached a final status in the last hour, read from the
// Graph simulator. Against Graph, leave BaseURL empty and use NewCredential.
func ExampleClient_ListResults() {
	sim := graphsim.New(graphsim.Options{})
	users := sim.AddUsers(2)
	wf := sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard", Category: graphsim.CategoryJoiner})
	run := sim.StartRun(wf.ID, users[0].ID, users[1].ID)
	sim.SetResultStatus(run.Results[0], events.StatusFailed)
	srv := httptest.NewServer(sim)
	defer srv.Close()

	c, err := graph.New(graph.Options{BaseURL: srv.URL, Credential: graph.NewStaticCredential("demo")})
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	results, err := c.ListResults(context.Background(), wf.ID, graph.Query{
		Filter: graph.Between("completedDateTime", now.Add(-time.Hour), now.Add(time.Minute)),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Println(r.ProcessingStatus, r.FailedTasksCount > 0, r.SubjectID == users[0].ID)
	}
	// Output: failed true true
}

// Filters are built from documented comparisons joined by "and"; strings are quoted,
// times are UTC literals.
func ExampleWhere() {
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	f := graph.Where("processingStatus", graph.Ne, "completed").And(
		graph.Between("scheduledDateTime", from, from.Add(24*time.Hour)))
	fmt.Println(f)
	// Output: processingStatus ne 'completed' and scheduledDateTime ge 2024-05-01T00:00:00Z and scheduledDateTime le 2024-05-02T00:00:00Z
}
