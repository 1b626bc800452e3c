package graphsim

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// HistoryOptions describe bulk history: finished runs spread evenly over the last Days
// days, as a tenant that has run its workflows on schedule for a month has.
type HistoryOptions struct {
	// Workflows are the workflow ids to generate history for; default all.
	Workflows []string
	// Results is the total number of userProcessingResults to generate.
	Results int
	// Days is how far back the history reaches; default and maximum 29, so that all of
	// it stays inside the 30 days the reports keep.
	Days int
	// RunsPerDay is how many scheduled runs each workflow has a day; default 8 (every
	// three hours, Lifecycle Workflows' default schedule).
	RunsPerDay int
	// Users is the size of the user pool the results are drawn from; default
	// min(Results, 2000). The users are added to the directory.
	Users int
	// FailedRate, ErrorsRate and CanceledRate are the shares of results that end
	// failed, completedWithErrors and canceled; the rest complete. Defaults 0.02, 0.01
	// and 0.003.
	FailedRate, ErrorsRate, CanceledRate float64
}

// HistoryStats describes what GenerateHistory added.
type HistoryStats struct {
	Results, Runs, Users int
	ByStatus             map[string]int
	// Oldest and Newest are the first run's scheduledDateTime and the last result's
	// completedDateTime.
	Oldest, Newest time.Time
}

// GenerateHistory adds finished runs and results in bulk. Every result is final and
// completed before now, so a watcher that starts afterwards with no lookback has
// nothing to announce. Task results are not stored: they are derived from a compact
// record when read, which keeps 300k results in about 100 MB.
func (s *Sim) GenerateHistory(o HistoryOptions) HistoryStats {
	s.lock()
	defer s.mu.Unlock()
	if o.Days <= 0 || o.Days > 29 {
		o.Days = 29
	}
	if o.RunsPerDay <= 0 {
		o.RunsPerDay = 8
	}
	if o.Users <= 0 {
		o.Users = min(max(o.Results, 1), 2000)
	}
	if o.FailedRate == 0 && o.ErrorsRate == 0 && o.CanceledRate == 0 {
		o.FailedRate, o.ErrorsRate, o.CanceledRate = 0.02, 0.01, 0.003
	}
	wfs := s.workflows
	if len(o.Workflows) > 0 {
		wfs = make([]*workflowRec, len(o.Workflows))
		for i, id := range o.Workflows {
			wfs[i] = s.mustWorkflow(id)
		}
	}
	st := HistoryStats{ByStatus: make(map[string]int)}
	if len(wfs) == 0 || o.Results <= 0 {
		return st
	}
	pool := make([]string, o.Users)
	for i := range pool {
		given, sur := givenNames[s.rng.IntN(len(givenNames))], surnames[s.rng.IntN(len(surnames))]
		id := s.newGUID()
		pool[i] = s.addUserLocked(User{ID: id, DisplayName: given + " " + sur, GivenName: given, Surname: sur,
			UserPrincipalName: strings.ToLower(strings.ReplaceAll(given+"."+sur, "'", "")) + "." + id[:4] + "@contoso.onmicrosoft.com"}).ID
	}
	st.Users = len(pool)

	// Grow the maps and indexes once rather than rehashing and copying as they fill.
	grown := make(map[string]*resultRec, len(s.results)+o.Results)
	for k, v := range s.results {
		grown[k] = v
	}
	s.results = grown
	for _, wf := range wfs {
		per := o.Results/len(wfs) + 1
		x := &wf.results
		x.byScheduled = slices.Grow(x.byScheduled, per)
		x.byStarted = slices.Grow(x.byStarted, per)
		x.byCompleted = slices.Grow(x.byCompleted, per)
	}

	now := s.stampNow()
	interval := stamp(24 * time.Hour / time.Duration(o.RunsPerDay))
	runsPerWf := o.Days * o.RunsPerDay
	totalRuns := runsPerWf * len(wfs)
	first := now - stamp(time.Duration(o.Days)*24*time.Hour)
	st.Oldest = first.Time()
	next := 0 // position in the user pool
	for k := range runsPerWf {
		for w, wf := range wfs {
			n := o.Results / totalRuns
			if (k*len(wfs) + w) < o.Results%totalRuns {
				n++
			}
			if n == 0 {
				continue
			}
			at := first + stamp(k)*interval + stamp(s.rng.Int64N(int64(time.Minute)))
			run := s.newRun(wf, ExecutionScheduled, at-at%100)
			st.Runs++
			tasks := wf.tasks[wf.version]
			prefix := wf.id + "_" + strconv.Itoa(wf.version) + "_" + run.id + "_"
			run.results = make([]*resultRec, 0, n)
			for range n {
				uid := pool[next%len(pool)]
				next++
				r := s.historyResult(run, prefix+uid, uid, tasks, o)
				run.results = append(run.results, r)
				s.results[r.id] = r
				x := &wf.results
				x.byScheduled = append(x.byScheduled, r)
				x.byStarted = append(x.byStarted, r)
				x.byCompleted = append(x.byCompleted, r)
				st.ByStatus[r.status]++
				st.Results++
				if r.completed.Time().After(st.Newest) {
					st.Newest = r.completed.Time()
				}
			}
			run.recompute()
			run.updated = run.completed
		}
	}
	for _, wf := range wfs {
		wf.results.sortAll()
	}
	return st
}

// historyResult builds one finished result with its task outcome in compact form.
func (s *Sim) historyResult(run *runRec, id, userID string, tasks []*taskRec, o HistoryOptions) *resultRec {
	started := run.scheduled + stamp(time.Second+time.Duration(s.rng.Int64N(int64(2*time.Minute))))
	completed := started + stamp(20*time.Second+time.Duration(s.rng.Int64N(int64(15*time.Minute))))
	r := &resultRec{id: id, wf: run.wf, run: run, userID: userID, version: run.wf.version,
		status: events.StatusCompleted, execType: run.execType, scheduled: run.scheduled,
		started: started - started%100, completed: completed - completed%100,
		totalTasks: len(tasks), histFailed: -1}
	p := s.rng.Float64()
	if len(tasks) == 0 {
		return r
	}
	switch {
	case p < o.FailedRate:
		r.status = events.StatusFailed
		i := s.pickTask(tasks, false)
		r.histFailed, r.histReason = int8(i), reasonIndex(defaultReason(tasks[i]))
		r.failedTasks, r.unprocessed = 1, len(tasks)-1-i
	case p < o.FailedRate+o.ErrorsRate:
		r.status = events.StatusCompletedWithErrors
		i := s.pickTask(tasks, true)
		r.histFailed, r.histReason = int8(i), reasonIndex(defaultReason(tasks[i]))
		r.failedTasks = 1
	case p < o.FailedRate+o.ErrorsRate+o.CanceledRate:
		r.status = events.StatusCanceled
		r.unprocessed = len(tasks)
	}
	return r
}

// pickTask chooses a task to fail: one that stops the workflow (failed) or one that
// continues on error (completedWithErrors), falling back to any task.
func (s *Sim) pickTask(tasks []*taskRec, continueOnError bool) int {
	var fit []int
	for i, t := range tasks {
		if t.continueOnError == continueOnError {
			fit = append(fit, i)
		}
	}
	if len(fit) == 0 {
		return s.rng.IntN(len(tasks))
	}
	return fit[s.rng.IntN(len(fit))]
}
