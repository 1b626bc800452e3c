package watcher

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// benchWorkflows is how many workflows the benchmark tenant has.
const benchWorkflows = 10

// BenchmarkPollCost measures what one steady poll costs Graph, against a tenant holding
// 1k, 30k and 300k results of history plus twenty results in progress, and compares it
// with a naive poll that lists every result of Graph's 30-day window, measured in the
// same run on the same simulator: requests and response bytes per poll come from the
// simulator's counters.
//
//	go test ./watcher -run '^$' -bench PollCost -benchtime 20x
func BenchmarkPollCost(b *testing.B) {
	for _, n := range []int{1_000, 30_000, 300_000} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			e := newEnv(b)
			var ids []string
			for i := range benchWorkflows {
				ids = append(ids, e.sim.AddWorkflow(graphsim.Workflow{DisplayName: fmt.Sprintf("Workflow %d", i)}).ID)
			}
			e.sim.GenerateHistory(graphsim.HistoryOptions{Results: n})
			users := e.sim.AddUsers(20)
			for i, u := range users {
				run := e.sim.StartRun(ids[i%len(ids)], u.ID)
				e.set(run.Results[0], "inProgress", time.Time{})
			}
			w := e.watcher()
			e.poll(w) // first start: history recorded as history, work in progress announced
			e.clock.advance(time.Minute)
			e.poll(w)

			b.Run("watcher", func(b *testing.B) {
				e.sim.ResetStats()
				var st PollStats
				for b.Loop() {
					e.clock.advance(time.Minute)
					if st = e.poll(w); st.Published != 0 {
						b.Fatalf("steady poll published %d events", st.Published)
					}
				}
				report(b, e.sim.Stats())
				b.ReportMetric(float64(st.Tracked), "tracked")
			})
			b.Run("naive", func(b *testing.B) {
				e.sim.ResetStats()
				ctx := context.Background()
				for b.Loop() {
					now := e.clock.now()
					wfs, err := e.graph.ListWorkflows(ctx)
					if err != nil {
						b.Fatal(err)
					}
					total := 0
					for _, wf := range wfs {
						res, err := e.graph.ListResults(ctx, wf.ID, graph.Query{
							Filter: graph.Between("scheduledDateTime", now.Add(-graphReach), now.Add(futureSkew)),
						})
						if err != nil {
							b.Fatal(err)
						}
						total += len(res)
					}
					if total < n {
						b.Fatalf("naive listing saw %d results, want at least %d", total, n)
					}
				}
				report(b, e.sim.Stats())
			})
		})
	}
}

func report(b *testing.B, s graphsim.Stats) {
	b.ReportMetric(float64(s.Requests)/float64(b.N), "requests/poll")
	b.ReportMetric(float64(s.Bytes)/float64(b.N), "bytes/poll")
}

// BenchmarkPublish measures the publishing side to an in-process server: events/s of
// PublishAll alone, and of commit, which also records each event with compare-and-set
// (what bounds a catch-up after a long downtime).
//
//	go test ./watcher -run '^$' -bench Publish -benchtime 20000x
func BenchmarkPublish(b *testing.B) {
	e := newEnv(b)
	w := e.watcher()
	wf := graph.Workflow{ID: "wf-bench", DisplayName: "Bench", Category: "leaver", Version: 1}
	rounds := 0 // the framework calls each sub-benchmark more than once: ids must differ
	newChanges := func(n int) []change {
		rounds++
		out := make([]change, n)
		for i := range out {
			id := fmt.Sprintf("wf-bench_1_run_%d_%08d", rounds, i)
			o := &observation{res: result(id, "failed", at(0), at(0), at(time.Minute)), at: t0}
			out[i] = change{obs: o, next: &record{ID: id, WorkflowID: wf.ID, Status: "failed", Seen: t0}, announce: true}
		}
		return out
	}
	b.Run("publishAll", func(b *testing.B) {
		ctx := context.Background()
		pub := events.NewPublisher(e.js, "LCW", "lcw")
		cs := newChanges(b.N)
		evs := make([]*events.Event, 0, publishBatch)
		b.ResetTimer()
		for lo := 0; lo < len(cs); lo += publishBatch {
			evs = evs[:0]
			for i := lo; i < min(lo+publishBatch, len(cs)); i++ {
				ev, err := w.newEvent(w.log, "tenant", wf, &cs[i], nil)
				if err != nil {
					b.Fatal(err)
				}
				evs = append(evs, ev)
			}
			for _, a := range pub.PublishAll(ctx, evs) {
				if a.Err != nil || a.Duplicate {
					b.Fatalf("ack %+v", a)
				}
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("commit", func(b *testing.B) {
		f := w.state.flow(wf.ID)
		cs := newChanges(b.N)
		dets := make([]*details, len(cs))
		b.ResetTimer()
		st, err := w.commit(context.Background(), e.log, wf, f, cs, dets)
		if err != nil || st.published != b.N {
			b.Fatalf("commit: %+v, %v", st, err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkTrackedMemory measures the heap one tracked result costs the watcher: its
// record in the in-memory view, with an id of the {workflowId}_{version}_{runId}_{userId}
// shape newer results have.
//
//	go test ./watcher -run '^$' -bench TrackedMemory -benchtime 1x
func BenchmarkTrackedMemory(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f := newFlow("8707a01d-6329-483f-87df-1bd4a477b564")
		for i := range n {
			id := fmt.Sprintf("%s_3_%s_%018d_%08x-6329-483f-87df-1bd4a477b564", f.id, f.id, 638772048000000000+i, i)
			f.results[id] = &record{ID: id, WorkflowID: f.id, RunID: id[39:96], Status: internStatus("inProgress"),
				Seen: t0, rev: uint64(i)}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/result")
		runtime.KeepAlive(f)
	}
}
