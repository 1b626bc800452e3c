package watcher

import (
	"context"
	"errors"
	"time"

	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// activeOverlap is how far behind the previous poll of a workflow an active poll's lists
// reach. An active poll is an early look, not a guarantee: whatever Graph reports later
// than this behind its timestamps is read by the next full poll, whose window reaches
// back the whole LCW_POLL_OVERLAP from the watermark, as before.
const activeOverlap = 2 * time.Minute

// pollActive polls the workflows wfs between two full polls: the ones the schedule
// holds active. Each reads only what can have changed since its previous poll (see
// readActive), publishes and records the changes exactly as a full poll does, and
// leaves the watermark, the expiry of final results and the results no list returned
// to the next full poll. Poll and pollActive calls are serialised.
func (w *Watcher) pollActive(ctx context.Context, wfs []graph.Workflow) (PollStats, error) {
	w.pollMu.Lock()
	defer w.pollMu.Unlock()
	start := w.now()
	ids := make([]string, len(wfs))
	for i, wf := range wfs {
		ids[i] = wf.ID
	}
	w.sched.activeStarted(ids, start)
	stats, err := w.activePoll(ctx, wfs, start)
	stats.Duration = w.now().Sub(start)
	stats.Tracked = w.state.tracked()
	w.metrics.setTracked(stats.Tracked)
	w.metrics.observeActivePoll(err == nil)
	return stats, err
}

func (w *Watcher) activePoll(ctx context.Context, wfs []graph.Workflow, start time.Time) (PollStats, error) {
	if err := w.prepare(ctx); err != nil {
		return PollStats{Workflows: len(wfs)}, err
	}
	// A workflow without a watermark is new: the next full poll gives it one.
	stats, errs := w.pollFlows(ctx, wfs, false, func(ctx context.Context, wf graph.Workflow, f *flow) (flowStats, error) {
		st, err := w.pollActiveWorkflow(ctx, wf, f)
		if err == nil {
			w.sched.activeDone(wf.ID, start)
		}
		return st, err
	})
	return stats, errors.Join(errs...)
}

// pollActiveWorkflow is the active poll of workflow wf: read what changed lately,
// publish, record. The diff's cutoff is the full window's, so that a result is judged
// new or history exactly as a full poll at the same instant would judge it: an active
// poll sees a part of what that poll would see, and decides the same about that part.
func (w *Watcher) pollActiveWorkflow(ctx context.Context, wf graph.Workflow, f *flow) (flowStats, error) {
	var st flowStats
	log := w.log.With("workflow", wf.ID, "poll", "active")
	win := w.window(f.mark, w.now())
	since := later(f.mark.Watermark, w.sched.lastActive(wf.ID)).Add(-activeOverlap)
	rd, err := w.readActive(ctx, f, win, since)
	if err != nil {
		w.metrics.addFailure(reason(ctx, err, "graph"))
		return st, err
	}
	st.observed = len(rd.obs)
	d := diff(f, rd.obs, win.from)
	dets, err := w.readDetailsAll(ctx, log, wf.ID, d.changes)
	if err != nil {
		w.metrics.addFailure(reason(ctx, err, "graph"))
		return st, err
	}
	if st.commitStats, err = w.commit(ctx, log, wf, f, d.changes, dets); err != nil {
		w.metrics.addFailure(reason(ctx, err, "nats"))
		return st, err
	}
	return st, nil
}

// readActive makes an active poll's requests: the two workflow-wide lists of a full
// poll narrowed to since (results not final scheduled since, results completed since),
// and the runs only when a result seen has no run id yet — a run id is all the runs
// list adds, and an active run's lastUpdatedDateTime changes at every result, so
// listing its results every few seconds would cost pages for nothing. A quiet active
// poll is two requests, whatever the size of the run in progress.
func (w *Watcher) readActive(ctx context.Context, f *flow, win window, since time.Time) (reading, error) {
	rd := newReading()
	narrow := win
	narrow.from, narrow.reach = later(win.from, since), later(win.reach, since)
	if err := w.listResults(ctx, &rd, f.id, "results not final", notFinal(narrow)); err != nil {
		return rd, err
	}
	if err := w.listResults(ctx, &rd, f.id, "results completed", graph.Between("completedDateTime", narrow.from, win.to)); err != nil {
		return rd, err
	}
	if lacksRun(f, rd.obs) {
		if err := w.readRuns(ctx, &rd, f, win); err != nil {
			return rd, err
		}
	}
	return rd, nil
}

// lacksRun reports whether a result observed has no run id, neither from its list nor
// recorded.
func lacksRun(f *flow, obs observations) bool {
	for id, o := range obs {
		if o.runID != "" {
			continue
		}
		if rec := f.get(id); rec == nil || rec.RunID == "" {
			return true
		}
	}
	return false
}
