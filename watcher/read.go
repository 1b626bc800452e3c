package watcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// Graph's limits, as the lists use them.
const (
	// graphReach is how far back a list reaches: Graph keeps 30 days and refuses filters
	// beyond; an hour of margin keeps a bound computed on a clock ahead of Graph's inside.
	graphReach = 30*24*time.Hour - time.Hour
	// futureSkew puts the upper bound of every range ahead of our clock: Graph's clock may
	// be ahead of ours, and a result may be scheduled a little in the future.
	futureSkew = 24 * time.Hour
)

// window is the time range one poll of a workflow reads.
type window struct {
	// start is when the poll of the workflow started: the watermark once it succeeds.
	start time.Time
	// from is the lower bound of runs updated and results completed: the watermark minus
	// the overlap, never before the workflow's floor nor Graph's reach. It is also the
	// cutoff of diff.
	from time.Time
	// to is the upper bound of every range.
	to time.Time
	// reach is the lower bound of lists by scheduledDateTime: Graph's reach.
	reach time.Time
}

func (w *Watcher) window(m *mark, now time.Time) window {
	reach := now.Add(-graphReach)
	from := m.Floor
	if !m.Watermark.IsZero() {
		from = later(from, m.Watermark.Add(-w.overlap))
	}
	return window{start: now, from: later(from, reach), to: now.Add(futureSkew), reach: reach}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// notFinal is the third list's filter: every status but the final ones, so that
// queued, inProgress, canceling, quarantined and any status Graph adds later come back
// in one request. Only "ne" joined by "and" — documented forms.
func notFinal(win window) graph.Filter {
	f := graph.Between("scheduledDateTime", win.reach, win.to)
	for _, s := range events.FinalStatuses {
		f = f.And(graph.Where("processingStatus", graph.Ne, s))
	}
	return f
}

// runSelect is all the watcher needs of a run: which changed, and when.
var runSelect = []string{"id", "processingStatus", "lastUpdatedDateTime"}

// reading is what the Graph reads of one poll of a workflow found.
type reading struct {
	obs observations
	// runs are the runs whose results were listed, with their lastUpdatedDateTime.
	runs map[string]time.Time
	// fetched counts tracked results read alone, because no list returned them.
	fetched int
	// gone are tracked results Graph answered 404 for.
	gone []*record
}

// read makes the poll's Graph requests for workflow f. Any failure fails the whole
// reading: nothing is published or recorded from a partial one.
//
// The lists are read in this order: results not final, results completed in the
// window, then runs updated in the window and the results of each run that changed
// since its results were last listed. Runs come last so that a result first seen in a
// workflow-wide list, whose run was created meanwhile, still learns its run id.
func (w *Watcher) read(ctx context.Context, f *flow, win window) (reading, error) {
	rd := newReading()
	wf := f.id
	if err := w.listResults(ctx, &rd, wf, "results not final", notFinal(win)); err != nil {
		return rd, err
	}
	if err := w.listResults(ctx, &rd, wf, "results completed", graph.Between("completedDateTime", win.from, win.to)); err != nil {
		return rd, err
	}
	if err := w.readRuns(ctx, &rd, f, win); err != nil {
		return rd, err
	}
	for _, rec := range f.snapshot() {
		if events.IsFinal(rec.Status) || rd.obs[rec.ID] != nil {
			continue
		}
		// Tracked, not final when last seen, and in no list: it finished too long ago for
		// the completed list (reporting lag beyond the overlap) or was scheduled beyond
		// Graph's reach. Read it alone.
		r, err := w.graph.GetResult(ctx, wf, rec.RunID, rec.ID)
		switch {
		case errors.Is(err, graph.ErrNotFound):
			rd.gone = append(rd.gone, rec)
			continue
		case refused(err):
			// Held back, it would hold back every change of the workflow for good.
			w.log.Warn("Graph refuses to read a tracked result: trying again at the next poll",
				"workflow", wf, "result", rec.ID, "err", err)
			continue
		case err != nil:
			return rd, fmt.Errorf("get tracked result %s: %w", rec.ID, err)
		}
		rd.fetched++
		rd.obs.add(r, rec.RunID, w.now())
	}
	return rd, nil
}

func newReading() reading {
	return reading{obs: make(observations), runs: make(map[string]time.Time)}
}

// listResults adds to rd the results of workflow wf that filter selects; what names
// the list in an error.
func (w *Watcher) listResults(ctx context.Context, rd *reading, wf, what string, filter graph.Filter) error {
	res, err := w.graph.ListResults(ctx, wf, graph.Query{Filter: filter})
	if err != nil {
		return fmt.Errorf("list %s: %w", what, err)
	}
	at := w.now()
	for _, r := range res {
		rd.obs.add(r, "", at)
	}
	return nil
}

// readRuns adds to rd the runs of f updated in the window, and the results of each run
// that changed since its results were last listed.
func (w *Watcher) readRuns(ctx context.Context, rd *reading, f *flow, win window) error {
	wf := f.id
	runs, err := w.graph.ListRuns(ctx, wf, graph.Query{
		Filter: graph.Between("lastUpdatedDateTime", win.from, win.to),
		Select: runSelect,
	})
	if err != nil {
		return fmt.Errorf("list runs updated: %w", err)
	}
	for _, run := range runs {
		var updated time.Time
		if run.LastUpdatedDateTime != nil {
			updated = *run.LastUpdatedDateTime
		}
		if seen, ok := f.mark.Runs[run.ID]; ok && !updated.IsZero() && seen.Equal(updated) {
			continue // listed already, and unchanged since
		}
		res, err := w.graph.ListRunResults(ctx, wf, run.ID, graph.Query{Filter: graph.Between("scheduledDateTime", win.reach, win.to)})
		if refused(err) {
			// Gone between the two requests (404), or refused for good. Its results'
			// changes reach the workflow's own lists; only their run id is lost. Not
			// marked listed: tried again while the run is inside the window.
			w.log.Warn("cannot list the results of a run listed as updated: they are announced without their run id",
				"workflow", wf, "run", run.ID, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("list results of run %s: %w", run.ID, err)
		}
		at := w.now()
		for _, r := range res {
			rd.obs.add(r, run.ID, at)
		}
		rd.runs[run.ID] = updated
	}
	return nil
}

// nextRuns is the runs map of the next mark: the runs listed, and the ones listed
// before, as long as the next window can return them.
func nextRuns(prev, listed map[string]time.Time, nextFrom time.Time) map[string]time.Time {
	out := make(map[string]time.Time, len(prev)+len(listed))
	for _, m := range []map[string]time.Time{prev, listed} {
		for id, t := range m {
			if !t.IsZero() && !t.Before(nextFrom) {
				out[id] = t
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
