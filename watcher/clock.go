package watcher

import "time"

// Clock is the time the watcher runs on: the instants it reads Graph's windows at and
// writes into its state, the lease's renewals and expiry, and the waits between polls.
// It is a seam for tests and benchmarks, which give a simulated clock so that a day of
// polling plays in seconds; a program leaves Options.Clock nil for the system clock.
// Implementations must be safe for concurrent use. The lease compares only readings of
// this clock with each other, so the system clock's monotonic readings keep it immune to
// wall-clock jumps.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d has passed, as
	// time.NewTimer does; d ≤ 0 fires at once.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock. The watcher stops every timer it stops waiting
// for, so a simulated clock can tell which of its timers someone is still waiting on.
type Timer interface {
	// C returns the channel the time is sent on.
	C() <-chan time.Time
	// Stop prevents the timer from firing and reports whether it did (false: it fired,
	// or was stopped already), as time.Timer's Stop.
	Stop() bool
}

// systemClock is the default Clock: time.Now and time.NewTimer.
type systemClock struct{}

func (systemClock) Now() time.Time                 { return time.Now() }
func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

// pace is a fixed-rate series of instants on a clock, as a time.Ticker's ticks: the
// n-th is due n periods after the start, and those a slow receiver missed are dropped.
type pace struct {
	period time.Duration
	next   time.Time
}

func newPace(start time.Time, period time.Duration) pace {
	return pace{period: period, next: start.Add(period)}
}

// due reports whether the next instant has come by now.
func (p *pace) due(now time.Time) bool { return !now.Before(p.next) }

// skip moves next to the first instant after now.
func (p *pace) skip(now time.Time) {
	if !p.due(now) {
		return
	}
	n := now.Sub(p.next)/p.period + 1
	p.next = p.next.Add(n * p.period)
}
