package watcher

import (
	"sync"
	"testing"
	"time"
)

// simClock is a simulated Clock for a watcher under Run: time stands still until the
// test moves it, and a timer fires when the clock passes its deadline. It knows which
// timers someone waits on (C was called, and the timer neither fired nor was stopped):
// Run and keepLease each wait on one timer at a time, so two awaited timers mean the
// watcher is idle and the clock may jump to the next deadline. The simulator reads the
// same clock (its Now), so Graph and the watcher share one simulated day.
type simClock struct {
	mu     sync.Mutex
	t      time.Time
	timers map[*simTimer]bool // pending timers → awaited
}

type simTimer struct {
	c  *simClock
	at time.Time
	ch chan time.Time
}

func newSimClock(t time.Time) *simClock {
	return &simClock{t: t, timers: make(map[*simTimer]bool)}
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &simTimer{c: c, at: c.t.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.t
		return t
	}
	c.timers[t] = false
	return t
}

func (t *simTimer) C() <-chan time.Time {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if _, ok := t.c.timers[t]; ok {
		t.c.timers[t] = true
	}
	return t.ch
}

func (t *simTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, ok := t.c.timers[t]
	delete(t.c.timers, t)
	return ok
}

// set moves the clock to t, firing every timer due by then.
func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
	for tm := range c.timers {
		if !tm.at.After(t) {
			tm.ch <- t
			delete(c.timers, tm)
		}
	}
}

func (c *simClock) advance(d time.Duration) { c.set(c.Now().Add(d)) }

// next returns the earliest deadline of a pending timer.
func (c *simClock) next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at time.Time
	for tm := range c.timers {
		if at.IsZero() || tm.at.Before(at) {
			at = tm.at
		}
	}
	return at, !at.IsZero()
}

// awaited counts the timers someone waits on.
func (c *simClock) awaited() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.timers {
		if w {
			n++
		}
	}
	return n
}

// settle waits, in real time, until n timers are awaited: the watcher's goroutines are
// all waiting for the clock.
func (c *simClock) settle(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for c.awaited() < n {
		if time.Now().After(deadline) {
			t.Fatalf("simulated clock: %d timers awaited after 30s, want %d", c.awaited(), n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// runUntil plays simulated time up to end: whenever the watcher is idle (sleepers
// timers awaited), the clock jumps to the next deadline, or to the next instant of at
// (sorted) first, where do runs with the watcher idle.
func (c *simClock) runUntil(t testing.TB, sleepers int, end time.Time, at []time.Time, do func(time.Time)) {
	t.Helper()
	for c.Now().Before(end) {
		c.settle(t, sleepers)
		next, ok := c.next()
		if !ok || next.After(end) {
			next = end
		}
		if len(at) > 0 && !at[0].After(next) {
			c.set(at[0])
			do(at[0])
			at = at[1:]
			continue
		}
		c.set(next)
	}
	c.settle(t, sleepers) // what the last jump started is done
}
