package watcher

import (
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// knownStatuses are the documented processing statuses, shared by every record.
var knownStatuses = []string{
	events.StatusQueued, events.StatusInProgress, events.StatusCompleted, events.StatusCompletedWithErrors,
	events.StatusCanceled, events.StatusFailed, events.StatusUnknownFutureValue, events.StatusCanceling,
	events.StatusQuarantined,
}

// observation is the latest a poll learned of one result.
type observation struct {
	res   graph.UserProcessingResult
	runID string // empty unless the result came from its run's list or the state knew it
	at    time.Time
}

// observations merges what the lists of one poll returned, by result id.
type observations map[string]*observation

// add merges r, read at at from the run runID ("" for the workflow's lists). The lists
// are read one after the other and may be served by replicas that lag behind each
// other, so a later read wins, except that a final status is never replaced by a
// status that is not: a result does not leave a final status.
func (o observations) add(r graph.UserProcessingResult, runID string, at time.Time) {
	cur := o[r.ID]
	if cur == nil {
		o[r.ID] = &observation{res: r, runID: runID, at: at}
		return
	}
	if runID != "" {
		cur.runID = runID
	}
	if events.IsFinal(cur.res.ProcessingStatus) && !events.IsFinal(r.ProcessingStatus) {
		return
	}
	cur.res, cur.at = r, at
}

// change is one entry the poll writes: a status change to announce and record, or a
// record to update silently (a run id learned).
type change struct {
	obs  *observation
	prev *record // the record replaced; nil when the result was never seen
	next *record // the record written once the event is stored
	// announce: publish an event before recording next.
	announce bool
}

// previous returns the status the event reports as previousProcessingStatus: nil on a
// first sighting.
func (c *change) previous() *string {
	if c.prev == nil || c.prev.Status == "" {
		return nil
	}
	s := c.prev.Status
	return &s
}

// diffResult is what diff found.
type diffResult struct {
	changes []change
	// history counts untracked results that reached a final status before the cutoff:
	// already announced by an earlier poll, or older than the first start's lookback.
	history int
	// stale counts observations of a status that is not final for a result recorded in a
	// final one: a lagging replica, ignored.
	stale int
}

// diff compares the observations of one poll of workflow f with its state. cutoff is the
// lower bound of the poll's window: every result that reached a final status since has
// been, or is now being, returned by the list of completed results, so an untracked
// result that reached one before cutoff is history — announced by an earlier poll, or
// older than the lookback of the first start — and is not announced again.
func diff(f *flow, obs observations, cutoff time.Time) diffResult {
	var d diffResult
	for id, o := range obs {
		status := o.res.ProcessingStatus
		final := events.IsFinal(status)
		rec := f.get(id)
		known := rec != nil && rec.Status != ""
		switch {
		case !known:
			if final && finalTime(o.res, o.at).Before(cutoff) {
				d.history++
				if rec != nil {
					// An unreadable entry: replace it silently, so that it expires.
					d.changes = append(d.changes, change{obs: o, prev: rec, next: nextRecord(f, rec, o)})
				}
				continue
			}
		case rec.Status == status:
			if rec.RunID == "" && o.runID != "" {
				d.changes = append(d.changes, change{obs: o, prev: rec, next: nextRecord(f, rec, o)})
			}
			continue
		case events.IsFinal(rec.Status) && !final:
			d.stale++
			continue
		}
		d.changes = append(d.changes, change{obs: o, prev: rec, next: nextRecord(f, rec, o), announce: true})
	}
	return d
}

// nextRecord is the record of o, replacing rec (nil when there is none).
func nextRecord(f *flow, rec *record, o *observation) *record {
	n := &record{
		ID:         o.res.ID,
		WorkflowID: f.id,
		RunID:      o.runID,
		Status:     internStatus(o.res.ProcessingStatus),
		Seen:       o.at,
	}
	if rec != nil {
		n.rev = rec.rev
		if n.RunID == "" {
			n.RunID = rec.RunID
		}
		if rec.Status == n.Status {
			n.Seen, n.FinalAt = rec.Seen, rec.FinalAt
			return n
		}
	}
	if events.IsFinal(n.Status) {
		n.FinalAt = finalTime(o.res, o.at)
	}
	return n
}

// finalTime is when result r, in a final status, reached it: its completedDateTime.
// Graph documents completedDateTime as null until a result completes, but a result
// canceled before it started, or a future final status, may come without one; then the
// latest other timestamp stands in (startedDateTime, else scheduledDateTime), and
// observed when there is none at all.
//
// The stand-in is safe both ways. A result the watcher never saw before a final status
// went from its creation to that status between two polls — every result not final is
// returned by every poll's third list — so its scheduled and started times fall inside
// the poll window and it is announced; a result whose stand-in is older than the window
// was announced when it was new, or predates the first start.
func finalTime(r graph.UserProcessingResult, observed time.Time) time.Time {
	for _, t := range []*time.Time{r.CompletedDateTime, r.StartedDateTime, r.ScheduledDateTime} {
		if t != nil && !t.IsZero() {
			return *t
		}
	}
	return observed
}

// expired reports whether rec may be forgotten when the next poll's window starts at
// nextFrom: its result is final and reached that status before, so no list of completed
// results will return it again, and any other list that does is recognised as history.
func expired(rec *record, nextFrom time.Time) bool {
	return rec.Status != "" && events.IsFinal(rec.Status) && rec.FinalAt.Before(nextFrom)
}
