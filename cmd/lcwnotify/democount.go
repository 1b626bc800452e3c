package main

// What the demo's destinations delivered, against what its scenario expects.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// waitDelivered waits until every sink had delivered what its counter expects, for at
// most limit.
func waitDelivered(ctx context.Context, counters map[string]*counter, limit time.Duration) {
	waitUntil(ctx, limit, func() bool {
		for _, c := range counters {
			if !c.done() {
				return false
			}
		}
		return true
	})
}

// waitUntil checks cond every tenth of a second until it holds, ctx ends or limit has
// passed, and returns cond's last answer.
func waitUntil(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
}

// tally is what the scenario calls for, or what a destination delivered of it: the
// failures told (one per result), the completions told as their resolution, and the
// changes of workflow state told.
type tally struct{ failures, resolved, workflows int }

// tallyKinds names each count of a tally in the demo's summary lines. Every destination
// tells failures; the other kinds are counted at the destinations that tell them.
var tallyKinds = []struct {
	line, noun string
	of         func(tally) int
}{
	{"Notifications", "notifications", func(t tally) int { return t.failures }},
	{"Resolutions", "resolutions", func(t tally) int { return t.resolved }},
	{"Workflow changes", "workflow changes", func(t tally) int { return t.workflows }},
}

// writeDelivered prints, for each kind the scenario calls for, how many were expected
// against how many each destination that tells them delivered, and returns what fell
// short, or "".
func writeDelivered(w io.Writer, counters map[string]*counter, want tally) (short string) {
	var shorts []string
	for _, k := range tallyKinds {
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(counters)) {
			c := counters[name]
			got, wanted := k.of(c.count()), k.of(c.want)
			if wanted == 0 {
				continue // none expected, or a destination that does not tell these
			}
			parts = append(parts, fmt.Sprintf("%d delivered to %s", got, name))
			if got < wanted {
				shorts = append(shorts, fmt.Sprintf("%d of %d %s delivered to %s", got, wanted, k.noun, name))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s: %d expected, %s.\n", k.line, k.of(want), strings.Join(parts, ", "))
		}
	}
	return strings.Join(shorts, "; ")
}

// counter counts what a destination had delivered of what the scenario expects, each
// event once however often it was delivered. It keeps the failures, for the on-call
// person to click on.
type counter struct {
	// want is what the destination should deliver: every failure, and the resolutions
	// and workflow changes if it tells them.
	want tally

	mu        sync.Mutex
	failures  map[string]*events.Event // by result id
	resolved  map[string]bool          // event ids
	workflows map[string]bool          // event ids
}

// newCounter is the counter of sink for a scenario that calls for want.
func newCounter(want tally, sink notify.Sink) *counter {
	c := &counter{want: tally{failures: want.failures},
		failures: map[string]*events.Event{}, resolved: map[string]bool{}, workflows: map[string]bool{}}
	if i, ok := sink.(notify.Interested); ok {
		if i.Interests().Resolutions {
			c.want.resolved = want.resolved
		}
		if i.Interests().Workflows {
			c.want.workflows = want.workflows
		}
	}
	return c
}

func (c *counter) add(n *notify.Notification) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case n.Workflow != nil:
		c.workflows[n.Workflow.ID] = true
	case n.Event != nil:
		r, err := n.Event.Data.Result()
		switch {
		case err != nil:
		case events.IsFailure(r.ProcessingStatus):
			c.failures[r.ID] = n.Event
		case events.IsSuccess(r.ProcessingStatus):
			// Only a completion that follows a failure the destination told reaches it.
			c.resolved[n.Event.ID] = true
		}
	}
}

// count returns what was delivered.
func (c *counter) count() tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	return tally{failures: len(c.failures), resolved: len(c.resolved), workflows: len(c.workflows)}
}

func (c *counter) done() bool {
	got := c.count()
	return got.failures >= c.want.failures && got.resolved >= c.want.resolved && got.workflows >= c.want.workflows
}

// waitFailure returns the failure of result once delivered, or nil when ctx ends or
// limit passes first.
func (c *counter) waitFailure(ctx context.Context, result string, limit time.Duration) *events.Event {
	var ev *events.Event
	waitUntil(ctx, limit, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		ev = c.failures[result]
		return ev != nil
	})
	return ev
}
