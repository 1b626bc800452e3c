package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

const (
	// publishBatch is how many events are published before their records are written:
	// enough to keep the stream busy, few enough to stay under nats.go's limit on
	// unacknowledged asynchronous publishes and to keep a catch-up's memory bounded.
	publishBatch = 256
	// writeConcurrency is how many records are written at once.
	writeConcurrency = 16
	// detailConcurrency is how many results' task results and users are read at once.
	detailConcurrency = 4
)

// readDetailsAll reads the details of every change announcing a notify status; the
// slice is aligned with changes, nil where there are none.
func (w *Watcher) readDetailsAll(ctx context.Context, log *slog.Logger, workflowID string, changes []change) ([]*details, error) {
	out := make([]*details, len(changes))
	errs := make([]error, len(changes))
	sem := make(chan struct{}, detailConcurrency)
	var wg sync.WaitGroup
	for i := range changes {
		c := &changes[i]
		if !c.announce || !w.notify[c.next.Status] {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = w.readDetails(ctx, log, workflowID, c)
		})
	}
	wg.Wait()
	if err := firstOf(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// commitStats counts what commit did.
type commitStats struct {
	published, duplicates, unbuildable int
}

// commit publishes the events of changes and records each one the stream acknowledged,
// in batches. An event is always stored before its record is written, so a crash between
// the two re-publishes it (the stream's duplicate window absorbs the copy) and never
// records a change that was not announced. When ctx ends, the batch in flight is still
// published (within the publish timeout) and recorded, and no other batch is started:
// a shutdown leaves nothing stored and unrecorded behind.
func (w *Watcher) commit(ctx context.Context, log *slog.Logger, wf graph.Workflow, f *flow, changes []change, dets []*details) (commitStats, error) {
	var st commitStats
	wctx := context.WithoutCancel(ctx)
	for lo := 0; lo < len(changes); lo += publishBatch {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		hi := min(lo+publishBatch, len(changes))
		var (
			evs     []*events.Event
			evOf    []*change
			toWrite []*change
		)
		for i := lo; i < hi; i++ {
			c := &changes[i]
			if !c.announce {
				toWrite = append(toWrite, c)
				continue
			}
			ev, err := w.newEvent(log, w.tenant, wf, c, dets[i])
			if err != nil {
				// Not expected (newEvent repairs what Graph sent malformed); recording it
				// unannounced would lose it, holding the workflow back would stop every
				// other result.
				st.unbuildable++
				log.Error("cannot build the event of a result: it is neither announced nor recorded",
					"result", c.obs.res.ID, "err", err)
				continue
			}
			evs, evOf = append(evs, ev), append(evOf, c)
		}
		var pubErr error
		if len(evs) > 0 {
			pctx, cancel := context.WithTimeout(wctx, w.pubTimeout)
			acks := w.pub.PublishAll(pctx, evs)
			cancel()
			for i, a := range acks {
				if a.Err != nil {
					if pubErr == nil {
						pubErr = a.Err
					}
					continue
				}
				if a.Duplicate {
					st.duplicates++
					w.metrics.addDuplicate()
				} else {
					st.published++
					w.metrics.addPublished(evOf[i].next.Status)
				}
				toWrite = append(toWrite, evOf[i])
			}
			if w.afterPublish != nil {
				if err := w.afterPublish(f.id); err != nil {
					return st, err
				}
			}
		}
		if err := w.record(wctx, f, toWrite); err != nil {
			return st, err
		}
		if pubErr != nil {
			return st, fmt.Errorf("%w: %w", errNATS, pubErr)
		}
	}
	return st, nil
}

// record writes the records of cs, several at once.
func (w *Watcher) record(ctx context.Context, f *flow, cs []*change) error {
	errs := make([]error, len(cs))
	sem := make(chan struct{}, writeConcurrency)
	var wg sync.WaitGroup
	for i, c := range cs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = w.state.saveResult(ctx, f, c.next)
		})
	}
	wg.Wait()
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	err := firstOf(errs)
	if !errors.Is(err, errConflict) {
		err = fmt.Errorf("%w: %w", errNATS, err)
	}
	return fmt.Errorf("%d of %d records not written: %w", n, len(cs), err)
}

// errNATS marks failures to reach the stream or the bucket.
var errNATS = errors.New("nats")

func firstOf(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
