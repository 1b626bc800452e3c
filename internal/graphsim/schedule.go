package graphsim

import (
	"fmt"
	"time"
)

// DefaultScheduleIntervalHours is the tenant's workflowScheduleIntervalInHours when
// Options.ScheduleIntervalHours is zero, as in a new tenant.
const DefaultScheduleIntervalHours = 3

// ScheduledRun is a scheduled run about to start, as a ScheduleHook sees it.
type ScheduledRun struct {
	WorkflowID string
	// At is the run's scheduledDateTime: the nextScheduleRunDateTime it was due at.
	At time.Time
}

// ScheduleHook decides which users a scheduled run processes (the users who met the
// workflow's execution conditions since the last run) and how each of their results
// goes. An empty answer means nobody matched: no run is created, as in the service.
// Users not yet in the directory are added to it with generated names. The hook is
// called with the simulator's lock held: it must not call the Sim's methods.
type ScheduleHook func(ScheduledRun) []PlannedResult

// SetScheduleHook sets the hook scheduled runs ask (nil: scheduled runs never find a
// user, the default).
func (s *Sim) SetScheduleHook(h ScheduleHook) {
	s.lock()
	defer s.mu.Unlock()
	s.schedHook = h
}

// SetScheduleInterval changes the tenant's workflowScheduleIntervalInHours (1–24):
// every scheduled workflow's next run moves to the next tick of the new interval.
func (s *Sim) SetScheduleInterval(hours int) {
	if hours < 1 || hours > 24 {
		panic(fmt.Sprintf("graphsim: SetScheduleInterval: %d hours is not between 1 and 24", hours))
	}
	s.lock()
	defer s.mu.Unlock()
	s.schedHours = hours
	for _, wf := range s.workflows {
		s.reschedule(wf)
	}
}

// ScheduleInterval returns the tenant's workflowScheduleIntervalInHours.
func (s *Sim) ScheduleInterval() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.schedHours
}

func (s *Sim) interval() stamp { return stamp(time.Duration(s.schedHours) * time.Hour) }

// schedules reports whether wf runs on schedule now.
func (wf *workflowRec) schedules() bool {
	return wf.isEnabled && wf.isSchedulingEnabled && !wf.quarantine.active()
}

// nextRun is wf's nextScheduleRunDateTime, 0 for null. Callers hold s.mu.
func (wf *workflowRec) nextRun() stamp {
	if !wf.schedules() {
		return 0
	}
	return wf.next
}

// reschedule recomputes wf's next scheduled run after its schedule or state changed:
// the first tick of the tenant's interval (shifted by the workflow's offset) after
// now. Ticks scheduled before are void. Callers hold s.mu for writing.
func (s *Sim) reschedule(wf *workflowRec) {
	wf.schedGen++
	wf.next = 0
	if !wf.schedules() {
		return
	}
	iv := s.interval()
	now := s.stampNow()
	off := stamp(wf.schedOffset) % iv
	next := (now-off)/iv*iv + off
	for next <= now {
		next += iv
	}
	wf.next = next
	s.armTick(wf)
}

// armTick schedules the tick of wf's next run.
func (s *Sim) armTick(wf *workflowRec) {
	gen := wf.schedGen
	s.at(wf.next, func(at stamp) { s.tick(wf, gen, at) })
}

// tick starts the scheduled run due at at, if the hook finds users, and arms the next.
func (s *Sim) tick(wf *workflowRec, gen uint64, at stamp) {
	if gen != wf.schedGen || !wf.schedules() {
		return
	}
	if s.schedHook != nil {
		if plans := s.schedHook(ScheduledRun{WorkflowID: wf.id, At: at.Time()}); len(plans) > 0 {
			s.startPlannedRun(wf, ExecutionScheduled, at, plans, nil)
		}
	}
	if gen != wf.schedGen || !wf.schedules() {
		return // the run quarantined the workflow: its schedule stopped
	}
	wf.next = at + s.interval()
	s.armTick(wf)
}
