package watcher

import (
	"testing"
	"time"
)

// TestPace: instants a period apart from the start, like a ticker's; the ones passed
// while the receiver was busy are dropped, not caught up.
func TestPace(t *testing.T) {
	tests := []struct {
		name      string
		now       time.Duration // since the start
		wantDue   bool
		wantAfter time.Duration // next instant after skip, since the start
	}{
		{"before the first", 59 * time.Second, false, time.Minute},
		{"at the first", time.Minute, true, 2 * time.Minute},
		{"between", 90 * time.Second, true, 2 * time.Minute},
		{"three periods late", 3*time.Minute + time.Second, true, 4 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPace(t0, time.Minute)
			now := t0.Add(tt.now)
			if got := p.due(now); got != tt.wantDue {
				t.Errorf("due = %t, want %t", got, tt.wantDue)
			}
			p.skip(now)
			if got := p.next.Sub(t0); got != tt.wantAfter {
				t.Errorf("next after skip = %v, want %v", got, tt.wantAfter)
			}
		})
	}
}

// TestSystemClockTimer: the system clock's timers fire, and a stopped one does not.
func TestSystemClockTimer(t *testing.T) {
	c := systemClock{}
	select {
	case <-c.NewTimer(0).C():
	case <-time.After(10 * time.Second):
		t.Fatal("a timer of 0 did not fire")
	}
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() || tm.Stop() {
		t.Error("Stop of a pending timer: want true once, then false")
	}
}
