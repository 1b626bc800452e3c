package watcher

import (
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// DefaultActiveInterval is Options.ActiveInterval's default (LCW_POLL_ACTIVE_INTERVAL).
const DefaultActiveInterval = 5 * time.Second

// How the schedule decides. Graph documents none of these delays; they are margins
// chosen against what the service is known to do, and docs/architecture.md ("Adaptive
// polling") explains each.
const (
	// scheduleLead is how long before a workflow's nextScheduleRunDateTime its active
	// polls begin: clock skew between this host and the service, and a run created a
	// little early.
	scheduleLead = 30 * time.Second
	// scheduleGrace is how long after nextScheduleRunDateTime the workflow stays active
	// waiting for the run to show up. A scheduled run that finds no user creates
	// nothing, and most do, so the wait is bounded; a run that shows up keeps the
	// workflow active by its results until they are final.
	scheduleGrace = 5 * time.Minute
	// activationHold is how long after one of lcwnotify's own activations (an accepted
	// action record) the workflow stays active, for the run Graph creates to show up.
	activationHold = 10 * time.Minute
	// staleActivity: a result not final whose status has not changed for this long no
	// longer keeps its workflow active, so that a result stuck in progress (a custom
	// extension waiting for days) costs idle polls, not active ones.
	staleActivity = time.Hour
	// maxWorkflowSeries bounds the per-workflow metrics: Graph allows 100 workflows per
	// tenant; workflows beyond (if Graph ever allowed more) are scheduled, not exported.
	maxWorkflowSeries = 100
)

// PollMode is how often a workflow is polled.
type PollMode string

// Poll modes.
const (
	// ModeIdle: at the poll interval (LCW_POLL_INTERVAL), with every other workflow.
	ModeIdle PollMode = "idle"
	// ModeActive: at the active interval (LCW_POLL_ACTIVE_INTERVAL) as well, because
	// something in it can change soon.
	ModeActive PollMode = "active"
)

// Why a workflow is in its mode, as Schedule, the metrics and the logs say it.
const (
	ReasonActivation  = "activation accepted"
	ReasonResults     = "results not final"
	ReasonScheduled   = "scheduled run due"
	ReasonNothing     = "nothing in progress"
	ReasonQuarantined = "quarantined"
	ReasonFixed       = "active interval not shorter than the poll interval"
)

// WorkflowSchedule is one workflow's poll schedule, as Watcher.Schedule reports it.
type WorkflowSchedule struct {
	WorkflowID  string
	DisplayName string
	// Mode and Reason say how often the workflow is polled now, and why.
	Mode   PollMode
	Reason string
	// Since is when this process last saw the workflow change mode; zero before it
	// planned a poll.
	Since time.Time
	// LastPoll is when the last poll of the workflow that succeeded started (a full
	// poll or an active one); zero before the first.
	LastPoll time.Time
	// NextPoll is when the workflow is polled next; zero while this replica does not
	// poll (it stands by, or Run is not running).
	NextPoll time.Time
	// NextScheduledRun is the workflow's nextScheduleRunDateTime as last listed; nil
	// when Graph gave none (the workflow is not scheduled).
	NextScheduledRun *time.Time
	// ActivatedAt is the last activation lcwnotify made of the workflow that this
	// process knows of (an accepted action record); zero when none.
	ActivatedAt time.Time
}

// scheduler decides, per workflow, when the next poll is: every workflow at each full
// poll (the poll interval), and the active ones also at the active interval in between.
// It only decides when; what a poll reads and guarantees is the poll's business.
type scheduler struct {
	idle, active time.Duration
	state        *state
	log          *slog.Logger
	metrics      *Metrics
	// wake is signalled when the schedule changed outside a poll (an activation), so
	// that Run plans again at once.
	wake chan struct{}

	mu          sync.Mutex
	wfs         []graph.Workflow // the last listing a full poll used
	fullAt      time.Time        // when the last full poll started
	nextFull    time.Time        // when Run plans the next one; zero while it does not poll
	flows       map[string]*flowSchedule
	activations map[string]time.Time // workflow id → last accepted activation
}

// flowSchedule is what the scheduler remembers of one workflow.
type flowSchedule struct {
	mark    time.Time // the workflow's watermark after the last full poll
	attempt time.Time // the last active poll started
	polled  time.Time // the last active poll that succeeded started
	mode    PollMode  // as last planned, for the switch logs
	reason  string
	since   time.Time
}

func newScheduler(idle, active time.Duration, st *state, log *slog.Logger, m *Metrics) *scheduler {
	return &scheduler{
		idle: idle, active: active, state: st, log: log, metrics: m,
		wake:        make(chan struct{}, 1),
		flows:       make(map[string]*flowSchedule),
		activations: make(map[string]time.Time),
	}
}

// fullPolled records a full poll that started at start over wfs, the workflows it
// listed (nil: none known yet); marks are the workflows' watermarks after it.
func (s *scheduler) fullPolled(start time.Time, wfs []graph.Workflow, marks map[string]time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fullAt = start
	for id, m := range marks {
		s.flowLocked(id).mark = m
	}
	if wfs == nil {
		return
	}
	s.wfs = slices.Clone(wfs)
	for id := range s.flows {
		if !slices.ContainsFunc(wfs, func(wf graph.Workflow) bool { return wf.ID == id }) {
			delete(s.flows, id)
			s.metrics.forgetWorkflow(id)
		}
	}
}

// activated records an activation of workflow id that Graph accepted at at.
func (s *scheduler) activated(id string, at time.Time) {
	s.mu.Lock()
	if at.After(s.activations[id]) {
		s.activations[id] = at
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// setNextFull records when Run plans the next full poll; zero while it does not poll.
func (s *scheduler) setNextFull(t time.Time) {
	s.mu.Lock()
	s.nextFull = t
	s.mu.Unlock()
}

// plan is what Run does next: the workflows due for an active poll now, and when the
// next one falls due after now (zero: none before the next full poll, whose time Run
// knows). It logs and counts the workflows that changed mode.
func (s *scheduler) plan(now time.Time) (due []graph.Workflow, next time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneActivations(now)
	for i, wf := range s.wfs {
		fs := s.flowLocked(wf.ID)
		mode, reason, from := s.modeLocked(wf, now)
		if mode != fs.mode || reason != fs.reason {
			if mode != fs.mode {
				s.log.Debug("workflow poll mode changed", "workflow", wf.ID, "mode", mode, "reason", reason,
					"was", fs.mode, "for", durationSince(fs.since, now))
				s.metrics.addModeSwitch(mode)
			}
			fs.mode, fs.reason, fs.since = mode, reason, now
		}
		at := s.nextActiveLocked(fs, mode, from)
		switch {
		case !at.IsZero() && !at.After(now):
			due = append(due, wf)
		case !at.IsZero() && (next.IsZero() || at.Before(next)):
			next = at
		}
		if i < maxWorkflowSeries {
			s.metrics.setSchedule(wf.ID, mode, s.nextPollLocked(at, now))
		} else {
			s.metrics.forgetWorkflow(wf.ID) // moved down the listing
		}
	}
	return due, next
}

// nextActiveLocked is when fs's next active poll is due: an active interval after the
// last poll of it (full or active), once it is active; zero when it is idle and will not
// turn active by itself (from is when an idle workflow turns active, zero if never).
func (s *scheduler) nextActiveLocked(fs *flowSchedule, mode PollMode, from time.Time) time.Time {
	if s.active >= s.idle {
		return time.Time{}
	}
	last := later(fs.attempt, s.fullAt)
	switch {
	case mode == ModeActive:
		return last.Add(s.active)
	case !from.IsZero():
		return later(from, last.Add(s.active))
	}
	return time.Time{}
}

// nextPollLocked is a workflow's next poll: its next active poll or the next full one,
// whichever comes first; zero while Run does not poll.
func (s *scheduler) nextPollLocked(active, now time.Time) time.Time {
	if s.nextFull.IsZero() {
		return time.Time{}
	}
	if !active.IsZero() && active.Before(s.nextFull) {
		return later(active, now)
	}
	return s.nextFull
}

// modeLocked decides workflow wf's mode at now, and for an idle workflow when it turns
// active by the clock alone (the lead of its next scheduled run; zero if not).
func (s *scheduler) modeLocked(wf graph.Workflow, now time.Time) (PollMode, string, time.Time) {
	if s.active >= s.idle {
		return ModeIdle, ReasonFixed, time.Time{}
	}
	if at, ok := s.activations[wf.ID]; ok && now.Before(at.Add(activationHold)) {
		return ModeActive, ReasonActivation, time.Time{}
	}
	if wf.Quarantined() {
		// Its results wait for an administrator to release it, for days perhaps: a
		// release is caught by the next full poll, like a run started in the portal.
		return ModeIdle, ReasonQuarantined, time.Time{}
	}
	if s.openResults(wf.ID, now) {
		return ModeActive, ReasonResults, time.Time{}
	}
	if n := wf.NextScheduleRunDateTime; n != nil && wf.IsEnabled && wf.IsSchedulingEnabled {
		from := n.Add(-scheduleLead)
		switch {
		case now.Before(from):
			return ModeIdle, ReasonNothing, from
		case now.Before(n.Add(scheduleGrace)):
			return ModeActive, ReasonScheduled, time.Time{}
		}
	}
	return ModeIdle, ReasonNothing, time.Time{}
}

// openResults reports whether workflow id has a tracked result that is not final, not
// waiting in quarantine, and changed within staleActivity.
func (s *scheduler) openResults(id string, now time.Time) bool {
	f := s.state.lookup(id)
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.results {
		if r.Status != "" && r.Status != events.StatusQuarantined && !events.IsFinal(r.Status) &&
			now.Sub(r.Seen) < staleActivity {
			return true
		}
	}
	return false
}

func (s *scheduler) flowLocked(id string) *flowSchedule {
	fs := s.flows[id]
	if fs == nil {
		fs = &flowSchedule{}
		s.flows[id] = fs
	}
	return fs
}

// pruneActivations forgets activations whose hold has passed, so that action records
// of workflows that are not watched cannot grow the map.
func (s *scheduler) pruneActivations(now time.Time) {
	for id, at := range s.activations {
		if !now.Before(at.Add(activationHold)) {
			delete(s.activations, id)
		}
	}
}

// activeStarted records that an active poll of the workflows ids started at start.
func (s *scheduler) activeStarted(ids []string, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.flowLocked(id).attempt = start
	}
}

// activeDone records that the active poll of workflow id that started at start succeeded.
func (s *scheduler) activeDone(id string, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flowLocked(id).polled = start
}

// lastActive returns when the last active poll of workflow id that succeeded started.
func (s *scheduler) lastActive(id string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fs := s.flows[id]; fs != nil {
		return fs.polled
	}
	return time.Time{}
}

// snapshot is Watcher.Schedule at now.
func (s *scheduler) snapshot(now time.Time) []WorkflowSchedule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WorkflowSchedule, 0, len(s.wfs))
	for _, wf := range s.wfs {
		fs := s.flows[wf.ID]
		if fs == nil {
			fs = &flowSchedule{}
		}
		mode, reason, from := s.modeLocked(wf, now)
		ws := WorkflowSchedule{
			WorkflowID:  wf.ID,
			DisplayName: wf.DisplayName,
			Mode:        mode,
			Reason:      reason,
			LastPoll:    later(fs.mark, fs.polled),
			NextPoll:    s.nextPollLocked(s.nextActiveLocked(fs, mode, from), now),
			ActivatedAt: s.activations[wf.ID],
		}
		if fs.mode == mode {
			ws.Since = fs.since
		}
		if n := wf.NextScheduleRunDateTime; n != nil {
			t := *n
			ws.NextScheduledRun = &t
		}
		out = append(out, ws)
	}
	return out
}

// Schedule returns the poll schedule of every watched workflow, in the order of the
// last workflow listing: empty before the first poll. Safe to call at any time, from
// any goroutine (the status page reads it).
func (w *Watcher) Schedule() []WorkflowSchedule {
	return w.sched.snapshot(w.now())
}

// lookup returns the state of workflow id, nil when there is none.
func (s *state) lookup(id string) *flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flows[id]
}

// watermarks returns every workflow's watermark. The marks belong to the poll: call it
// only between polls (holding pollMu).
func (s *state) watermarks() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.flows))
	for id, f := range s.flows {
		if f.mark != nil {
			out[id] = f.mark.Watermark
		}
	}
	return out
}

func durationSince(since, now time.Time) time.Duration {
	if since.IsZero() {
		return 0
	}
	return now.Sub(since).Round(time.Second)
}
