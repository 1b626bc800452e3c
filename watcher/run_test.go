package watcher

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// running is a Watcher under Run, on real time for its ticks and lease.
type running struct {
	w      *Watcher
	cancel context.CancelFunc
	done   chan error
}

func (e *env) start(name string, mod ...func(*Options)) *running {
	e.t.Helper()
	w := e.watcher(append([]func(*Options){func(o *Options) {
		o.Instance = name
		o.PollInterval = 40 * time.Millisecond
		o.LeaseTTL = time.Second // generous: a loaded CI machine under -race must not lose a live lease
		// The clock moves: a failure made before the first poll that succeeded is
		// announced, not history.
		o.Lookback = time.Hour
	}}, mod...)...)
	w.lease.now = time.Now
	// Run waits on real timers here, so its clock, and the simulator's, must move.
	e.clock.run()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	e.t.Cleanup(func() { r.stop(e.t) })
	return r
}

// stop ends Run and waits for it.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v, want nil on shutdown", err)
		}
		r.done <- nil // later calls return at once
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunPollsUntilStopped(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 1)
	reg := prometheus.NewRegistry()
	r := e.start("solo", func(o *Options) { o.Metrics = NewMetrics(reg) })
	eventually(t, "a successful poll", func() bool { return !r.w.LastSuccess().IsZero() })
	if !r.w.Leader() {
		t.Error("a lone watcher must hold the lease")
	}
	// Created failed: a poll between creating it and failing it would publish two events.
	e.sim.StartRunWith(wf.ID, graphsim.RunSpec{Users: u, Status: events.StatusFailed})
	eventually(t, "the failure published", func() bool { return len(e.events()) == 1 })

	if got := testutil.ToFloat64(r.w.metrics.leader); got != 1 {
		t.Errorf("leader gauge = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.w.metrics.published.WithLabelValues("failed")); got != 1 {
		t.Errorf("published{failed} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.w.metrics.polls.WithLabelValues("success")); got < 1 {
		t.Errorf("polls{success} = %v", got)
	}
	if got := testutil.ToFloat64(r.w.metrics.lastSuccess); got <= 0 {
		t.Errorf("last successful poll gauge = %v", got)
	}

	r.stop(t)
	if got := testutil.ToFloat64(r.w.metrics.leader); got != 0 {
		t.Errorf("leader gauge after stop = %v, want 0", got)
	}
	// The lease is released for a standby to take at once.
	if _, err := r.w.state.kv.Get(context.Background(), leaseKey); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("lease after a clean stop: %v, want it gone", err)
	}
}

func TestRunSurvivesPollErrors(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 1)
	e.sim.ThrottleFor(time.Hour) // every poll fails
	r := e.start("solo")
	eventually(t, "failed polls", func() bool { return e.sim.Stats().Requests > 3 })
	if !r.w.LastSuccess().IsZero() {
		t.Fatal("a poll succeeded while Graph throttled everything")
	}
	e.sim.ClearFaults()
	e.sim.StartRunWith(wf.ID, graphsim.RunSpec{Users: u, Status: events.StatusFailed})
	eventually(t, "the loop to recover", func() bool { return len(e.events()) == 1 })
}

func TestStandbyTakesOver(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 4)
	a := e.start("a")
	eventually(t, "a leading", a.w.Leader)
	b := e.start("b")
	ids := e.run(wf, "r", time.Time{}, u...)
	eventually(t, "first sightings", func() bool { return len(e.events()) == 4 })
	if b.w.Leader() || !b.w.LastSuccess().IsZero() {
		t.Fatal("the standby polled while the leader was alive")
	}

	// The leader stops; the standby takes over and catches what happened meanwhile.
	a.stop(t)
	for _, id := range ids[:2] {
		e.set(id, "failed", time.Time{})
	}
	eventually(t, "b leading", b.w.Leader)
	eventually(t, "failures published by b", func() bool { return len(e.events()) == 6 })
	e.wantChanges(0, "r0: null → queued", "r1: null → queued", "r2: null → queued", "r3: null → queued",
		"r0: queued → failed", "r1: queued → failed")
	e.noDuplicates()
}

func TestStandbyTakesOverFromADeadLeader(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 1)
	// A leader that died without releasing its lease.
	kv, err := ensureBucket(context.Background(), e.js, "LCW", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(context.Background(), leaseKey, []byte(`{"holder":"dead"}`)); err != nil {
		t.Fatal(err)
	}
	ids := e.run(wf, "r", time.Time{}, u...)
	e.set(ids[0], "failed", time.Time{})
	b := e.start("b")
	if b.w.Leader() {
		t.Fatal("took a live-looking lease at once")
	}
	eventually(t, "b taking over after the lease expired", b.w.Leader)
	eventually(t, "the failure published", func() bool { return len(e.events()) == 1 })
}

// TestLeaseLostAbandonsThePoll: a leader that finds its lease taken stops the poll in
// flight rather than finishing it next to the new holder.
func TestLeaseLostAbandonsThePoll(t *testing.T) {
	e := newEnv(t)
	e.workflow("Leaver", 1)
	// The leader's first poll hangs on Graph far longer than the test waits.
	e.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListResults, Kind: graphsim.FaultSlow, Delay: time.Minute})
	reg := prometheus.NewRegistry()
	a := e.start("a", func(o *Options) { o.Metrics = NewMetrics(reg) })
	eventually(t, "a leading", a.w.Leader)
	eventually(t, "a's poll reaching Graph", func() bool { return e.sim.Stats().Requests > 0 })

	// Another replica holds the lease now (a partition healed the wrong way round).
	if _, err := a.w.state.kv.Put(context.Background(), leaseKey, []byte(`{"holder":"b","token":"b-token"}`)); err != nil {
		t.Fatal(err)
	}
	canceled := a.w.metrics.failures.WithLabelValues("canceled")
	eventually(t, "a's poll abandoned", func() bool { return testutil.ToFloat64(canceled) == 1 })
	if !a.w.LastSuccess().IsZero() {
		t.Error("the poll in flight completed after the lease was lost")
	}
}
