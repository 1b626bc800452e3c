package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// PollStats describe one poll.
type PollStats struct {
	// Workflows is how many workflows the poll covered; FailedWorkflows how many of them
	// failed (those advanced nothing and are retried at the next poll).
	Workflows, FailedWorkflows int
	// Observed counts the distinct results Graph returned; Fetched those of them read one
	// by one because no list returned them.
	Observed, Fetched int
	// Published counts the events the stream stored; Duplicates those it already held
	// (a re-publication after a crash, or by another watcher).
	Published, Duplicates int
	// StateChanges counts the workflow events (quarantined, released, disabled,
	// enabled) the stream stored; they are not in Published. Their duplicates are in
	// Duplicates.
	StateChanges int
	// Unbuildable counts results so malformed that no valid event could be built.
	Unbuildable int
	// Expired counts the results forgotten: final, and behind the next poll's window.
	Expired int
	// Tracked is how many results the state holds after the poll.
	Tracked int
	// GraphRequests counts the HTTP requests the poll sent to Graph, retries
	// included; GraphThrottled those Graph answered 429 or 503.
	GraphRequests, GraphThrottled int64
	// Duration is how long the poll took.
	Duration time.Duration
}

func (s *PollStats) add(o flowStats) {
	s.Observed += o.observed
	s.Fetched += o.fetched
	s.Published += o.published
	s.Duplicates += o.duplicates
	s.Unbuildable += o.unbuildable
	s.Expired += o.expired
}

// flowStats describe the poll of one workflow.
type flowStats struct {
	observed, fetched, expired int
	commitStats
}

// Poll polls every watched workflow once, whether or not this replica holds the lease
// (Run polls only while it does). It returns an error when any part failed: the list of
// workflows, or the poll of one or more workflows, each of which then advanced nothing;
// the others completed. Poll calls are serialised.
func (w *Watcher) Poll(ctx context.Context) (PollStats, error) {
	w.pollMu.Lock()
	defer w.pollMu.Unlock()
	var requests graph.RequestCount
	start := w.now()
	stats, err := w.poll(graph.WithRequestCount(ctx, &requests), start)
	w.sched.fullPolled(start, w.catalogue.list, w.state.watermarks())
	end := w.now()
	stats.Duration = end.Sub(start)
	stats.GraphRequests, stats.GraphThrottled = requests.Requests(), requests.Throttled()
	w.metrics.observeGraphRequests(stats.GraphRequests)
	stats.Tracked = w.state.tracked()
	w.metrics.setTracked(stats.Tracked)
	w.metrics.observePoll(err == nil, stats.Duration, end)
	if err == nil {
		w.lastSuccess.Store(end.UnixNano())
	}
	return stats, err
}

func (w *Watcher) poll(ctx context.Context, start time.Time) (PollStats, error) {
	var stats PollStats
	if err := w.prepare(ctx); err != nil {
		return stats, err
	}
	wfs, complete, listErr := w.catalogue.workflows(ctx, start)
	if listErr != nil {
		if wfs == nil {
			return stats, listErr
		}
		w.log.Warn("polling the workflows known from an earlier listing", "err", listErr)
	}
	markErr := w.ensureMarks(ctx, wfs, start, complete)
	// A quarantined workflow stops everyone it would process: told before its results.
	changes, dups, stateErr := w.checkStates(ctx, wfs, w.catalogue.fresh, start)

	stats, errs := w.pollFlows(ctx, wfs, true, w.pollWorkflow)
	stats.StateChanges, stats.Duplicates = changes, stats.Duplicates+dups
	if complete {
		w.forgetVanished(ctx, wfs, start)
	}
	return stats, errors.Join(append([]error{listErr, markErr, stateErr}, errs...)...)
}

// prepare makes sure a poll can work: NATS connected, the state loaded and current, the
// tenant known.
func (w *Watcher) prepare(ctx context.Context) error {
	if nc := w.js.Conn(); nc != nil && !nc.IsConnected() {
		// Nothing read now could be published: spare Graph the requests.
		return fmt.Errorf("%w: not connected (%s)", errNATS, nc.Status())
	}
	reload, err := w.state.needsLoad(ctx)
	if err != nil {
		return err
	}
	if reload {
		if err := w.state.load(ctx); err != nil {
			return err
		}
	}
	if w.tenant == "" {
		t, err := w.graph.TenantID(ctx)
		if err != nil {
			return fmt.Errorf("tenant id: %w", err)
		}
		w.tenant = t
	}
	return nil
}

// pollFlows polls each workflow of wfs with poll, w.concurrency at a time, and adds the
// stats up; errs holds each workflow's error. A workflow without a watermark is not
// polled: an error when needMark says so, skipped otherwise.
func (w *Watcher) pollFlows(ctx context.Context, wfs []graph.Workflow, needMark bool,
	poll func(context.Context, graph.Workflow, *flow) (flowStats, error)) (PollStats, []error) {
	stats := PollStats{Workflows: len(wfs)}
	fstats := make([]flowStats, len(wfs))
	errs := make([]error, len(wfs))
	sem := make(chan struct{}, w.concurrency)
	var wg sync.WaitGroup
	for i, wf := range wfs {
		f := w.state.flow(wf.ID)
		if !f.hasMark() {
			if needMark {
				errs[i] = fmt.Errorf("workflow %s: no watermark", wf.ID) // ensureMarks said why
			}
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			fstats[i], err = poll(ctx, wf, f)
			if err != nil {
				errs[i] = fmt.Errorf("workflow %s: %w", wf.ID, err)
			}
		})
	}
	wg.Wait()
	for i := range wfs {
		stats.add(fstats[i])
		if errs[i] != nil {
			stats.FailedWorkflows++
		}
	}
	return stats, errs
}

func (f *flow) hasMark() bool { return f.mark != nil && !f.mark.Floor.IsZero() }

// ensureMarks gives every workflow seen for the first time its mark, whose floor says
// from when its results are announced: the lookback on the very first start (no state
// at all), otherwise the last complete workflow listing minus the overlap — the
// workflow appeared since, or was just added to LCW_WORKFLOWS. Until the first start has
// completed a listing (a named workflow it could not read, a mark it could not write),
// a workflow it missed is still owed its lookback. Once every workflow has its mark and
// the list was complete, the listing time is recorded for the next newcomer.
func (w *Watcher) ensureMarks(ctx context.Context, wfs []graph.Workflow, start time.Time, complete bool) error {
	w.state.mu.Lock()
	g := w.state.global
	w.state.mu.Unlock()
	first := g == nil || g.Started.IsZero() && g.Listed.IsZero() // or an unreadable entry
	var floor time.Time
	switch {
	case first:
		floor = start.Add(-w.lookback)
	case g.Listed.IsZero():
		floor = g.Started.Add(-max(w.lookback, w.overlap))
	default:
		floor = g.Listed.Add(-w.overlap)
	}
	var errs []error
	for _, wf := range wfs {
		f := w.state.flow(wf.ID)
		if f.hasMark() {
			continue
		}
		m := &mark{WorkflowID: wf.ID, Floor: floor}
		if f.mark != nil {
			m.rev = f.mark.rev // an unreadable entry: overwrite it
		}
		if err := w.state.saveMark(ctx, f, m); err != nil {
			errs = append(errs, fmt.Errorf("workflow %s: create watermark: %w", wf.ID, err))
			continue
		}
		w.log.Info("watching a new workflow: results that reach a final status before its floor are history",
			"workflow", wf.ID, "name", wf.DisplayName, "floor", floor, "first_start", first)
	}
	listed := complete && len(errs) == 0
	if !first && !listed {
		return errors.Join(errs...)
	}
	// The first start is recorded whatever happened, so that it stays the first start.
	ng := &global{Started: start}
	if g != nil {
		ng.Listed, ng.rev = g.Listed, g.rev
		if !g.Started.IsZero() {
			ng.Started = g.Started
		}
	}
	if listed {
		ng.Listed = start
	}
	if err := w.state.saveGlobal(ctx, ng); err != nil {
		errs = append(errs, fmt.Errorf("record the workflow listing: %w", err))
	}
	return errors.Join(errs...)
}

// pollWorkflow reads workflow wf, publishes its changes, records them, and advances its
// watermark. Any failure returns before the watermark moves.
func (w *Watcher) pollWorkflow(ctx context.Context, wf graph.Workflow, f *flow) (flowStats, error) {
	var st flowStats
	log := w.log.With("workflow", wf.ID)
	win := w.window(f.mark, w.now())
	rd, err := w.read(ctx, f, win)
	if err != nil {
		w.metrics.addFailure(reason(ctx, err, "graph"))
		return st, err
	}
	st.observed, st.fetched = len(rd.obs), rd.fetched
	d := diff(f, rd.obs, win.from)
	if d.stale > 0 {
		log.Debug("ignored results reported not final after a final status (a lagging read)", "count", d.stale)
	}
	dets, err := w.readDetailsAll(ctx, log, wf.ID, d.changes)
	if err != nil {
		w.metrics.addFailure(reason(ctx, err, "graph"))
		return st, err
	}
	st.commitStats, err = w.commit(ctx, log, wf, f, d.changes, dets)
	if err != nil {
		w.metrics.addFailure(reason(ctx, err, "nats"))
		return st, err
	}
	for _, rec := range rd.gone {
		log.Warn("a tracked result is gone from Graph: forgetting it", "result", rec.ID, "last_status", rec.Status)
		if err := w.state.dropResult(ctx, f, rec); err != nil {
			log.Warn("cannot forget a result; trying again at the next poll", "result", rec.ID, "err", err)
		}
	}
	next := &mark{WorkflowID: wf.ID, Floor: f.mark.Floor, Watermark: win.start, rev: f.mark.rev}
	nextFrom := w.window(next, win.start).from
	next.Runs = nextRuns(f.mark.Runs, rd.runs, nextFrom)
	// Everything read was published and recorded: advance even if ctx just ended.
	if err := w.state.saveMark(context.WithoutCancel(ctx), f, next); err != nil {
		w.metrics.addFailure(reason(ctx, err, "nats"))
		return st, fmt.Errorf("advance watermark: %w", err)
	}
	st.expired = w.expire(ctx, log, f, nextFrom)
	return st, nil
}

// expire forgets the final results that the next poll's window no longer reaches.
// A failure only delays it to the next poll.
func (w *Watcher) expire(ctx context.Context, log *slog.Logger, f *flow, nextFrom time.Time) int {
	n := 0
	for _, rec := range f.snapshot() {
		if !expired(rec, nextFrom) {
			continue
		}
		if err := w.state.dropResult(ctx, f, rec); err != nil {
			log.Debug("cannot forget a final result yet", "result", rec.ID, "err", err)
			continue
		}
		n++
	}
	return n
}

// forgetVanished removes the state of workflows that are no longer watched (deleted,
// or no longer in LCW_WORKFLOWS) once nothing of theirs is within Graph's reach.
func (w *Watcher) forgetVanished(ctx context.Context, wfs []graph.Workflow, now time.Time) {
	watched := make(map[string]bool, len(wfs))
	for _, wf := range wfs {
		watched[wf.ID] = true
	}
	w.state.mu.Lock()
	var gone []*flow
	for id, f := range w.state.flows {
		if watched[id] {
			continue
		}
		var last time.Time
		if f.mark != nil {
			last = later(f.mark.Floor, f.mark.Watermark)
		}
		if last.Before(now.Add(-graphReach)) {
			gone = append(gone, f)
		}
	}
	w.state.mu.Unlock()
	for _, f := range gone {
		if err := w.state.forgetFlow(ctx, f); err != nil {
			w.log.Warn("cannot forget the state of a workflow no longer watched", "workflow", f.id, "err", err)
			continue
		}
		w.log.Info("forgot the state of a workflow no longer watched", "workflow", f.id)
	}
}

// reason classifies a workflow's failure for the failures metric.
func reason(ctx context.Context, err error, fallback string) string {
	switch {
	case ctx.Err() != nil:
		return "canceled"
	case errors.Is(err, errConflict):
		return "conflict"
	case errors.Is(err, errNATS):
		return "nats"
	}
	return fallback
}
