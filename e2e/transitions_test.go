package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// suspended is a processing status newer than any the simulator or lcwnotify knows, as
// Graph may add: it must be carried as received and treated as not final.
const suspended = "suspendedForReview"

// TestLiveTransitions: `lcwnotify run` announces every transition of every kind, each
// exactly once and naming the status before it, and notifies each failure exactly once,
// in its channel, with what the contract says a notification holds. Each status is left
// in Graph until the watcher has seen it, so the stream must hold every one.
func TestLiveTransitions(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.channel = harness.DefaultChannel // by name, as many operators configure it
	tn := newTenant(s.world.Sim)
	joiner := tn.workflow("Onboard new hires", graphsim.CategoryJoiner)
	leaver := tn.workflow("Offboard leavers", graphsim.CategoryLeaver)
	mover := tn.workflow("Department change", graphsim.CategoryMover)
	p := s.startReady(s.env(), "run")

	const reason = "The group 'Sales EMEA' could not be found; it may have been deleted."
	paths := []struct {
		wf     graphsim.Workflow
		path   []string
		access graphsim.UserAccess
	}{
		{wf: joiner, path: []string{"inProgress", "completed"}},
		{wf: joiner, path: []string{"inProgress", "failed"}},
		{wf: leaver, path: []string{"inProgress", "completedWithErrors"}},
		{wf: leaver, path: []string{"inProgress", "failed"}},
		{wf: mover, path: []string{"inProgress", "canceled"}},
		{wf: joiner, path: []string{"canceled"}},
		{wf: leaver, path: []string{"canceling", "canceled"}},
		{wf: mover, path: []string{"inProgress", "quarantined", "failed"}},
		{wf: joiner, path: []string{"inProgress", suspended, "completedWithErrors"}},
		{wf: mover, path: []string{"inProgress", "failed"}, access: graphsim.UserForbidden},
		{wf: leaver, path: []string{"inProgress", "failed"}, access: graphsim.UserMissing},
	}
	ids := make([]string, len(paths))
	for i, pa := range paths {
		ids[i] = tn.startRun(pa.wf, runSpec{users: 1, access: pa.access})[0]
	}
	s.waitFor(time.Minute, "the first sighting of every queued result", seen(s, tn, ids, "queued"))

	for step := 0; ; step++ {
		var moved []string
		for i, pa := range paths {
			if step >= len(pa.path) {
				continue
			}
			st := pa.path[step]
			if i == 1 {
				// The result whose message the test reads closely fails with a known reason.
				tn.set(ids[i], st, graphsim.TaskFailure{Task: "Add user to groups", Reason: reason})
			} else {
				tn.set(ids[i], st)
			}
			moved = append(moved, ids[i])
		}
		if len(moved) == 0 {
			break
		}
		for _, id := range moved {
			s.waitFor(time.Minute, fmt.Sprintf("step %d of %s", step+1, id), seen(s, tn, []string{id}, tn.get(id).final()))
		}
	}

	// Runs that began and ended between two polls: first seen already failed.
	first := tn.startRun(joiner, runSpec{users: 2, status: "failed"})
	first = append(first, tn.startRun(leaver, runSpec{users: 1, status: "completedWithErrors"})...)
	s.waitFor(time.Minute, "first sightings of results already failed", seen(s, tn, first, ""))

	s.settle(tn, p, 2*time.Minute, true)
	checkMessage(t, s, tn, tn.get(ids[1]), joiner, "Add user to groups", reason)
	checkEventData(t, s, tn)
	s.stop(p)
}

// seen returns a condition that holds when the stream has an event for each result
// entering status ("" means its current status).
func seen(s *stack, tn *tenant, ids []string, status string) func() (bool, string) {
	return func() (bool, string) {
		v := tn.readStream(s.events())
		for _, id := range ids {
			want := status
			if want == "" {
				want = tn.get(id).final()
			}
			sts, _ := statuses(v.byResult[id])
			if !slices.Contains(sts, want) {
				return false, fmt.Sprintf("result %s: events %v, waiting for %s", id, sts, want)
			}
		}
		return true, ""
	}
}

var failedCount = regexp.MustCompile(`\b1 of \d+ tasks failed\b`)

// checkMessage checks what the contract says a notification holds: the workflow, the
// user, the status, failed/total task counts, each failed task with its reason, and a
// link to the workflow in the Entra admin center.
func checkMessage(t *testing.T, s *stack, tn *tenant, r result, wf graphsim.Workflow, task, reason string) {
	t.Helper()
	v := s.world.Slack.Messages()
	l := tn.readSlack(v).byResult[r.ID]
	if len(l) != 1 {
		t.Fatalf("result %s listed %d times", r.ID, len(l))
	}
	text := v[l[0].msg].BlockText()
	for _, want := range []string{
		wf.DisplayName,
		r.UserName,
		"failed",
		task,
		reason,
		"https://entra.microsoft.com/",
		wf.ID,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the message notifying %s lacks %q:\n%s", r.ID, want, text)
		}
	}
	if !failedCount.MatchString(l[0].line) {
		t.Errorf("the line of %s gives no failed/total task count: %q", r.ID, l[0].line)
	}
}

// checkEventData checks the data of the events against the tenant: the tenant id from
// the token, the workflow, the run, the user (only an id where the user could not be
// read) and, for failures, the failed task results with their reasons.
func checkEventData(t *testing.T, s *stack, tn *tenant) {
	t.Helper()
	v := tn.readStream(s.events())
	for _, r := range tn.all() {
		for _, se := range v.byResult[r.ID] {
			d := se.Event.Data
			up, _ := d.Result()
			where := fmt.Sprintf("event %q of %s", up.ProcessingStatus, r.ID)
			if d.TenantID != harness.TenantID {
				t.Errorf("%s: tenantId %q, want %q", where, d.TenantID, harness.TenantID)
			}
			if d.Workflow.ID != r.Workflow || d.Workflow.Category != r.Category || d.Workflow.DisplayName == "" {
				t.Errorf("%s: workflow %+v, want id %s category %s", where, d.Workflow, r.Workflow, r.Category)
			}
			if d.RunID != r.RunID {
				t.Errorf("%s: runId %q, want %q", where, d.RunID, r.RunID)
			}
			if d.User.ID != r.UserID {
				t.Errorf("%s: user id %q, want %q", where, d.User.ID, r.UserID)
			}
			if !slices.Contains(notifyStatuses, up.ProcessingStatus) {
				continue
			}
			wantName, wantUPN := r.UserName, r.UPN
			if r.Access != graphsim.UserReadable {
				wantName, wantUPN = "", ""
			}
			if d.User.DisplayName != wantName || d.User.UserPrincipalName != wantUPN {
				t.Errorf("%s: user %+v, want name %q and UPN %q", where, d.User, wantName, wantUPN)
			}
			failed := 0
			for _, tr := range d.TaskProcessingResults {
				if tr.ProcessingStatus == "failed" {
					failed++
					if tr.FailureReason == nil || *tr.FailureReason == "" || tr.Task.DisplayName == "" {
						t.Errorf("%s: failed task result without its task name or reason: %+v", where, tr)
					}
				}
			}
			if failed == 0 {
				t.Errorf("%s: no failed task result among %d", where, len(d.TaskProcessingResults))
			}
		}
	}
}
