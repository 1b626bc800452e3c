package graphsim

import (
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// Defaults of Outcome: how long a planned result waits queued and then runs.
const (
	DefaultStartAfter = 2 * time.Second
	DefaultDuration   = 8 * time.Second
)

// Outcome is how a planned result goes by itself on the simulator's clock: queued
// for StartAfter after its run's scheduledDateTime, inProgress for Duration, then
// Status with its task results following as in ResultUpdate.
type Outcome struct {
	// Status is the final status; default events.StatusCompleted.
	Status string
	// Failures are the tasks that fail (see ResultUpdate). A failure naming a task
	// the result does not run (say, a re-run of only the failed tasks) is dropped;
	// if none is left, the first task that may fail that way fails.
	Failures []TaskFailure
	// Info sets taskProcessingResult processingInfo when the result ends.
	Info []TaskInfo
	// StartAfter and Duration default to DefaultStartAfter and DefaultDuration; a
	// negative value means none at all.
	StartAfter, Duration time.Duration
}

func (o Outcome) startAfter() stamp { return durOr(o.StartAfter, DefaultStartAfter) }
func (o Outcome) duration() stamp   { return durOr(o.Duration, DefaultDuration) }

func durOr(d, def time.Duration) stamp {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return stamp(def)
	}
	return stamp(d)
}

// PlannedResult is one user of a scheduled run and how the user's result goes.
type PlannedResult struct {
	UserID string
	Outcome
}

// TaskInfo names a task (by display name or id) and the processingInfo its result
// carries: Graph's human-readable context for an outcome, such as a task that
// succeeded without doing anything because the user already was in that state.
type TaskInfo struct {
	Task string
	Info string
}

// heldResult is a planned result waiting for its workflow's quarantine to end.
type heldResult struct {
	r *resultRec
	o Outcome
}

// planResult makes r go as o says, starting from (its run's clock at) from.
// Callers hold s.mu for writing.
func (s *Sim) planResult(r *resultRec, o Outcome, from stamp) {
	s.at(from+o.startAfter(), func(at stamp) { s.startPlanned(r, o, at) })
}

// startPlanned moves a planned result to inProgress, unless something else moved it
// first (a test may take over), or holds it while its run is quarantined.
func (s *Sim) startPlanned(r *resultRec, o Outcome, at stamp) {
	if r.status != events.StatusQueued {
		return
	}
	if r.run.held {
		r.wf.held = append(r.wf.held, heldResult{r, o})
		return
	}
	s.mustApply(r, events.StatusInProgress, at, nil)
	s.at(at+o.duration(), func(at stamp) { s.finishPlanned(r, o, at) })
}

// finishPlanned ends a planned result as o says, unless it was moved meanwhile.
func (s *Sim) finishPlanned(r *resultRec, o Outcome, at stamp) {
	if r.status != events.StatusInProgress {
		return
	}
	status := o.Status
	if status == "" {
		status = events.StatusCompleted
	}
	var failures []TaskFailure
	for _, f := range o.Failures {
		if r.findTask(f.Task) != nil {
			failures = append(failures, f)
		}
	}
	setInfo(r, o.Info)
	s.mustApply(r, status, at, failures)
}

// mustApply is applyStatus for changes the simulator makes by itself, whose inputs
// were validated when they were planned.
func (s *Sim) mustApply(r *resultRec, status string, at stamp, failures []TaskFailure) {
	if err := s.applyStatus(r, status, at, failures); err != nil {
		panic("graphsim: " + err.Error()) // a bug in the simulator, not in a scenario
	}
}

// findTask returns r's task result for a task named by display name or id.
func (r *resultRec) findTask(name string) *taskResultRec {
	r.materialize()
	return r.firstTask(func(t *taskResultRec) bool { return t.task.id == name || t.task.displayName == name })
}

// setInfo records processingInfo on r's task results; unknown tasks are ignored.
func setInfo(r *resultRec, infos []TaskInfo) {
	for _, in := range infos {
		if t := r.findTask(in.Task); t != nil {
			t.info = in.Info
		}
	}
}

// startPlannedRun creates a run of wf at at with one planned result per user and
// returns it. A scheduled run that breaks the workflow's execution limits quarantines
// the workflow instead of starting: its results wait, queued. tasks, when set, gives
// each user's task subset and version (re-runs); otherwise the current version runs.
// Callers hold s.mu for writing.
func (s *Sim) startPlannedRun(wf *workflowRec, execType string, at stamp, plans []PlannedResult, tasks func(userID string) (int, []*taskRec)) *runRec {
	run := s.newRun(wf, execType, at)
	for _, p := range plans {
		mustOutcome(p)
		if s.users[p.UserID] == nil {
			s.addGeneratedUser(p.UserID)
		}
		version, ts := wf.version, wf.tasks[wf.version]
		if tasks != nil {
			version, ts = tasks(p.UserID)
		}
		r := s.newResultWith(run, p.UserID, version, ts)
		wf.results.add(r)
		s.results[r.id] = r
	}
	if execType == ExecutionScheduled {
		if kind, reason, over := wf.limits.exceeded(len(plans), len(s.users)); over {
			s.quarantine(wf, kind, reason, at)
		}
	}
	run.recompute()
	for i, p := range plans {
		s.planResult(run.results[i], p.Outcome, at)
	}
	return run
}

// addGeneratedUser adds a user with a generated name under a given id.
func (s *Sim) addGeneratedUser(id string) {
	given, sur := givenNames[s.rng.IntN(len(givenNames))], surnames[s.rng.IntN(len(surnames))]
	local := strings.ToLower(strings.ReplaceAll(given+"."+sur, "'", ""))
	suffix := id
	if len(suffix) > 4 {
		suffix = suffix[:4]
	}
	s.addUserLocked(User{ID: id, DisplayName: given + " " + sur, GivenName: given, Surname: sur,
		UserPrincipalName: local + "." + suffix + "@contoso.onmicrosoft.com"})
}
