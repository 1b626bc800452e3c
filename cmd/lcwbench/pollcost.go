package main

import (
	"context"
	"fmt"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// inProgress is how many results are in progress during the poll measurement: what a
// steady poll does return.
const inProgress = 20

// pollCost is what one steady poll costs Graph, at one size of history.
type pollCost struct {
	history, workflows int

	// lcwnotify: polls measured, and per poll the requests, response bytes and CPU.
	polls           int
	requests, bytes float64
	cpuPerPoll      time.Duration
	cpuShare        float64 // of one core, while polling every second
	rss             int64

	// The naive poller: polls measured, per poll the requests, bytes and time, and the
	// results one listing returned.
	naivePolls                int
	naiveRequests, naiveBytes float64
	naiveTime                 time.Duration
	naiveResults              int
}

// pollCost measures lcwnotify's steady polls against a tenant holding n results of
// history, then the naive poller's on the same simulator.
func (b *bench) pollCost(ctx context.Context, n int) (pollCost, error) {
	pc := pollCost{history: n, workflows: b.o.workflows}
	b.progress.printf("poll cost at %d results of history: building the tenant", n)
	s, err := b.newStack(ctx, "poll", func(w *harness.World) {
		ids := make([]string, b.o.workflows)
		for i := range ids {
			ids[i] = w.Sim.AddWorkflow(graphsim.Workflow{DisplayName: fmt.Sprintf("Workflow %d", i+1)}).ID
		}
		w.Sim.GenerateHistory(graphsim.HistoryOptions{Results: n})
		for i, u := range w.Sim.AddUsers(inProgress) {
			run := w.Sim.StartRun(ids[i%len(ids)], u.ID)
			w.Sim.SetResultStatus(run.Results[0], events.StatusInProgress)
		}
	})
	if err != nil {
		return pc, err
	}
	defer s.close()

	// The first start's polls are not steady ones.
	if err := s.proc.WaitPolls(ctx, 2); err != nil {
		return pc, err
	}
	b.progress.printf("poll cost at %d: measuring %d steady polls of lcwnotify", n, b.o.polls)
	// Counters are reset and read in the pause after a poll, so they hold whole polls;
	// each poll lists the workflows once.
	if err := s.afterPoll(ctx); err != nil {
		return pc, err
	}
	s.world.Sim.ResetStats()
	u0, err := s.usage()
	if err != nil {
		return pc, err
	}
	for polls(s.world.Sim.Stats()) < b.o.polls {
		if err := s.afterPoll(ctx); err != nil {
			return pc, err
		}
	}
	st := s.world.Sim.Stats()
	u1, err := s.usage()
	if err != nil {
		return pc, err
	}
	pc.polls = polls(st)
	pc.requests = float64(st.Requests) / float64(pc.polls)
	pc.bytes = float64(st.Bytes) / float64(pc.polls)
	pc.cpuPerPoll = (u1.CPU - u0.CPU) / time.Duration(pc.polls)
	pc.cpuShare = cpuShare(u0, u1)
	pc.rss = u1.RSS

	if err := s.stopProcess(); err != nil {
		return pc, err
	}
	b.progress.printf("poll cost at %d: measuring %d naive polls", n, b.o.naivePolls)
	c, err := graph.New(graph.Options{BaseURL: s.world.GraphURL(), Credential: graph.NewStaticCredential(benchToken),
		HTTPClient: s.world.GraphClient(), TenantID: harness.TenantID})
	if err != nil {
		return pc, err
	}
	s.world.Sim.ResetStats()
	start := time.Now()
	for range b.o.naivePolls {
		if pc.naiveResults, err = naivePoll(ctx, c); err != nil {
			return pc, err
		}
	}
	st = s.world.Sim.Stats()
	pc.naivePolls = b.o.naivePolls
	pc.naiveTime = time.Since(start) / time.Duration(pc.naivePolls)
	pc.naiveRequests = float64(st.Requests) / float64(pc.naivePolls)
	pc.naiveBytes = float64(st.Bytes) / float64(pc.naivePolls)
	b.progress.printf("poll cost at %d: lcwnotify %.0f requests, %.0f bytes a poll; naive %.0f requests, %.0f bytes",
		n, pc.requests, pc.bytes, pc.naiveRequests, pc.naiveBytes)
	return pc, nil
}

// polls counts the polls in st: each lists the workflows once.
func polls(st graphsim.Stats) int { return int(st.ByOp[graphsim.OpListWorkflows].Requests) }

// reach is how far back the naive poller lists: Graph's 30 days, less an hour of margin
// for clocks (as lcwnotify's watcher).
const reach = 30*24*time.Hour - time.Hour

// naivePoll is the design lcwnotify's watcher is measured against: list the workflows,
// then every result of each in Graph's window, to diff them all. It returns how many
// results it listed.
func naivePoll(ctx context.Context, c *graph.Client) (int, error) {
	now := time.Now()
	wfs, err := c.ListWorkflows(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, wf := range wfs {
		rs, err := c.ListResults(ctx, wf.ID, graph.Query{Filter: graph.Between("scheduledDateTime", now.Add(-reach), now.Add(24*time.Hour))})
		if err != nil {
			return 0, err
		}
		total += len(rs)
	}
	return total, nil
}
