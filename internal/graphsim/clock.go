package graphsim

import (
	"sync"
	"time"
)

// Clock is a manual clock for Options.Now: time stands still until the test moves it
// with Advance or Set, so a simulated day of scheduled runs plays in milliseconds and
// without sleeps. The simulator notices the new time on its next request or scenario
// call and applies, in order and at their own timestamps, everything that became due:
// scheduled runs starting, planned results progressing. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; pass the method value as Options.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (backward for a negative d, which a
// simulator tolerates but never undoes what already happened).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
