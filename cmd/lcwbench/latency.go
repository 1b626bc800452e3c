package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// latencyResult is the time from a result failing in Graph to Slack accepting the
// message that names it, with 1 s polls.
type latencyResult struct {
	samples  []time.Duration // sorted
	cpuShare float64
	rss      int64
}

// percentile returns the p-th percentile (nearest rank) of the sorted samples.
func (l *latencyResult) percentile(p float64) time.Duration {
	i := int(float64(len(l.samples))*p/100+0.999999) - 1
	return l.samples[min(max(i, 0), len(l.samples)-1)]
}

// latency fails results in progress one at a time, 1.2 to 2.6 s apart (farther apart than
// Slack's limit, so that none waits behind another), and measures each one's way to Slack.
func (b *bench) latency(ctx context.Context) (*latencyResult, error) {
	n := b.o.latency
	var results []string
	s, err := b.newStack(ctx, "latency", func(w *harness.World) {
		wf := w.Sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard leavers", Category: graphsim.CategoryLeaver})
		for _, u := range burstUsers(w.Sim, n) {
			id := w.Sim.StartRun(wf.ID, u).Results[0]
			w.Sim.SetResultStatus(id, events.StatusInProgress)
			results = append(results, id)
		}
	})
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.proc.WaitPolls(ctx, 2); err != nil {
		return nil, err
	}
	b.progress.printf("latency: failing %d results one at a time, 1.2-2.6 s apart", n)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 4))
	failed := make(map[string]time.Time, n)
	u0, err := s.usage()
	if err != nil {
		return nil, err
	}
	for i, id := range results {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(1200+rng.IntN(1400)) * time.Millisecond):
		}
		failed[fmt.Sprintf("b%04d", i+1)] = time.Now()
		s.world.Sim.SetResultStatus(id, events.StatusFailed)
		if (i+1)%10 == 0 {
			b.progress.printf("latency: %d of %d failed", i+1, n)
		}
	}
	if err := b.waitDelivered(ctx, "lcwnotify", 2*time.Minute, n, func() int { return len(listed(s.world.Slack.Messages())) }); err != nil {
		return nil, err
	}
	u1, err := s.usage()
	if err != nil {
		return nil, err
	}
	r := &latencyResult{cpuShare: cpuShare(u0, u1), rss: u1.RSS}
	for tok, at := range listed(s.world.Slack.Messages()) {
		r.samples = append(r.samples, at.Sub(failed[tok]))
	}
	slices.Sort(r.samples)
	b.progress.printf("latency: p50 %s, p99 %s", r.percentile(50).Round(time.Millisecond), r.percentile(99).Round(time.Millisecond))
	return r, nil
}
