package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/watcher"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// heapInUse is lcwbench's own heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// pollCost is what one steady poll costs Graph, at one size of history.
type pollCost struct {
	history, workflows int
	// activeRuns runs were in progress, inProgress results in all: what a steady poll
	// does return.
	activeRuns, inProgress int
	// generate is how long GenerateHistory took, simHeap the heap lcwbench held once
	// the tenant was built (the simulator's, mostly).
	generate time.Duration
	simHeap  uint64

	// lcwnotify: polls measured, and per poll the requests, response bytes and CPU.
	polls           int
	requests, bytes float64
	cpuPerPoll      time.Duration
	cpuShare        float64 // of one core, while polling every second
	rss             int64
	// peakRSS is the process's high-water mark: its first start and first polls included.
	peakRSS int64
	// pollTime is how long one poll of every workflow took, on average
	// (lcwnotify_poll_duration_seconds over the measured polls).
	pollTime time.Duration
	// heap is the Go heap in use in lcwnotify (go_memstats_heap_inuse_bytes) after the
	// measured polls.
	heap float64
	// kvBytes and kvValues are the watcher's state bucket after the measured polls:
	// what the state costs NATS.
	kvBytes  uint64
	kvValues uint64

	// The naive poller: polls measured, per poll the requests, bytes and time, and the
	// results one listing returned.
	naivePolls                int
	naiveRequests, naiveBytes float64
	naiveTime                 time.Duration
	naiveResults              int
	// naiveSkipped: the naive poller was not run at this size (-naive-max).
	naiveSkipped bool
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
		start := time.Now()
		w.Sim.GenerateHistory(graphsim.HistoryOptions{Results: n})
		pc.generate = time.Since(start)
		pc.simHeap = heapInUse()
		// The active runs, on as many workflows, each with its users in progress.
		for i := range b.o.activeRuns {
			users := w.Sim.AddUsers(b.o.activeUsers)
			uids := make([]string, len(users))
			for k, u := range users {
				uids[k] = u.ID
			}
			run := w.Sim.StartRun(ids[i%len(ids)], uids...)
			for _, r := range run.Results {
				w.Sim.SetResultStatus(r, events.StatusInProgress)
			}
			pc.inProgress += len(run.Results)
		}
		pc.activeRuns = b.o.activeRuns
	})
	if err != nil {
		return pc, err
	}
	defer s.close()
	b.progress.printf("poll cost at %d: history generated in %s, %s of heap in lcwbench", n, secs(pc.generate), size(float64(pc.simHeap)))

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
	m0, err := s.proc.Metrics(ctx)
	if err != nil {
		return pc, err
	}
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
	pc.rss, pc.peakRSS = u1.RSS, u1.PeakRSS
	// Read once, after the measured polls: scraping costs the process more than a poll.
	m, err := s.proc.Metrics(ctx)
	if err != nil {
		return pc, err
	}
	pc.heap = m.Sum("go_memstats_heap_inuse_bytes")
	sum0, n0 := m0.Histogram("lcwnotify_poll_duration_seconds")
	sum1, n1 := m.Histogram("lcwnotify_poll_duration_seconds")
	if n1 > n0 {
		pc.pollTime = time.Duration((sum1 - sum0) / float64(n1-n0) * float64(time.Second))
	}
	kv, err := s.js.KeyValue(ctx, watcher.BucketName(streamName))
	if err != nil {
		return pc, err
	}
	kst, err := kv.Status(ctx)
	if err != nil {
		return pc, err
	}
	pc.kvBytes, pc.kvValues = kst.Bytes(), kst.Values()

	if err := s.stopProcess(); err != nil {
		return pc, err
	}
	if b.o.naiveMax > 0 && n > b.o.naiveMax {
		pc.naiveSkipped = true
		b.progress.printf("poll cost at %d: lcwnotify %.0f requests, %.0f bytes a poll; naive poller not run (-naive-max %d)",
			n, pc.requests, pc.bytes, b.o.naiveMax)
		return pc, nil
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

// polls counts the polls in st: each lists the workflows once, in one page or more.
func polls(st graphsim.Stats) int { return int(st.ByOp[graphsim.OpListWorkflows].Listings) }

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
