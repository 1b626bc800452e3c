package watcher

import (
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// TestEventsCarryProcessingInfo: a task result's processingInfo reaches the event,
// and a task result without one carries none.
func TestEventsCarryProcessingInfo(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Joiner", 1)
	w := e.watcher()
	e.poll(w)
	r := e.run(wf, "r", time.Time{}, u...)
	e.clock.advance(time.Minute)
	const info = "The user was already a member of every group."
	e.sim.UpdateResult(r[0], graphsim.ResultUpdate{Status: "failed",
		Info: []graphsim.TaskInfo{{Task: wf.Tasks[0].DisplayName, Info: info}}})
	e.poll(w)
	evs := e.events()
	last := evs[len(evs)-1]
	tasks := last.Data.TaskProcessingResults
	if len(tasks) == 0 {
		t.Fatalf("no task results in %+v", last.Data)
	}
	for i, tr := range tasks {
		switch {
		case i == 0 && (tr.ProcessingInfo == nil || *tr.ProcessingInfo != info):
			t.Errorf("task result 0 processingInfo = %v, want %q", tr.ProcessingInfo, info)
		case i > 0 && tr.ProcessingInfo != nil:
			t.Errorf("task result %d has processingInfo %q", i, *tr.ProcessingInfo)
		}
	}
}
