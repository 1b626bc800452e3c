package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// namedRefresh is how often the names of workflows named in LCW_WORKFLOWS are read
// again: events carry the display name, category and version, which change rarely.
const namedRefresh = 10 * time.Minute

// catalogue knows which workflows to poll, with the names their events carry.
type catalogue struct {
	graph Graph
	named []string // LCW_WORKFLOWS; empty: every workflow

	list []graph.Workflow // last known
	at   time.Time        // when list was read
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

// workflows returns the workflows to poll. complete reports that the set is the whole
// set to watch, as of now: the listing succeeded this poll, or the workflows are named
// and every one was resolved. When a listing fails but an earlier one succeeded, the
// earlier list is returned with complete false and the error; with no list at all,
// only the error.
func (c *catalogue) workflows(ctx context.Context, now time.Time) (list []graph.Workflow, complete bool, err error) {
	if len(c.named) > 0 && c.list != nil && now.Sub(c.at) < namedRefresh {
		return c.list, true, nil
	}
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
		return all, true, nil
	}
	byID := make(map[string]graph.Workflow, len(all))
	for _, wf := range all {
		byID[wf.ID] = wf
	}
	var errs []error
	list = make([]graph.Workflow, 0, len(c.named))
	for _, id := range c.named {
		wf, ok := byID[id]
		if !ok {
			// Not in the list (deleted, or the list is filtered by permissions): ask for it.
			wf, err = c.graph.GetWorkflow(ctx, id)
			if err != nil {
				if errors.Is(err, graph.ErrNotFound) {
					err = fmt.Errorf("LCW_WORKFLOWS names workflow %s, which Graph does not know: %w", id, err)
				}
				errs = append(errs, err)
				if old, ok := c.find(id); ok {
					list = append(list, old)
				}
				continue
			}
		}
		list = append(list, wf)
	}
	c.list = list
	if len(errs) > 0 {
		// Keep the time: try again at the next poll.
		return list, false, errors.Join(errs...)
	}
	c.at = now
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
