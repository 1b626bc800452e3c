package graphsim

import (
	"fmt"
	"hash/fnv"

	"github.com/lcwnotify/lcwnotify/events"
)

// applyStatus moves r to status at the given time, as the service would: timestamps,
// task results and counts follow, the indexes are updated, and the run's counts and
// lastUpdatedDateTime change. Callers hold s.mu for writing.
func (s *Sim) applyStatus(r *resultRec, status string, at stamp, failures []TaskFailure) error {
	if !validStatus(status) {
		return fmt.Errorf("status %q is not a processing status", status)
	}
	r.materialize()
	oldSched, oldStarted, oldCompleted := r.scheduled, r.started, r.completed

	start := func() {
		if r.started == 0 {
			r.started = at
		}
	}
	switch status {
	case events.StatusQueued:
		r.started, r.completed = 0, 0
		for _, t := range r.tasks {
			t.status, t.reason, t.started, t.completed = events.StatusQueued, "", 0, 0
		}
	case events.StatusInProgress:
		start()
		r.completed = 0
		if t := r.firstTask(func(t *taskResultRec) bool {
			return t.status == events.StatusInProgress || t.status == events.StatusQueued
		}); t != nil {
			t.begin(at, events.StatusInProgress)
		}
	case events.StatusCompleted:
		start()
		for _, t := range r.tasks {
			if !events.IsFinal(t.status) {
				t.finish(at, events.StatusCompleted, "")
			}
		}
	case events.StatusFailed, events.StatusCompletedWithErrors:
		start()
		if err := r.fail(status, at, failures); err != nil {
			return err
		}
	case events.StatusCanceled:
		start()
		for _, t := range r.tasks {
			if !events.IsFinal(t.status) {
				t.finish(at, events.StatusCanceled, "")
			}
		}
	default: // canceling, quarantined and values newer than this simulator
		start()
		r.completed = 0
	}
	r.status = status
	if events.IsFinal(status) {
		r.completed = at
		if r.started > at {
			r.started = at
		}
	}
	r.recount()
	r.wf.results.reindex(r, oldSched, oldStarted, oldCompleted)
	r.run.updated = max(r.run.updated, at)
	r.run.recompute()
	return nil
}

func validStatus(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// fail marks the failing tasks. For failed, tasks before the first failure complete and
// the rest are canceled (not run); for completedWithErrors, every other task completes.
func (r *resultRec) fail(status string, at stamp, failures []TaskFailure) error {
	if len(r.tasks) == 0 {
		return nil
	}
	if len(failures) == 0 {
		t := r.firstTask(func(t *taskResultRec) bool {
			return !events.IsFinal(t.status) && (status == events.StatusFailed || t.task.continueOnError)
		})
		if t == nil {
			t = r.firstTask(func(t *taskResultRec) bool { return !events.IsFinal(t.status) })
		}
		if t == nil {
			t = r.tasks[len(r.tasks)-1]
		}
		failures = []TaskFailure{{Task: t.task.id}}
	}
	firstSeq := int(^uint(0) >> 1)
	for _, f := range failures {
		t := r.firstTask(func(t *taskResultRec) bool { return t.task.id == f.Task || t.task.displayName == f.Task })
		if t == nil {
			return fmt.Errorf("workflow %s has no task %q", r.wf.id, f.Task)
		}
		reason := f.Reason
		if reason == "" {
			reason = defaultReason(t.task)
		}
		t.finish(at, events.StatusFailed, reason)
		firstSeq = min(firstSeq, t.task.seq)
	}
	for _, t := range r.tasks {
		if events.IsFinal(t.status) {
			continue
		}
		if status == events.StatusFailed && t.task.seq > firstSeq {
			t.status, t.completed = events.StatusCanceled, at
			continue
		}
		t.finish(at, events.StatusCompleted, "")
	}
	return nil
}

func (r *resultRec) firstTask(ok func(*taskResultRec) bool) *taskResultRec {
	var best *taskResultRec
	for _, t := range r.tasks {
		if ok(t) && (best == nil || t.task.seq < best.task.seq) {
			best = t
		}
	}
	return best
}

func (t *taskResultRec) begin(at stamp, status string) {
	if t.started == 0 {
		t.started = at
	}
	t.status = status
}

func (t *taskResultRec) finish(at stamp, status, reason string) {
	t.begin(at, status)
	t.completed, t.reason = at, reason
}

// recount derives the result's task counts from its task results.
func (r *resultRec) recount() {
	if r.tasks == nil {
		return
	}
	r.totalTasks, r.failedTasks, r.unprocessed = len(r.tasks), 0, 0
	for _, t := range r.tasks {
		switch t.status {
		case events.StatusFailed:
			r.failedTasks++
		case events.StatusCompleted, events.StatusCompletedWithErrors:
		default:
			r.unprocessed++
		}
	}
}

// recompute derives a run's status, times and counts from its results, as the run
// report does.
func (run *runRec) recompute() {
	run.totalUser = len(run.results)
	run.failedTasks, run.failedUsers, run.successUsers, run.totalTasks, run.unprocessedTasks = 0, 0, 0, 0, 0
	var started, completed stamp
	queued, final, canceled, failed := 0, 0, 0, 0
	for _, r := range run.results {
		run.failedTasks += r.failedTasks
		run.totalTasks += r.totalTasks
		run.unprocessedTasks += r.unprocessed
		switch r.status {
		case events.StatusCompleted:
			run.successUsers++
		case events.StatusFailed:
			run.failedUsers++
			failed++
		case events.StatusCompletedWithErrors:
			run.failedUsers++
		case events.StatusCanceled:
			canceled++
		case events.StatusQueued:
			queued++
		}
		if events.IsFinal(r.status) {
			final++
		}
		if r.started != 0 && (started == 0 || r.started < started) {
			started = r.started
		}
		completed = max(completed, r.completed)
	}
	n := len(run.results)
	run.started, run.completed = started, 0
	switch {
	case n == 0 || queued == n:
		run.status = events.StatusQueued
	case final < n:
		run.status = events.StatusInProgress
	case canceled == n:
		run.status = events.StatusCanceled
	case failed == n:
		run.status = events.StatusFailed
	case run.failedUsers > 0:
		run.status = events.StatusCompletedWithErrors
	default:
		run.status = events.StatusCompleted
	}
	if n > 0 && final == n {
		run.completed = completed
	}
	if run.held && final < n {
		// Stopped by its workflow's quarantine until an administrator releases it.
		run.status = events.StatusQuarantined
	}
}

// taskResults returns r's task results; for generated history they are derived from
// the compact record (and not stored).
func (r *resultRec) taskResults() []*taskResultRec {
	if r.tasks != nil {
		return r.tasks
	}
	return r.deriveTasks()
}

// materialize stores derived task results so they can change.
func (r *resultRec) materialize() {
	if r.tasks == nil {
		r.tasks = r.deriveTasks()
	}
}

// deriveTasks rebuilds a history result's task results: deterministic ids, times
// spread between start and completion, the recorded failure.
func (r *resultRec) deriveTasks() []*taskResultRec {
	tasks := r.wf.tasks[r.version]
	out := make([]*taskResultRec, len(tasks))
	span := int64(r.completed - r.started)
	for i, t := range tasks {
		tr := &taskResultRec{id: derivedGUID(r.id, i), task: t, created: r.scheduled}
		from := r.started + stamp(span*int64(i)/int64(len(tasks)))
		to := r.started + stamp(span*int64(i+1)/int64(len(tasks)))
		tr.started, tr.completed = from-from%100, to-to%100
		switch {
		case int(r.histFailed) == i:
			tr.status, tr.reason = events.StatusFailed, failureReasons[r.histReason]
		case r.status == events.StatusCanceled || (r.status == events.StatusFailed && r.histFailed >= 0 && i > int(r.histFailed)):
			tr.status, tr.started = events.StatusCanceled, 0
		default:
			tr.status = events.StatusCompleted
		}
		out[i] = tr
	}
	return out
}

// derivedGUID is a stable GUID for task result i of a history result.
func derivedGUID(resultID string, i int) string {
	h := fnv.New128a()
	h.Write([]byte(resultID))
	h.Write([]byte{byte(i)})
	sum := h.Sum(nil)
	var hi, lo uint64
	for j := range 8 {
		hi = hi<<8 | uint64(sum[j])
		lo = lo<<8 | uint64(sum[8+j])
	}
	return guidFrom(hi, lo)
}
