package slack

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// item is one event waiting for its channel's poster.
type item struct {
	ev  *events.Event
	sum *notify.Summary
	// done receives the event's outcome, exactly once, from the round that took it.
	done chan error
	// lead hands the poster role to the goroutine delivering this item.
	lead chan struct{}
	// taken is set, under channel.mu, when a round takes the item from the queue.
	taken bool
	// rev is the item's ledger revision during a round.
	rev uint64
}

// channel paces one Slack destination. There is no goroutine of its own: the first
// caller of deliver for an idle channel becomes its poster, posts rounds while events
// keep queueing, and when its own event is done hands the role to the oldest caller still
// waiting. So one poster at a time talks to each channel, and a round carries every event
// that queued while the channel was paced.
type channel struct {
	n      *Notifier
	target string // the channel as configured, or "webhook"
	kind   string // metric label: default, route or webhook
	log    *slog.Logger
	// paceKey names the channel's pace, shared with other replicas, in the ledger.
	paceKey string

	mu        sync.Mutex
	queue     []*item
	leading   bool
	notBefore time.Time // pacing and any Retry-After window
	id        string    // the channel id, once known

	// identifyAfter is when identify may ask Slack again for a named channel's id;
	// identifyWarned keeps its warning to once per process.
	identifyAfter  time.Time
	identifyWarned bool
}

// deliver queues it and waits for its outcome, posting rounds while it holds the poster
// role.
func (c *channel) deliver(ctx context.Context, it *item) error {
	c.mu.Lock()
	c.queue = append(c.queue, it)
	leader := !c.leading
	c.leading = true
	c.mu.Unlock()
	if leader {
		c.lead(ctx, it)
	}
	for {
		select {
		case err := <-it.done:
			return err
		case <-it.lead:
			c.lead(ctx, it)
		case <-ctx.Done():
			c.mu.Lock()
			if it.taken {
				// A round is posting it: its outcome follows shortly.
				c.mu.Unlock()
				return <-it.done
			}
			c.queue = slices.DeleteFunc(c.queue, func(q *item) bool { return q == it })
			select {
			case <-it.lead:
				// Made poster but leaving: pass the role on.
				c.handOff(nil)
			default:
			}
			c.mu.Unlock()
			return ctx.Err()
		}
	}
}

// lead posts rounds until own has its outcome or ctx ends, then hands the poster role to
// the oldest waiting item, if any.
func (c *channel) lead(ctx context.Context, own *item) {
	for {
		if c.pace(ctx) != nil {
			// Leaving: own's caller sees ctx end and takes own out of the queue.
			c.mu.Lock()
			c.handOff(own)
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		items := c.queue
		c.queue = nil
		for _, it := range items {
			it.taken = true
		}
		c.mu.Unlock()

		c.round(ctx, items)

		c.mu.Lock()
		if len(c.queue) == 0 || own.taken {
			c.handOff(nil)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

// handOff gives the poster role to the oldest queued item other than skip, or leaves the
// channel idle. c.mu must be held.
func (c *channel) handOff(skip *item) {
	for _, it := range c.queue {
		if it != skip {
			it.lead <- struct{}{}
			return
		}
	}
	c.leading = false
}

// pace waits until the channel may be posted to.
func (c *channel) pace(ctx context.Context) error {
	for {
		c.mu.Lock()
		d := time.Until(c.notBefore)
		c.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := c.wait(ctx, d); err != nil {
			return err
		}
	}
}

// wait sleeps for d, or until ctx ends, renewing this process's lease on the way so that
// the events it claimed stay its own through a long Retry-After. If NATS cannot be
// reached the lease lapses, and the claims with it.
//
// The lease is looked at after every step, however short: the shared pace is awaited in
// steps of pacePoll for as long as another replica's Retry-After lasts. lease only
// publishes when less than two thirds of the lease is left.
func (c *channel) wait(ctx context.Context, d time.Duration) error {
	ttl := c.n.cfg.LeaseTTL
	for d > 0 {
		step := min(d, ttl/3)
		if err := sleep(ctx, step); err != nil {
			return err
		}
		d -= step
		if _, _, err := c.n.ledger.lease(ctx, ttl*2/3); err != nil {
			c.log.Debug("cannot renew the lease while waiting", "error", err)
		}
	}
	return nil
}

// holdOff keeps the channel quiet for d from now, unless it already is for longer.
func (c *channel) holdOff(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := time.Now().Add(d); t.After(c.notBefore) {
		c.notBefore = t
	}
}

// ref is how the ledger names the channel: its id where known.
func (c *channel) ref() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id != "" {
		return c.id
	}
	return c.target
}

// identifyRetry is how long identify waits before asking Slack again after it could not
// find a named channel's id.
const identifyRetry = 5 * time.Minute

// identify finds the id of a channel configured by name before anything is posted to it:
// from the ledger, where an earlier post or process recorded it, or else from
// conversations.list. A message whose post answer is lost can only be looked for in the
// channel's history by id; posting by name without one is the single way a crash could
// repeat a message, so the notifier warns when it has to.
func (c *channel) identify(ctx context.Context) {
	c.mu.Lock()
	skip := c.id != "" || !c.n.dest.readsBack() || time.Now().Before(c.identifyAfter)
	c.identifyAfter = time.Now().Add(identifyRetry)
	c.mu.Unlock()
	if skip {
		return
	}
	id, err := c.n.ledger.channelID(ctx, c.target)
	if err == nil && id == "" {
		cctx, cancel := context.WithTimeout(ctx, c.n.cfg.CallTimeout)
		id, err = c.n.dest.channelByName(cctx, strings.TrimPrefix(c.target, "#"))
		cancel()
		if err != nil {
			err = c.n.classify(err, "conversations.list").err
		}
	}
	if id != "" {
		c.learn(ctx, id)
		return
	}
	c.mu.Lock()
	warned := c.identifyWarned
	c.identifyWarned = true
	c.mu.Unlock()
	if !warned {
		why := "no channel of that name is visible to the token"
		if err != nil {
			why = err.Error()
		}
		c.log.Warn("cannot find the id of a channel configured by name, so a crash during the first post to it could repeat that message: "+
			"configure the channel id (C0123…) instead, or add the channels:read and groups:read scopes", "reason", why)
	}
}

// learn records the id Slack reported for a channel configured by name.
func (c *channel) learn(ctx context.Context, id string) {
	c.mu.Lock()
	known := c.id != "" || id == ""
	if !known {
		c.id = id
	}
	c.mu.Unlock()
	if known {
		return
	}
	if err := c.n.ledger.setChannelID(ctx, c.target, id); err != nil {
		c.log.Warn("cannot record the channel's id; a crash right now could repeat a message", "error", err)
	}
}
