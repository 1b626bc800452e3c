package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// namedRefresh is how often a workflow named in LCW_WORKFLOWS that the workflow list
// does not return is read on its own: events carry its display name, category and
// version, which change rarely, and such a workflow is rare (a list filtered by
// permissions).
const namedRefresh = 10 * time.Minute

// catalogue knows which workflows to poll, with the names their events carry and their
// state (enabled, quarantined) as of the poll.
type catalogue struct {
	graph Graph
	named []string // LCW_WORKFLOWS; empty: every workflow

	list []graph.Workflow // last known
	at   time.Time        // when the named workflows were last all resolved
	// fresh holds the workflows the last call read from Graph: only their state is
	// current, the others are what an earlier read said.
	fresh map[string]bool
}

func newCatalogue(g Graph, named []string) *catalogue {
	var unique []string
	for _, id := range named {
		if !slices.Contains(unique, id) {
			unique = append(unique, id)
		}
	}
	return &catalogue{graph: g, named: unique}
}

// workflows returns the workflows to poll. The workflow list is read at every poll,
// named workflows or not: it is the one request that carries every workflow's state. A
// named workflow the list lacks is read alone every namedRefresh. complete reports that
// the set is the whole set to watch, as of now: the listing succeeded this poll, and
// every named workflow was resolved. When a listing fails but an earlier one succeeded,
// the earlier list is returned with complete false and the error; with no list at all,
// only the error.
func (c *catalogue) workflows(ctx context.Context, now time.Time) (list []graph.Workflow, complete bool, err error) {
	c.fresh = map[string]bool{}
	all, err := c.graph.ListWorkflows(ctx)
	if err != nil {
		return c.list, false, fmt.Errorf("list workflows: %w", err)
	}
	// Each workflow is polled by one goroutine: never twice in one poll.
	seen := make(map[string]bool, len(all))
	all = slices.DeleteFunc(all, func(wf graph.Workflow) bool {
		dup := seen[wf.ID]
		seen[wf.ID] = true
		return dup
	})
	if len(c.named) == 0 {
		c.list, c.at = all, now
		for _, wf := range all {
			c.fresh[wf.ID] = true
		}
		return all, true, nil
	}
	byID := make(map[string]graph.Workflow, len(all))
	for _, wf := range all {
		byID[wf.ID] = wf
	}
	refresh := c.list == nil || now.Sub(c.at) >= namedRefresh
	var errs []error
	list = make([]graph.Workflow, 0, len(c.named))
	for _, id := range c.named {
		if wf, ok := byID[id]; ok {
			list, c.fresh[id] = append(list, wf), true
			continue
		}
		old, known := c.find(id)
		if known && !refresh {
			list = append(list, old)
			continue
		}
		// Not in the list (deleted, or the list is filtered by permissions): ask for it.
		wf, err := c.graph.GetWorkflow(ctx, id)
		if err != nil {
			if errors.Is(err, graph.ErrNotFound) {
				err = fmt.Errorf("LCW_WORKFLOWS names workflow %s, which Graph does not know: %w", id, err)
			}
			errs = append(errs, err)
			if known {
				list = append(list, old)
			}
			continue
		}
		list, c.fresh[id] = append(list, wf), true
	}
	c.list = list
	if len(errs) > 0 {
		// Keep the time: try again at the next poll.
		return list, false, errors.Join(errs...)
	}
	if refresh {
		c.at = now
	}
	return list, true, nil
}

func (c *catalogue) find(id string) (graph.Workflow, bool) {
	for _, wf := range c.list {
		if wf.ID == id {
			return wf, true
		}
	}
	return graph.Workflow{}, false
}
