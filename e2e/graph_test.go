package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// TestGraphThrottlingAndGarbage: while results change, Graph throttles every request for
// a while (429 with a fractional Retry-After), throttles and fails some (503 with
// Retry-After, 504), answers slowly, and sends pages that are not JSON or are cut off
// mid-body, on result lists, run result lists, task results and users. Workflows and
// statuses include values newer than lcwnotify knows, users without names, results with
// null dates. Nothing is lost, doubled or made up.
func TestGraphThrottlingAndGarbage(t *testing.T) {
	t.Parallel()
	seed := randomSeed(t)
	s := newStack(t, stackOptions{})
	tn := newTenant(s.world.Sim)
	wfs := []graphsim.Workflow{
		tn.workflow("Onboard new hires", graphsim.CategoryJoiner),
		tn.workflow("Offboard leavers", graphsim.CategoryLeaver),
		// mover and extensibility are evolvable members of the category enum.
		tn.workflow("Department change", graphsim.CategoryMover),
		tn.workflow("Sync to HR system", graphsim.CategoryExtensibility),
	}
	p := s.startReady(s.env(), "run")
	sim := s.world.Sim
	tr := newTraffic(tn, wfs, seed, busyTenant, scaled(600), 6)
	done := tr.start()

	faults := []graphsim.Fault{
		{Kind: graphsim.FaultThrottle, RetryAfter: 1337 * time.Millisecond, Times: 4},
		{Kind: graphsim.FaultUnavailable, RetryAfter: 700 * time.Millisecond, Times: 3},
		{Kind: graphsim.FaultGatewayTimeout, Times: 3},
		{Op: graphsim.OpListResults, Kind: graphsim.FaultMalformed, Times: 2},
		{Op: graphsim.OpListRunResults, Kind: graphsim.FaultTruncated, Times: 2},
		{Op: graphsim.OpListTaskResults, Kind: graphsim.FaultMalformed, Times: 1},
		{Op: graphsim.OpListTaskResults, Kind: graphsim.FaultTruncated, Times: 1},
		{Op: graphsim.OpGetUser, Kind: graphsim.FaultUnavailable, Times: 2},
		{Op: graphsim.OpListWorkflows, Kind: graphsim.FaultMalformed, Times: 1},
		{Kind: graphsim.FaultSlow, Delay: 3 * time.Second, Times: 2},
	}
	sim.ThrottleFor(2500 * time.Millisecond)
	time.Sleep(2500 * time.Millisecond) // every request is throttled meanwhile
	for _, f := range faults {
		sim.InjectFault(f)
		s.waitFor(2*time.Minute, fmt.Sprintf("Graph fault %s on %q to fire", f.Kind, f.Op), func() (bool, string) {
			n := sim.PendingFaults()
			return n == 0, fmt.Sprintf("%d pending", n)
		})
	}
	tr.finish()
	<-done
	s.settle(tn, p, 3*time.Minute, false)
	if got := metric(t, p, "lcwnotify_graph_throttled_seconds_total"); got <= 0 {
		t.Errorf("lcwnotify_graph_throttled_seconds_total = %v: the throttling was not seen", got)
	}
	if got := metric(t, p, "lcwnotify_workflow_poll_failures_total"); got <= 0 {
		t.Errorf("lcwnotify_workflow_poll_failures_total = %v: no poll failed, so the garbage was not seen", got)
	}
	s.stop(p)
}
