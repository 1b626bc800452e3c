package slack

import (
	"context"
	"errors"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/notify"
)

// postBatch claims items in the ledger as pending under a new batch id, posts the batch's
// messages, and records the items as posted. Every item gets its outcome. The returned
// outcome describes a failure, if any.
//
// first reports whether b was laid out with the mention. *mention, while true, is owed to
// the next message Slack accepts that reports a failure; posting one settles it. Within a
// halving (h not nil) the items were claimed by this process and not posted.
func (c *channel) postBatch(ctx context.Context, items []*item, b batch, first bool, mention *bool, h *halving) (outcome, error) {
	l := c.n.ledger
	_, term, err := l.lease(ctx, c.n.cfg.CallTimeout+c.n.cfg.leaseMargin())
	if err != nil {
		err = notify.Retryable(err, 0)
		for _, it := range items {
			it.done <- err
		}
		return outcome{}, err
	}
	id := newBatchID()
	pending := &record{State: statePending, Batch: id, Channel: c.ref(), Owner: l.owner, At: time.Now().UTC()}
	claimed := c.claim(ctx, items, pending)
	if len(claimed) == 0 {
		return outcome{messageOnly: true}, nil
	}
	msgs := b.messages
	if len(claimed) < len(items) || *mention && !first && reportsFailure(claimed) {
		// Another replica took some: post the rest, which takes no more room. Or the
		// message that was to mention was refused: this one mentions instead.
		msgs = nil
		for _, b := range c.layout(claimed, *mention) {
			msgs = append(msgs, b.messages...)
		}
	}
	var ts string
	for k, m := range msgs {
		var o outcome
		var err error
		if ts, o, err = c.post(ctx, m, batchMetadata(id, k+1, len(msgs)), term); err != nil {
			if k == 0 && o.definite && o.messageOnly && len(claimed) > 1 {
				if h == nil {
					h = newHalving(len(claimed))
				}
				if h.splits > 0 {
					// Slack refused the digest's content and posted nothing: one
					// result's text must not cost the others their notification.
					h.splits--
					c.log.Warn("Slack refused a message covering several events; posting them in halves", "batch", id, "events", len(claimed), "error", err)
					mid := len(claimed) / 2
					if o, err := c.postAll(ctx, claimed[:mid], mention, h); err != nil && !o.messageOnly {
						c.fail(claimed[mid:], err, true)
						return o, err
					}
					return c.postAll(ctx, claimed[mid:], mention, h)
				}
			}
			// Only a failure of the first message that certainly posted nothing leaves
			// nothing to read back.
			c.fail(claimed, err, o.definite && k == 0)
			return o, err
		}
		if k == 0 && *mention && reportsFailure(claimed) {
			*mention = false
		}
	}
	c.log.Info("posted", "batch", id, "events", len(claimed), "messages", len(msgs))
	posted := &record{State: statePosted, Batch: id, Channel: c.ref(), Owner: l.owner, At: time.Now().UTC(), TS: ts}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	forEach(claimed, func(it *item) {
		if _, err := l.put(sctx, it.ev.ID, posted, it.rev); err != nil {
			// A redelivery reads the channel back and finds the batch.
			c.log.Warn("posted, but the ledger could not record it", "event", it.ev.ID, "error", err)
		}
		it.done <- nil
	})
	return outcome{}, nil
}

// reportsFailure reports whether a message of items mentions: whether one is a failure.
func reportsFailure(items []*item) bool {
	return slices.ContainsFunc(items, func(it *item) bool { return it.sum.Failure() })
}

// halving is the search, by posting halves, for the events of a refused digest that
// Slack will not take. Halving finds one such event with a refused post per halving and
// a message per half left behind, where a message per event would flood the channel.
// splits bounds the refused posts it may still split: enough for a few culprits, and
// few when Slack refuses every message whatever it holds, whose events are then
// dead-lettered without a post each.
type halving struct{ splits int }

func newHalving(events int) *halving {
	return &halving{splits: 2*bits.Len(uint(events)) + 2}
}

// claim records items as pending in the ledger, expecting the revisions resolve read,
// and returns those it could claim in their original order; the others get their outcome.
func (c *channel) claim(ctx context.Context, items []*item, pending *record) []*item {
	var mu sync.Mutex
	ok := map[*item]bool{}
	forEach(items, func(it *item) {
		rev, err := c.n.ledger.put(ctx, it.ev.ID, pending, it.rev)
		if err != nil {
			it.done <- retryLater(err)
			return
		}
		it.rev = rev
		mu.Lock()
		ok[it] = true
		mu.Unlock()
	})
	return slices.DeleteFunc(slices.Clone(items), func(it *item) bool { return !ok[it] })
}

// fail gives items the error. When the post certainly did not happen their pending
// entries are released; when it may have, they are disowned (the owner cleared), so that
// whichever replica gets the event next reads the channel back at once instead of
// waiting for this process, which is no longer posting it, to stop.
func (c *channel) fail(items []*item, err error, definite bool) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	l := c.n.ledger
	forEach(items, func(it *item) {
		var lerr error
		if definite {
			lerr = l.release(ctx, it.ev.ID, it.rev)
		} else if rec, rev, gerr := l.get(ctx, it.ev.ID); gerr == nil && rec != nil && rev == it.rev {
			rec.Owner = ""
			_, lerr = l.put(ctx, it.ev.ID, rec, it.rev)
		}
		if lerr != nil {
			// Another replica took it over, or NATS is unreachable (and the lease lapses).
			c.log.Debug("cannot settle a pending entry; the next attempt reads back", "event", it.ev.ID, "error", lerr)
		}
		it.done <- err
	})
}

// errLeaseLapsed reports that this process's lease expired after it claimed the events it
// was about to post: another process may have taken them over.
var errLeaseLapsed = errors.New("the ledger lease lapsed (NATS unreachable?) after the events were claimed; another notifier may have taken them over")

// post sends one message when the channel's pace allows, waiting out every rate limit,
// and only while the lease term under which its events were claimed covers the call.
func (c *channel) post(ctx context.Context, m message, meta slack.SlackMetadata, term uint64) (string, outcome, error) {
	cfg := &c.n.cfg
	l := c.n.ledger
	for {
		if err := c.pace(ctx); err != nil {
			return "", outcome{definite: true}, err
		}
		slot, err := l.turn(ctx, c.paceKey, cfg.Interval+cfg.CallTimeout, c.wait)
		if err != nil {
			return "", outcome{definite: true}, retryable(err)
		}
		until, now, err := l.lease(ctx, cfg.CallTimeout+cfg.leaseMargin())
		if err != nil {
			return "", outcome{definite: true}, notify.Retryable(err, 0)
		}
		if now != term {
			return "", outcome{definite: true}, notify.Retryable(errLeaseLapsed, 0)
		}
		deadline := time.Now().Add(cfg.CallTimeout)
		if end := until.Add(-cfg.leaseMargin()); end.Before(deadline) {
			deadline = end
		}
		cctx, cancel := context.WithDeadline(ctx, deadline)
		chID, ts, err := c.n.dest.post(cctx, c.ref(), m, meta)
		cancel()

		o := outcome{}
		if err != nil {
			o = c.n.classify(err, c.op())
		}
		wait := cfg.Interval
		if o.limited {
			wait = max(wait, o.retryAfter)
		}
		c.holdOff(wait)
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		// End our reservation (it ran to Interval+CallTimeout) at the real next slot; a
		// Retry-After must also stand if another replica moved the pace meanwhile.
		next := time.Now().Add(wait)
		err = l.paceNext(sctx, c.paceKey, next, slot)
		if err == nil && o.limited {
			err = l.paceBack(sctx, c.paceKey, next)
		}
		scancel()
		if err != nil {
			c.log.Warn("cannot share the channel's pace with other replicas", "error", err)
		}
		switch {
		case o.err == nil:
			c.learn(ctx, chID)
			cfg.Metrics.SlackMessage(c.kind)
			return ts, outcome{}, nil
		case !o.limited:
			return "", o, o.err
		}
		cfg.Metrics.SlackRateLimited(o.retryAfter)
		c.log.Warn("rate limited by Slack; waiting before posting again", "retry_after", o.retryAfter)
	}
}

// retryable classifies an error that is not already classified, and leaves a
// cancellation as it is.
func retryable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return notify.Retryable(err, 0)
}

func (c *channel) op() string {
	if c.kind == "webhook" {
		return "incoming webhook"
	}
	return "chat.postMessage to " + c.target
}
