package e2e

import (
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// TestFirstStartWithHistory: on its very first start, `lcwnotify run` finds a month of
// history — thousands of finished results, failures among them — and announces none of
// it, while it does announce what finished within LCW_LOOKBACK (a result already failed
// when first seen), what is still in progress, and what changes afterwards. A restart
// with its state announces nothing again.
func TestFirstStartWithHistory(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.channel = harness.DefaultChannel // by name, as many operators configure it
	tn := newTenant(s.world.Sim)
	joiner := tn.workflow("Onboard new hires", graphsim.CategoryJoiner)
	leaver := tn.workflow("Offboard leavers", graphsim.CategoryLeaver)
	st := s.world.Sim.GenerateHistory(graphsim.HistoryOptions{Results: 3000})
	t.Logf("history: %d results in %d runs, %v", st.Results, st.Runs, st.ByStatus)

	now := time.Now()
	tn.startRun(joiner, runSpec{users: 2, status: "failed", at: now.Add(-2 * time.Hour), history: true})
	tn.startRun(leaver, runSpec{users: 1, status: "completedWithErrors", at: now.Add(-45 * time.Minute), history: true})
	tn.startRun(leaver, runSpec{users: 1, status: "completed", at: now.Add(-3 * time.Hour), history: true})
	tn.startRun(leaver, runSpec{users: 2, status: "failed", at: now.Add(-10 * time.Minute)})
	tn.startRun(joiner, runSpec{users: 1, status: "completedWithErrors", at: now.Add(-5 * time.Minute)})
	tn.startRun(joiner, runSpec{users: 1, status: "canceled", at: now.Add(-20 * time.Minute)})
	running := tn.startRun(joiner, runSpec{users: 3, at: now.Add(-time.Hour)})
	for _, id := range running {
		tn.set(id, "inProgress")
	}
	queued := tn.startRun(leaver, runSpec{users: 1})

	env := withEnv(s.env(), "LCW_LOOKBACK", "30m")
	p := s.startReady(env, "run")
	s.waitPolls(p, 2)
	tn.set(running[0], "failed")
	tn.set(running[1], "completedWithErrors")
	tn.set(running[2], "completed")
	tn.set(queued[0], "inProgress")
	s.settle(tn, p, 2*time.Minute, false)
	s.stop(p)

	// A restart with state: everything was announced already.
	p = s.startReady(env, "run")
	tn.set(queued[0], "failed")
	s.settle(tn, p, 2*time.Minute, false)
	s.stop(p)
}
