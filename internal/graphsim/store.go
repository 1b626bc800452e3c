package graphsim

import (
	"cmp"
	"slices"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// The records below are the simulator's state. They are guarded by Sim.mu and never
// leave the package: the scenario API hands out copies.

type userRec struct {
	id, displayName, upn string
	givenName, surname   string
	jobTitle, mail       string
	access               UserAccess
}

type taskRec struct {
	id, displayName, description, category, definitionID string
	seq                                                  int
	continueOnError, isEnabled                           bool
}

type workflowRec struct {
	id, displayName, description, category string
	version                                int
	isEnabled, isSchedulingEnabled         bool
	created, modified                      stamp
	// tasks holds each version's tasks; results point at the version they ran.
	tasks   map[int][]*taskRec
	runs    []*runRec
	runByID map[string]*runRec
	results resultIndex

	// quarantine is the workflow's quarantineDetails; limits its
	// settings.quarantineConfiguration.
	quarantine quarantineState
	limits     QuarantineLimits
	// held are planned results of scheduled runs waiting for the quarantine to be
	// released.
	held []heldResult
	// schedOffset places the workflow's schedule within the tenant's interval; next is
	// its next scheduled run (0: none) and schedGen invalidates ticks scheduled before
	// the schedule last changed.
	schedOffset time.Duration
	next        stamp
	schedGen    uint64
}

type runRec struct {
	id                                      string
	wf                                      *workflowRec
	execType, status                        string
	scheduled, started, completed, updated  stamp
	results                                 []*resultRec
	failedTasks, failedUsers, successUsers  int
	totalTasks, unprocessedTasks, totalUser int
	// scope is activatedOnScope, for runs started by activateWithScope.
	scope *scopeRec
	// held marks a scheduled run stopped by its workflow's quarantine: it reports
	// processingStatus quarantined and its queued results wait.
	held bool
}

type resultRec struct {
	id       string
	wf       *workflowRec
	run      *runRec
	userID   string
	version  int
	status   string
	execType string

	scheduled, started, completed stamp

	failedTasks, totalTasks, unprocessed int

	// tasks are the task results. Bulk history leaves them nil and records only which
	// task failed and why; they are derived on read and materialized on first change.
	tasks      []*taskResultRec
	histFailed int8  // index of the failed task in generated history, -1 for none
	histReason uint8 // index into failureReasons
}

type taskResultRec struct {
	id                          string
	task                        *taskRec
	status                      string
	reason                      string // "" is null
	info                        string // processingInfo; "" is null
	created, started, completed stamp
}

// resultIndex keeps one workflow's results sorted by each timestamp the reports
// filter on, so a windowed query costs O(log n + matches) whatever the history.
type resultIndex struct {
	byScheduled []*resultRec // all results, by (scheduledDateTime, id)
	byStarted   []*resultRec // results with a startedDateTime, by (startedDateTime, id)
	byCompleted []*resultRec // results with a completedDateTime, by (completedDateTime, id)
	// active holds the results not in a final status: the watcher's "not final" query
	// reads these instead of the whole history.
	active map[*resultRec]struct{}
}

// indexKind names a resultIndex ordering; it travels in skip tokens so every page of
// a listing walks the same order.
type indexKind uint8

const (
	idxScheduled indexKind = iota + 1
	idxStarted
	idxCompleted
	idxActive
)

func (k indexKind) key(r *resultRec) stamp {
	switch k {
	case idxStarted:
		return r.started
	case idxCompleted:
		return r.completed
	}
	return r.scheduled
}

func (k indexKind) prop() string {
	switch k {
	case idxStarted:
		return "startedDateTime"
	case idxCompleted:
		return "completedDateTime"
	}
	return "scheduledDateTime"
}

func (x *resultIndex) slice(k indexKind) *[]*resultRec {
	switch k {
	case idxStarted:
		return &x.byStarted
	case idxCompleted:
		return &x.byCompleted
	}
	return &x.byScheduled
}

// cmpKey orders results by (key, id).
func cmpKey(k indexKind, a *resultRec, key stamp, id string) int {
	if c := cmp.Compare(k.key(a), key); c != 0 {
		return c
	}
	return cmp.Compare(a.id, id)
}

// insert puts r into index k at its key; r must not be there yet.
func (x *resultIndex) insert(k indexKind, r *resultRec) {
	s := x.slice(k)
	key := k.key(r)
	i, _ := slices.BinarySearchFunc(*s, r, func(a, _ *resultRec) int { return cmpKey(k, a, key, r.id) })
	*s = slices.Insert(*s, i, r)
}

// remove takes r out of index k, where it sits under key.
func (x *resultIndex) remove(k indexKind, r *resultRec, key stamp) {
	s := x.slice(k)
	i, found := slices.BinarySearchFunc(*s, r, func(a, _ *resultRec) int { return cmpKey(k, a, key, r.id) })
	if found && (*s)[i] == r {
		*s = slices.Delete(*s, i, i+1)
	}
}

// add indexes a new result.
func (x *resultIndex) add(r *resultRec) {
	x.insert(idxScheduled, r)
	if r.started != 0 {
		x.insert(idxStarted, r)
	}
	if r.completed != 0 {
		x.insert(idxCompleted, r)
	}
	x.track(r)
}

// track keeps active in step with r's status.
func (x *resultIndex) track(r *resultRec) {
	if events.IsFinal(r.status) {
		delete(x.active, r)
		return
	}
	if x.active == nil {
		x.active = make(map[*resultRec]struct{})
	}
	x.active[r] = struct{}{}
}

// reindex moves r after its timestamps changed from the old ones.
func (x *resultIndex) reindex(r *resultRec, oldScheduled, oldStarted, oldCompleted stamp) {
	if r.scheduled != oldScheduled {
		x.remove(idxScheduled, r, oldScheduled)
		x.insert(idxScheduled, r)
	}
	if r.started != oldStarted {
		if oldStarted != 0 {
			x.remove(idxStarted, r, oldStarted)
		}
		if r.started != 0 {
			x.insert(idxStarted, r)
		}
	}
	if r.completed != oldCompleted {
		if oldCompleted != 0 {
			x.remove(idxCompleted, r, oldCompleted)
		}
		if r.completed != 0 {
			x.insert(idxCompleted, r)
		}
	}
	x.track(r)
}

// sortAll restores every ordering after a bulk append (generated history).
func (x *resultIndex) sortAll() {
	for _, k := range []indexKind{idxScheduled, idxStarted, idxCompleted} {
		s := *x.slice(k)
		slices.SortFunc(s, func(a, b *resultRec) int { return cmpKey(k, a, k.key(b), b.id) })
	}
}
