package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
)

// Timing margins of the ledger protocol.
const (
	// historySkew widens the history read before a pending entry's time, for clock skew
	// between this host and Slack.
	historySkew = 2 * time.Minute
	// ledgerParallel bounds concurrent ledger operations in a round.
	ledgerParallel = 16
	// settleTimeout bounds ledger writes that record what already happened; they run even
	// when the delivery's context has ended.
	settleTimeout = 10 * time.Second
)

// round posts items, the events that queued while the channel was paced: it settles those
// the ledger shows as posted or held elsewhere, reads back those left pending by a process
// that is gone, and posts the rest in as few messages as Slack's limits allow.
func (c *channel) round(ctx context.Context, items []*item) {
	c.identify(ctx)
	fresh := c.resolve(ctx, items)
	if len(fresh) == 0 {
		return
	}
	// The round mentions once, in the first message Slack accepts that reports a failure.
	mention := c.n.render.mention != ""
	c.postAll(ctx, fresh, &mention, nil)
}

// postAll lays items out in batches and posts them. A failure other than Slack refusing
// one message ends it: Slack is down, or the channel or token is unusable, and nothing
// later would fare better, so the items not yet tried get the error too. Within a
// halving (h not nil) this process has claimed them and certainly not posted them:
// their claims are released. *mention is as for postBatch.
func (c *channel) postAll(ctx context.Context, items []*item, mention *bool, h *halving) (outcome, error) {
	owed := *mention
	batches := c.layout(items, owed)
	for k, b := range batches {
		o, err := c.postBatch(ctx, pick(items, b.items), b, owed && k == 0, mention, h)
		if err == nil || o.messageOnly {
			continue
		}
		var rest []*item
		for _, later := range batches[k+1:] {
			rest = append(rest, pick(items, later.items)...)
		}
		if h != nil {
			c.fail(rest, err, true)
		} else {
			for _, it := range rest {
				it.done <- err
			}
		}
		return o, err
	}
	return outcome{}, nil
}

// layout packs items into batches, or one item per batch for the baseline.
func (c *channel) layout(items []*item, mention bool) []batch {
	sums := make([]*notify.Summary, len(items))
	for i, it := range items {
		sums[i] = it.sum
	}
	per := c.n.maxPerMessage
	if per <= 0 {
		return c.n.render.pack(sums, mention)
	}
	var out []batch
	for start := 0; start < len(sums); start += per {
		end := min(start+per, len(sums))
		for _, b := range c.n.render.pack(sums[start:end], mention && start == 0) {
			for k := range b.items {
				b.items[k] += start
			}
			out = append(out, b)
		}
	}
	return out
}

func pick(items []*item, idx []int) []*item {
	out := make([]*item, len(idx))
	for k, i := range idx {
		out[k] = items[i]
	}
	return out
}

// forEach runs f for every item, a few at a time.
func forEach(items []*item, f func(it *item)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, ledgerParallel)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(it)
		})
	}
	wg.Wait()
}

// resolve reads the ledger entry of every item, settles those that need no post, and
// returns those to post, each with the revision its claim must expect.
func (c *channel) resolve(ctx context.Context, items []*item) []*item {
	l := c.n.ledger
	recs := make(map[*item]*record, len(items))
	var mu sync.Mutex
	var fresh, unsure []*item
	forEach(items, func(it *item) {
		rec, rev, err := l.get(ctx, it.ev.ID)
		if err != nil {
			it.done <- notify.Retryable(err, 0)
			return
		}
		it.rev = rev
		switch {
		case rec == nil:
		case rec.State == statePosted:
			c.log.Debug("already posted", "event", it.ev.ID, "ts", rec.TS)
			it.done <- nil
			return
		case rec.Owner != l.owner:
			alive, err := l.alive(ctx, rec.Owner)
			if err != nil {
				it.done <- notify.Retryable(err, 0)
				return
			}
			if alive {
				it.done <- notify.Defer(fmt.Errorf("event %s is being posted by %s", it.ev.ID, rec.Owner), "held_elsewhere", c.n.cfg.LeaseTTL/2)
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if rec == nil {
			fresh = append(fresh, it)
		} else {
			recs[it] = rec
			unsure = append(unsure, it)
		}
	})
	if len(unsure) > 0 {
		fresh = append(fresh, c.readBack(ctx, unsure, recs)...)
	}
	// Keep arrival order: the queue's order is the order events were observed in.
	order := make(map[*item]int, len(items))
	for i, it := range items {
		order[it] = i
	}
	slices.SortFunc(fresh, func(a, b *item) int { return order[a] - order[b] })
	return fresh
}

// readBack settles items left pending by a process that is gone (or by this one, after a
// call whose outcome was unknown): those whose batch is in the channel's history are
// recorded as posted; the others are returned to be posted again.
func (c *channel) readBack(ctx context.Context, items []*item, recs map[*item]*record) []*item {
	if !c.n.dest.readsBack() {
		c.log.Warn("events were left pending by a process that stopped mid-post; an incoming webhook cannot read back, so they are posted again and may repeat",
			"events", len(items))
		return items
	}
	byChannel := map[string][]*item{}
	for _, it := range items {
		byChannel[recs[it].Channel] = append(byChannel[recs[it].Channel], it)
	}
	var again []*item
	for ch, group := range byChannel {
		found, err := c.history(ctx, ch, group, recs)
		if err != nil {
			for _, it := range group {
				it.done <- err
			}
			continue
		}
		for _, it := range group {
			rec := recs[it]
			ts, ok := found[rec.Batch]
			if !ok || rec.Batch == "" {
				again = append(again, it)
				continue
			}
			posted := &record{State: statePosted, Batch: rec.Batch, Channel: rec.Channel, Owner: c.n.ledger.owner, At: time.Now().UTC(), TS: ts}
			if _, err := c.n.ledger.put(ctx, it.ev.ID, posted, it.rev); err != nil {
				it.done <- retryLater(err)
				continue
			}
			c.log.Info("found in the channel's history; not posting again", "event", it.ev.ID, "batch", rec.Batch, "ts", ts)
			it.done <- nil
		}
	}
	return again
}

// history finds which of the group's batches were posted to channel ch.
func (c *channel) history(ctx context.Context, ch string, group []*item, recs map[*item]*record) (map[string]string, error) {
	id := ch
	if !isChannelID(ch) {
		var err error
		if id, err = c.n.ledger.channelID(ctx, ch); err != nil {
			return nil, notify.Retryable(fmt.Errorf("read channel id: %w", err), 0)
		}
		if id == "" {
			c.log.Warn("cannot read back a channel configured by name whose id was never recorded; posting again, which may repeat a message: configure channel ids",
				"events", len(group))
			return map[string]string{}, nil
		}
	}
	want := map[string]bool{}
	since := time.Now()
	for _, it := range group {
		want[recs[it].Batch] = true
		if at := recs[it].At; !at.IsZero() && at.Before(since) {
			since = at
		}
	}
	for {
		cctx, cancel := context.WithTimeout(ctx, c.n.cfg.CallTimeout)
		found, err := c.n.dest.history(cctx, id, since.Add(-historySkew), want)
		cancel()
		if err == nil {
			return found, nil
		}
		o := c.n.classify(err, "conversations.history of "+id)
		switch {
		case o.limited:
			c.n.cfg.Metrics.SlackRateLimited(o.retryAfter)
			if err := sleep(ctx, o.retryAfter); err != nil {
				return nil, err
			}
			continue
		case isPermanent(o.err):
			// Without read access we cannot know; posting again is better than losing
			// the notification.
			c.log.Error("cannot read the channel's history to check for messages a stopped process may have posted; posting again, which may repeat them: grant the bot channels:history (groups:history for private channels) and keep it in the channel",
				"error", o.err, "events", len(group))
			return map[string]string{}, nil
		}
		return nil, o.err
	}
}

func isPermanent(err error) bool {
	e, ok := errors.AsType[*notify.Error](err)
	return ok && e.Permanent
}

// retryLater classifies losing a ledger race: another replica is on it, look again soon.
func retryLater(err error) error {
	if errors.Is(err, errLost) {
		return notify.Defer(err, "ledger_conflict", time.Second)
	}
	return notify.Retryable(err, 0)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
