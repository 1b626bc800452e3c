package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/status"
)

// TestRunStatusPage: `lcwnotify run` with LCW_UI=true on loopback serves the report of
// what it does: the failure it told Slack, the workflow's poll schedule as the adaptive
// poller plans it (not a guess from LCW_POLL_INTERVAL), and a quarantined workflow.
func TestRunStatusPage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	wf := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner})
	quiet := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard leavers", Category: graphsim.CategoryLeaver})
	env := w.env
	env["LCW_UI"] = "true"
	env["LCW_POLL_INTERVAL"] = "10s"
	env["LCW_POLL_ACTIVE_INTERVAL"] = "1s"
	p := start(t, env, "run")
	base := "http://" + p.httpAddr()

	report := func() status.Report {
		t.Helper()
		code, body := get(t, base+"/api/status")
		if code != 200 {
			t.Fatalf("/api/status = %d %s", code, body)
		}
		var rep status.Report
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("/api/status: %v\n%s", err, body)
		}
		return rep
	}
	poll := func(rep status.Report, id string) *status.WorkflowPoll {
		for i := range rep.Watcher.Workflows {
			if rep.Watcher.Workflows[i].ID == id {
				return &rep.Watcher.Workflows[i]
			}
		}
		return nil
	}

	eventually(t, 20*time.Second, "both workflows polled", func() bool {
		rep := report()
		return poll(rep, wf.ID) != nil && poll(rep, quiet.ID) != nil && poll(rep, wf.ID).Mode != ""
	})
	if rep := report(); rep.Watcher.Local == nil || !rep.Watcher.Local.Leader || rep.Watcher.NextPollFrom != "this process's poll schedule" {
		t.Errorf("the watcher as the page tells it: %+v", rep.Watcher)
	}

	// A run in progress makes its workflow active, polled every second; the other
	// stays idle.
	u := w.sim.AddUser(graphsim.User{DisplayName: "Adele Vance"})
	run := w.sim.StartRun(wf.ID, u.ID)
	w.sim.SetResultStatus(run.Results[0], "inProgress")
	eventually(t, 20*time.Second, "the workflow active", func() bool {
		p := poll(report(), wf.ID)
		return p.Mode == "active" && p.Reason != ""
	})
	rep := report()
	if q := poll(rep, quiet.ID); q.Mode != "idle" || q.NextPoll.IsZero() || q.NextPoll.Sub(rep.Generated) > 10*time.Second+time.Second {
		t.Errorf("the quiet workflow: %+v, want idle and polled within LCW_POLL_INTERVAL", q)
	}
	if a := poll(rep, wf.ID); a.NextPoll.IsZero() || a.NextPoll.Sub(rep.Generated) > 2*time.Second {
		t.Errorf("the active workflow: %+v, want its next poll within the active interval", a)
	}

	w.sim.SetResultStatus(run.Results[0], "failed", graphsim.TaskFailure{Task: wf.Tasks[0].DisplayName, Reason: "Insufficient privileges"})
	w.sim.Quarantine(quiet.ID, graphsim.QuarantineCount, "")
	eventually(t, 30*time.Second, "the failure notified and the quarantine shown", func() bool {
		rep := report()
		if len(rep.Failures.Items) != 1 || rep.Failures.Items[0].State != status.StateNotified || len(rep.Workflows) != 1 {
			return false
		}
		return rep.Workflows[0].Workflow.ID == quiet.ID
	})
	rep = report()
	if f := rep.Failures.Items[0]; f.User != "Adele Vance" {
		t.Errorf("the failure on the page: %+v", f)
	}
	if q := poll(rep, quiet.ID); q.Reason != "quarantined" {
		t.Errorf("the quarantined workflow's schedule: %+v", q)
	}
	if code, page := get(t, base+"/"); code != 200 || !strings.Contains(page, "Adele Vance") || !strings.Contains(page, `class="mode mode-`) {
		t.Errorf("/ = %d, lacking the failure or the schedule", code)
	}
}
