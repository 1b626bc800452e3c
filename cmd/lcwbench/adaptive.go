package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// adaptiveConfigs are the polling configurations the adaptive measurement compares,
// each in a world of its own, at the same time, on the same scenario.
var adaptiveConfigs = []struct {
	name, poll, active string
}{
	{"fixed 60 s", "60s", "60s"},
	{"fixed 5 s", "5s", "5s"},
	{"adaptive 60 s / 5 s", "60s", "5s"},
}

// adaptiveUsersPerRun bounds the users of one scheduled run of the scenario.
const adaptiveUsersPerRun = 30

// adaptiveResult is the scheduled-runs scenario, once per polling configuration.
type adaptiveResult struct {
	workflows int
	maxRun    time.Duration
	configs   []adaptiveConfig
}

// adaptiveConfig is what one configuration measured.
type adaptiveConfig struct {
	name            string
	samples         latencyResult // failure in Graph → Slack
	failures        int
	requests        int64
	span            time.Duration // from lcwnotify ready to the last failure in Slack
	requestsPerHour float64
}

// adaptive runs, in real time and with the real binary, scheduled runs due within the
// first minutes — a workflow idle at first, then due, then busy, then idle — once for
// each configuration at the same time, and measures the time from each failure (its
// completedDateTime in Graph) to Slack accepting the message naming it, and Graph's
// requests meanwhile. The simulated day of the watcher's BenchmarkSimulatedDay is the
// measure of a day's cost; this one is the whole way to Slack.
func (b *bench) adaptive(ctx context.Context) (*adaptiveResult, error) {
	res := &adaptiveResult{workflows: b.o.adaptiveWorkflows, maxRun: b.o.adaptiveRun}
	res.configs = make([]adaptiveConfig, len(adaptiveConfigs))
	errs := make([]error, len(adaptiveConfigs))
	var wg sync.WaitGroup
	for i, c := range adaptiveConfigs {
		wg.Go(func() {
			res.configs[i], errs[i] = b.adaptiveOne(ctx, i, c.name, map[string]string{
				"LCW_POLL_INTERVAL": c.poll, "LCW_POLL_ACTIVE_INTERVAL": c.active,
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

func (b *bench) adaptiveOne(ctx context.Context, n int, name string, settings map[string]string) (adaptiveConfig, error) {
	out := adaptiveConfig{name: name}
	tokens := map[string]string{} // user id → token
	var wfs []string
	s, err := b.newStackEnv(ctx, fmt.Sprintf("adaptive-%d", n), func(w *harness.World) {
		w.Sim.SetScheduleInterval(1)
		// The same seed in every world: the same runs.
		rng := rand.New(rand.NewPCG(17, 19))
		pools := map[string][]string{}
		now := time.Now()
		for i := range b.o.adaptiveWorkflows {
			// Due 45 s from now and then every 20 s: lcwnotify has polled once first.
			due := now.Add(45*time.Second + time.Duration(i)*20*time.Second)
			wf := w.Sim.AddWorkflow(graphsim.Workflow{DisplayName: fmt.Sprintf("Leavers %d", i+1), Category: graphsim.CategoryLeaver,
				ScheduleOffset: time.Duration(due.UnixNano() % int64(time.Hour))})
			wfs = append(wfs, wf.ID)
			for j, u := range w.Sim.AddUsers(adaptiveUsersPerRun) {
				tok := fmt.Sprintf("b%04d", i*adaptiveUsersPerRun+j+1)
				u.DisplayName = tok + " " + u.DisplayName
				w.Sim.AddUser(u)
				tokens[u.ID] = tok
				pools[wf.ID] = append(pools[wf.ID], u.ID)
			}
		}
		maxRun := b.o.adaptiveRun
		w.Sim.SetScheduleHook(func(r graphsim.ScheduledRun) []graphsim.PlannedResult {
			users := pools[r.WorkflowID]
			users = users[:5+rng.IntN(len(users)-4)]
			plans := make([]graphsim.PlannedResult, len(users))
			for k, u := range users {
				p := graphsim.PlannedResult{UserID: u, Outcome: graphsim.Outcome{
					StartAfter: time.Duration(1+rng.IntN(10)) * time.Second,
					Duration:   maxRun/10 + time.Duration(rng.Int64N(int64(maxRun*9/10))),
				}}
				if rng.Float64() < 0.25 {
					p.Status = events.StatusFailed
				}
				plans[k] = p
			}
			return plans
		})
	}, settings)
	if err != nil {
		return out, fmt.Errorf("%s: %w", name, err)
	}
	defer s.close()
	ready := time.Now()
	r0 := s.world.Sim.Stats().Requests
	b.progress.printf("adaptive: %s polling, %d workflows due within %s", name, len(wfs), (45*time.Second + time.Duration(len(wfs)-1)*20*time.Second))
	// Every run is final once the last one is due and has run its course.
	end := ready.Add(45*time.Second + time.Duration(len(wfs)-1)*20*time.Second + b.o.adaptiveRun + 15*time.Second)
	select {
	case <-ctx.Done():
		return out, ctx.Err()
	case <-time.After(time.Until(end)):
	}
	failed := map[string]time.Time{} // token → completedDateTime
	for _, wf := range wfs {
		runs := s.world.Sim.Runs(wf)
		if len(runs) != 1 {
			return out, fmt.Errorf("%s: workflow %s had %d runs, want its scheduled one", name, wf, len(runs))
		}
		for _, id := range runs[0].Results {
			r, _ := s.world.Sim.Result(id)
			switch {
			case !events.IsFinal(r.Status):
				return out, fmt.Errorf("%s: result %s still %s at the end", name, id, r.Status)
			case r.Status == events.StatusFailed:
				failed[tokens[r.UserID]] = r.CompletedAt
			}
		}
	}
	out.failures = len(failed)
	if err := b.waitDelivered(ctx, name, 2*time.Minute, len(failed), func() int { return len(listed(s.world.Slack.Messages())) }); err != nil {
		return out, err
	}
	delivered := listed(s.world.Slack.Messages())
	for tok, at := range failed {
		out.samples.samples = append(out.samples.samples, delivered[tok].Sub(at))
	}
	slices.Sort(out.samples.samples)
	out.requests = s.world.Sim.Stats().Requests - r0
	out.span = latest(delivered).Sub(ready)
	out.requestsPerHour = float64(out.requests) / time.Since(ready).Hours()
	b.progress.printf("adaptive: %s: %d failures, p50 %s, p99 %s; %d Graph requests", name, out.failures,
		out.samples.percentile(50).Round(time.Millisecond), out.samples.percentile(99).Round(time.Millisecond), out.requests)
	return out, nil
}
