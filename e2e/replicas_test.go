package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// TestTwoReplicasOneKilled: two `lcwnotify run` replicas share one NATS — one polls, both
// deliver — and the one holding the polling lease is killed midway through the traffic.
// The other takes the lease over and finishes the work; every failure is notified
// exactly once.
func TestTwoReplicasOneKilled(t *testing.T) {
	t.Parallel()
	seed := randomSeed(t)
	s := newStack(t, stackOptions{})
	tn := newTenant(s.world.Sim)
	wfs := []graphsim.Workflow{
		tn.workflow("Onboard new hires", graphsim.CategoryJoiner),
		tn.workflow("Offboard leavers", graphsim.CategoryLeaver),
	}
	env := s.env()
	a := s.startReady(withEnv(env, "LCW_INSTANCE", "replica-a"), "run")
	b := s.startReady(withEnv(env, "LCW_INSTANCE", "replica-b"), "run")

	results := scaled(80)
	tr := newTraffic(tn, wfs, seed, busyTenant, results, 8)
	done := tr.start()
	s.waitFor(time.Minute, "half the traffic", func() (bool, string) { return tr.created.Load() >= int64(results/2), "" })
	var la, lb float64
	s.waitFor(time.Minute, "exactly one replica polling", func() (bool, string) {
		la, lb = leaderOf(t, a), leaderOf(t, b)
		return la+lb == 1, fmt.Sprintf("lcwnotify_watcher_leader: %s %v, %s %v", a.Name, la, b.Name, lb)
	})
	leader, other := a, b
	if lb == 1 {
		leader, other = b, a
	}
	s.kill(leader)
	t.Logf("killed %s, the polling replica, after %d results", leader.Name, tr.created.Load())
	<-done

	s.settle(tn, other, 4*time.Minute, false)
	if leaderOf(t, other) != 1 {
		t.Errorf("%s did not take the polling lease over", other.Name)
	}
	s.stop(other)
}

// leaderOf returns 1 when p's watcher holds the polling lease, else 0.
func leaderOf(t *testing.T, p *proc) float64 {
	t.Helper()
	return metric(t, p, "lcwnotify_watcher_leader")
}
