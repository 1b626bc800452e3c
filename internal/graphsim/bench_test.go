package graphsim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// Run with:
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/graphsim/
//
// Results and the machine they were measured on: docs/benchmarks/graphsim.md.

// BenchmarkGenerateHistory measures bulk history: results generated per second and
// the heap each result keeps.
func BenchmarkGenerateHistory(b *testing.B) {
	for _, n := range []int{30_000, 300_000, 1_000_000} {
		b.Run(fmt.Sprintf("results=%d", n), func(b *testing.B) {
			var heap uint64
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				sim := graphsim.New(graphsim.Options{Seed: 1})
				sim.AddWorkflow(graphsim.Workflow{Category: graphsim.CategoryJoiner})
				sim.AddWorkflow(graphsim.Workflow{Category: graphsim.CategoryLeaver})
				b.StartTimer()
				sim.GenerateHistory(graphsim.HistoryOptions{Results: n})
				b.StopTimer()
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				heap = after.HeapAlloc - before.HeapAlloc
				runtime.KeepAlive(sim)
				b.StartTimer()
			}
			b.ReportMetric(float64(n)/(b.Elapsed().Seconds()/float64(b.N)), "results/s")
			b.ReportMetric(float64(heap)/float64(n), "heapB/result")
		})
	}
}

// benchTenant is a simulator with history, a handful of results in the last minutes,
// served over real HTTP.
type benchTenant struct {
	sim  *graphsim.Sim
	srv  *httptest.Server
	wf   string
	now  time.Time
	hist graphsim.HistoryStats
}

var (
	benchMu      sync.Mutex
	benchTenants = map[int]*benchTenant{}
)

// tenantWith builds (once per size) a tenant with n history results across two
// workflows, plus 8 live results: 5 completed a few minutes ago, 3 still running.
func tenantWith(b *testing.B, n int) *benchTenant {
	benchMu.Lock()
	defer benchMu.Unlock()
	if bt := benchTenants[n]; bt != nil {
		return bt
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &now
	sim := graphsim.New(graphsim.Options{Seed: 1, Now: func() time.Time { return *clock }})
	wf := sim.AddWorkflow(graphsim.Workflow{Category: graphsim.CategoryJoiner})
	sim.AddWorkflow(graphsim.Workflow{Category: graphsim.CategoryLeaver})
	hist := sim.GenerateHistory(graphsim.HistoryOptions{Results: n})
	users := sim.AddUsers(8)
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	run := sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: now.Add(-8 * time.Minute), Users: ids})
	for i, id := range run.Results {
		sim.UpdateResult(id, graphsim.ResultUpdate{Status: events.StatusInProgress, At: now.Add(-7 * time.Minute)})
		if i < 5 {
			sim.UpdateResult(id, graphsim.ResultUpdate{Status: events.StatusCompleted, At: now.Add(-time.Duration(5-i) * time.Minute)})
		}
	}
	srv := httptest.NewServer(sim)
	bt := &benchTenant{sim: sim, srv: srv, wf: wf.ID, now: now, hist: hist}
	benchTenants[n] = bt
	return bt
}

// get reads one URL to the end and returns the status.
func (bt *benchTenant) get(b *testing.B, target string) int {
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Prefer", "include-unknown-enum-members")
	resp, err := bt.srv.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode
}

// BenchmarkPollQueries serves the watcher's three list queries (docs/architecture.md,
// "What one poll reads") over history of growing size: their cost must not grow with
// the history.
func BenchmarkPollQueries(b *testing.B) {
	for _, n := range []int{1_000, 30_000, 300_000} {
		bt := tenantWith(b, n)
		base := bt.srv.URL + lcw + "/" + bt.wf
		from, to := ts(bt.now.Add(-10*time.Minute)), ts(bt.now.Add(time.Minute))
		queries := []struct{ name, url string }{
			{"runsUpdated", q(base+"/runs", "$filter", "lastUpdatedDateTime ge "+from+" and lastUpdatedDateTime le "+to)},
			{"resultsCompleted", q(base+"/userProcessingResults", "$filter", "completedDateTime ge "+from+" and completedDateTime le "+to)},
			{"resultsNotFinal", q(base+"/userProcessingResults", "$filter", "processingStatus ne 'completed' and processingStatus ne 'completedWithErrors' and "+
				"processingStatus ne 'failed' and processingStatus ne 'canceled' and scheduledDateTime ge "+ts(bt.now.Add(-29*24*time.Hour))+
				" and scheduledDateTime le "+to)},
		}
		for _, qq := range queries {
			b.Run(fmt.Sprintf("history=%d/%s", n, qq.name), func(b *testing.B) {
				bt.sim.ResetStats()
				n := 0
				for b.Loop() {
					if st := bt.get(b, qq.url); st != http.StatusOK {
						b.Fatalf("status %d", st)
					}
					n++
				}
				st := bt.sim.Stats()
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "req/s")
				b.ReportMetric(float64(st.Bytes)/float64(st.Requests), "B/resp")
			})
		}
	}
}

// BenchmarkFullListing is the naive alternative: page through every result of the last
// 30 days with the largest page. One op is one complete listing.
func BenchmarkFullListing(b *testing.B) {
	for _, n := range []int{1_000, 30_000, 300_000} {
		bt := tenantWith(b, n)
		first := q(bt.srv.URL+lcw+"/"+bt.wf+"/userProcessingResults", "$filter",
			"scheduledDateTime ge "+ts(bt.now.Add(-29*24*time.Hour)), "$top", "999")
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			bt.sim.ResetStats()
			listings := 0
			for b.Loop() {
				listings++
				var page struct {
					Next string `json:"@odata.nextLink"`
				}
				next := first
				for next != "" {
					req, _ := http.NewRequest(http.MethodGet, next, nil)
					req.Header.Set("Authorization", "Bearer bench")
					resp, err := bt.srv.Client().Do(req)
					if err != nil {
						b.Fatal(err)
					}
					page.Next = ""
					err = jsonDecode(resp.Body, &page)
					resp.Body.Close()
					if err != nil {
						b.Fatal(err)
					}
					next = page.Next
				}
			}
			st := bt.sim.Stats()
			b.ReportMetric(float64(st.Requests)/float64(listings), "req/listing")
			b.ReportMetric(float64(st.Bytes)/float64(listings), "B/listing")
		})
	}
}

// BenchmarkSimulatedDay plays what the adaptive-polling benchmark drives: 10 workflows
// on the 3-hour schedule, runs of 1–300 users lasting 1–20 minutes, on a manual
// clock stepped every poll interval, with the poll's three list requests per workflow
// at each step. One op is one simulated day; baseline is the same day of polls with no
// scheduled run at all (what the timeline costs when nothing is due).
func BenchmarkSimulatedDay(b *testing.B) {
	for _, tc := range []struct {
		name string
		hook graphsim.ScheduleHook
		step time.Duration
	}{
		{"baseline/step=60s", nil, time.Minute},
		{"runs/step=60s", graphsim.RandomRuns(7, graphsim.RandomRunsOptions{FailedRate: 0.02, ErrorsRate: 0.01}), time.Minute},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var results, requests int64
			for b.Loop() {
				clock := graphsim.NewClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
				sim := graphsim.New(graphsim.Options{Seed: 1, Now: clock.Now})
				var wfs []string
				for i := range 10 {
					wfs = append(wfs, sim.AddWorkflow(graphsim.Workflow{ScheduleOffset: time.Duration(i) * 7 * time.Minute}).ID)
				}
				if tc.hook != nil {
					sim.SetScheduleHook(tc.hook)
				}
				srv := httptest.NewServer(sim)
				bt := &benchTenant{sim: sim, srv: srv}
				for end := clock.Now().Add(24 * time.Hour); clock.Now().Before(end); clock.Advance(tc.step) {
					now := clock.Now()
					from, to := ts(now.Add(-10*time.Minute)), ts(now.Add(time.Minute))
					for _, wf := range wfs {
						base := srv.URL + lcw + "/" + wf
						for _, u := range []string{
							q(base+"/runs", "$filter", "lastUpdatedDateTime ge "+from+" and lastUpdatedDateTime le "+to),
							q(base+"/userProcessingResults", "$filter", "completedDateTime ge "+from+" and completedDateTime le "+to),
							q(base+"/userProcessingResults", "$filter", "processingStatus ne 'completed' and processingStatus ne 'completedWithErrors' and "+
								"processingStatus ne 'failed' and processingStatus ne 'canceled' and scheduledDateTime ge "+ts(now.Add(-29*24*time.Hour))+
								" and scheduledDateTime le "+to),
						} {
							if st := bt.get(b, u); st != http.StatusOK {
								b.Fatalf("status %d", st)
							}
						}
					}
				}
				for _, wf := range wfs {
					for _, run := range sim.Runs(wf) {
						results += int64(len(run.Results))
					}
				}
				requests += sim.Stats().Requests
				srv.Close()
			}
			b.ReportMetric(float64(results)/float64(b.N), "results/day")
			b.ReportMetric(float64(requests)/float64(b.N), "req/day")
		})
	}
}
