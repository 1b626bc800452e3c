package graphsim

import (
	"fmt"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// Quarantine types (identityGovernance.quarantineType). The enum is evolvable: Graph
// may add members after unknownFutureValue, which the simulator then hides from
// clients that do not send "Prefer: include-unknown-enum-members".
const (
	QuarantineNone       = "notQuarantined"
	QuarantineCount      = "countBasedThresholdExceeded"
	QuarantinePercentage = "percentageBasedThresholdExceeded"
	QuarantineMultiple   = "multipleConditionsExceeded"
)

// Match modes of a quarantine configuration (identityGovernance.matchMode).
const (
	MatchAny = "any"
	MatchAll = "all"
)

// QuarantineLimits is a workflow's settings.quarantineConfiguration: the execution
// limits that stop a scheduled run processing more users than expected. Zero values
// mean no limit; with neither limit set the workflow has no quarantine configuration
// (settings.quarantineConfiguration is null).
type QuarantineLimits struct {
	// MaxUsers is a countBasedQuarantineCondition: a scheduled run of more users
	// quarantines the workflow.
	MaxUsers int64
	// MaxPercent is a percentageBasedQuarantineCondition: a scheduled run of more than
	// this share of the directory's users (1–100) quarantines the workflow.
	MaxPercent int
	// MatchMode is MatchAny (default: one exceeded condition is enough) or MatchAll.
	MatchMode string
}

func (l QuarantineLimits) configured() bool { return l.MaxUsers > 0 || l.MaxPercent > 0 }

func (l QuarantineLimits) validate() error {
	switch {
	case l.MaxUsers < 0:
		return fmt.Errorf("MaxUsers %d is negative", l.MaxUsers)
	case l.MaxPercent < 0 || l.MaxPercent > 100:
		return fmt.Errorf("MaxPercent %d is not between 0 and 100", l.MaxPercent)
	case l.MatchMode != "" && l.MatchMode != MatchAny && l.MatchMode != MatchAll:
		return fmt.Errorf("MatchMode %q is not %q or %q", l.MatchMode, MatchAny, MatchAll)
	}
	return nil
}

func (l QuarantineLimits) matchMode() string {
	if l.MatchMode == "" {
		return MatchAny
	}
	return l.MatchMode
}

// quarantineState is a workflow's quarantineDetails.
type quarantineState struct {
	kind   string // "" or QuarantineNone: not quarantined
	reason string
	at     stamp
}

func (q quarantineState) active() bool { return q.kind != "" && q.kind != QuarantineNone }

// exceeded decides whether a scheduled run of n users breaks the limits, out of a
// directory of population users, and says how.
func (l QuarantineLimits) exceeded(n, population int) (kind, reason string, ok bool) {
	if !l.configured() {
		return "", "", false
	}
	var hits []string
	conds := 0
	if l.MaxUsers > 0 {
		conds++
		if int64(n) > l.MaxUsers {
			hits = append(hits, QuarantineCount)
		}
	}
	if l.MaxPercent > 0 {
		conds++
		if population > 0 && n*100 > l.MaxPercent*population {
			hits = append(hits, QuarantinePercentage)
		}
	}
	if len(hits) == 0 || (l.matchMode() == MatchAll && len(hits) < conds) {
		return "", "", false
	}
	kind = hits[0]
	if len(hits) > 1 {
		kind = QuarantineMultiple
	}
	switch kind {
	case QuarantineCount:
		reason = fmt.Sprintf("The run would process %d users, more than the limit of %d users.", n, l.MaxUsers)
	case QuarantinePercentage:
		reason = fmt.Sprintf("The run would process %d of %d users, more than the limit of %d%%.", n, population, l.MaxPercent)
	default:
		reason = fmt.Sprintf("The run would process %d of %d users, more than the limits of %d users and %d%%.", n, population, l.MaxUsers, l.MaxPercent)
	}
	return kind, reason, true
}

// WorkflowState is a workflow's operational state as Graph reports it on the workflow.
type WorkflowState struct {
	IsEnabled, IsSchedulingEnabled bool
	// NextScheduleRunAt is nextScheduleRunDateTime, zero when none is due (disabled,
	// scheduling off or quarantined).
	NextScheduleRunAt time.Time
	// QuarantineType is QuarantineNone or why the workflow is quarantined;
	// QuarantinedAt and QuarantineReason are zero when it is not.
	QuarantineType   string
	QuarantinedAt    time.Time
	QuarantineReason string
	Limits           QuarantineLimits
}

// WorkflowState returns a workflow's state.
func (s *Sim) WorkflowState(workflowID string) WorkflowState {
	s.lock()
	defer s.mu.Unlock()
	wf := s.mustWorkflow(workflowID)
	st := WorkflowState{IsEnabled: wf.isEnabled, IsSchedulingEnabled: wf.isSchedulingEnabled,
		NextScheduleRunAt: wf.nextRun().Time(), QuarantineType: QuarantineNone, Limits: wf.limits}
	if wf.quarantine.active() {
		st.QuarantineType, st.QuarantinedAt, st.QuarantineReason = wf.quarantine.kind, wf.quarantine.at.Time(), wf.quarantine.reason
	}
	return st
}

// SetQuarantineLimits sets a workflow's settings.quarantineConfiguration. It panics on
// a negative limit, a percentage over 100 or an unknown match mode.
func (s *Sim) SetQuarantineLimits(workflowID string, l QuarantineLimits) {
	if err := l.validate(); err != nil {
		panic("graphsim: SetQuarantineLimits: " + err.Error())
	}
	s.lock()
	defer s.mu.Unlock()
	wf := s.mustWorkflow(workflowID)
	wf.limits = l
	wf.modified = s.stampNow()
}

// Quarantine quarantines a workflow now, as the service does when a scheduled run
// breaks its limits (kind is one of the Quarantine* types, or a newer value; empty
// means QuarantineCount; an empty reason gets a generic one). Scheduled runs stop,
// queued results of scheduled runs wait, on-demand runs still go ahead.
func (s *Sim) Quarantine(workflowID, kind, reason string) {
	if kind == "" {
		kind = QuarantineCount
	}
	if kind == QuarantineNone || !validStatus(kind) {
		panic("graphsim: Quarantine: " + kind + " is not a quarantine type")
	}
	if reason == "" {
		reason = "The workflow was quarantined because a run exceeded its execution limits."
	}
	s.lock()
	defer s.mu.Unlock()
	wf := s.mustWorkflow(workflowID)
	s.quarantine(wf, kind, reason, s.stampNow())
}

// quarantine puts wf in quarantine at the given time: its scheduled runs with queued
// results are held. Callers hold s.mu for writing.
func (s *Sim) quarantine(wf *workflowRec, kind, reason string, at stamp) {
	wf.quarantine = quarantineState{kind: kind, reason: reason, at: at}
	for _, run := range wf.runs {
		if run.execType != ExecutionScheduled || run.held {
			continue
		}
		for _, r := range run.results {
			if r.status == events.StatusQueued {
				run.held = true
				break
			}
		}
		if run.held {
			run.updated = max(run.updated, at)
			run.recompute()
		}
	}
	s.reschedule(wf)
}

// ReleaseQuarantine clears a workflow's quarantine now, as an administrator does in
// the admin center (clearQuarantine): held runs go on, each held result starting as
// planned from now, and its schedule resumes. Releasing a workflow that is not
// quarantined does nothing.
func (s *Sim) ReleaseQuarantine(workflowID string) {
	s.lock()
	defer s.mu.Unlock()
	s.release(s.mustWorkflow(workflowID), s.stampNow())
}

// release clears wf's quarantine at the given time. Callers hold s.mu for writing.
func (s *Sim) release(wf *workflowRec, at stamp) {
	if !wf.quarantine.active() {
		return
	}
	wf.quarantine = quarantineState{}
	for _, run := range wf.runs {
		if run.held {
			run.held = false
			run.updated = max(run.updated, at)
			run.recompute()
		}
	}
	held := wf.held
	wf.held = nil
	for _, h := range held {
		s.planResult(h.r, h.o, at)
	}
	s.reschedule(wf)
}

// SetWorkflowEnabled enables or disables a workflow (isEnabled), as editing it in the
// admin center does. A disabled workflow runs neither on schedule nor on demand
// (activate answers 409); isSchedulingEnabled is false while it is disabled and comes
// back as it was when it is enabled again.
func (s *Sim) SetWorkflowEnabled(workflowID string, enabled bool) {
	s.lock()
	defer s.mu.Unlock()
	wf := s.mustWorkflow(workflowID)
	if wf.isEnabled == enabled {
		return
	}
	wf.isEnabled = enabled
	wf.modified = s.stampNow()
	s.reschedule(wf)
}

// SetSchedulingEnabled turns a workflow's schedule (isSchedulingEnabled) on or off.
// It panics when asked to schedule a disabled workflow, which Graph refuses.
func (s *Sim) SetSchedulingEnabled(workflowID string, enabled bool) {
	s.lock()
	defer s.mu.Unlock()
	wf := s.mustWorkflow(workflowID)
	if enabled && !wf.isEnabled {
		panic("graphsim: SetSchedulingEnabled: workflow " + workflowID + " is disabled")
	}
	if wf.isSchedulingEnabled == enabled {
		return
	}
	wf.isSchedulingEnabled = enabled
	wf.modified = s.stampNow()
	s.reschedule(wf)
}
