package e2e

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// A path is the statuses a result goes through after it is created queued.
type path []string

// weighted is a path and how often traffic picks it.
type weighted struct {
	weight int
	path   path
}

// busyTenant is the mix of a tenant at work: most results complete, a fair share fail
// or complete with errors, some are canceled, a few pass through statuses newer than
// lcwnotify knows.
var busyTenant = []weighted{
	{30, path{"inProgress", "completed"}},
	{18, path{"inProgress", "failed"}},
	{10, path{"inProgress", "completedWithErrors"}},
	{5, path{"failed"}},
	{6, path{"inProgress", "canceled"}},
	{4, path{"canceled"}},
	{3, path{"canceling", "canceled"}},
	{5, path{"inProgress", "quarantined", "failed"}},
	{3, path{"inProgress", suspended, "completedWithErrors"}},
}

// failingTenant fails more than it succeeds: every phase of an outage has failures to
// deliver.
var failingTenant = []weighted{
	{25, path{"inProgress", "completed"}},
	{45, path{"inProgress", "failed"}},
	{20, path{"inProgress", "completedWithErrors"}},
	{10, path{"failed"}},
}

// traffic drives results through random paths at a steady pace from one goroutine, so
// that the tenant's truth is the order things happened in Graph.
type traffic struct {
	tn  *tenant
	wfs []graphsim.Workflow
	rng *rand.Rand
	mix []weighted
	// results is how many results to create; rate is the number of actions (a run
	// started, a result moved) per second.
	results int
	rate    float64

	// actions counts actions taken, created results created: progress, for tests that
	// break something midway.
	actions, created atomic.Int64
	// stopping ends the creation of results early (finish).
	stopping atomic.Bool
}

type plan struct {
	id   string
	path path
	next int
}

func newTraffic(tn *tenant, wfs []graphsim.Workflow, seed uint64, mix []weighted, results int, rate float64) *traffic {
	return &traffic{tn: tn, wfs: wfs, rng: rand.New(rand.NewPCG(seed, 1)), mix: mix, results: results, rate: rate}
}

// start runs the traffic in a goroutine; the channel is closed when every result has
// reached the end of its path.
func (tr *traffic) start() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.run()
	}()
	return done
}

// finish stops creating results: the traffic ends once the results in flight have
// reached the end of their paths. Tests that break things for as long as it takes use
// a generous number of results and finish when they are done.
func (tr *traffic) finish() { tr.stopping.Store(true) }

func (tr *traffic) run() {
	tick := time.NewTicker(time.Duration(float64(time.Second) / tr.rate))
	defer tick.Stop()
	var active []*plan
	created := 0
	for (created < tr.results && !tr.stopping.Load()) || len(active) > 0 {
		<-tick.C
		tr.actions.Add(1)
		// Start a run one time in three while results remain to create, or when nothing
		// is in flight.
		if created < tr.results && !tr.stopping.Load() && (len(active) == 0 || tr.rng.IntN(3) == 0) {
			n := min(1+tr.rng.IntN(4), tr.results-created)
			created += n
			tr.created.Store(int64(created))
			active = append(active, tr.startRun(n)...)
			continue
		}
		i := tr.rng.IntN(len(active))
		p := active[i]
		tr.tn.set(p.id, p.path[p.next])
		if p.next++; p.next == len(p.path) {
			active = append(active[:i], active[i+1:]...)
		}
	}
}

// startRun starts a run of n results of a random workflow; one run in fifteen has
// finished failed between two polls, one in twenty has users that cannot be read, one in
// ten users without a display name.
func (tr *traffic) startRun(n int) []*plan {
	wf := tr.wfs[tr.rng.IntN(len(tr.wfs))]
	spec := runSpec{users: n, noNames: tr.rng.IntN(10) == 0}
	if tr.rng.IntN(20) == 0 {
		spec.access = graphsim.UserForbidden
	}
	if tr.rng.IntN(15) == 0 {
		spec.status = "failed"
		tr.tn.startRun(wf, spec)
		return nil
	}
	var plans []*plan
	for _, id := range tr.tn.startRun(wf, spec) {
		plans = append(plans, &plan{id: id, path: tr.pick()})
	}
	return plans
}

func (tr *traffic) pick() path {
	sum := 0
	for _, w := range tr.mix {
		sum += w.weight
	}
	n := tr.rng.IntN(sum)
	for _, w := range tr.mix {
		if n < w.weight {
			return w.path
		}
		n -= w.weight
	}
	return tr.mix[0].path
}
