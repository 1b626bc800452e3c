package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Replicas that share a consumer send to the same destination keys, and a destination's
// limits are per app and key (a Slack channel, a Teams webhook, a PagerDuty routing key),
// so the pace is shared too: the ledger keeps, per paced key, the time before which no
// replica may send (pace.<key>), taken by compare-and-set so that one replica at a time
// takes each slot, and pushed back by any replica that receives a 429.
//
// A key with a Burst of one is held for the whole call while a message is on its way and
// released Interval after the call ended, so that messages arrive at least Interval apart
// (Slack counts them as they arrive). A key with a larger Burst is a token bucket kept as
// one time (a GCRA): the bucket holds Burst messages, refilled one per Interval, and Next
// is when it will be full again had nothing more been sent.
//
// Next is a time on its writer's clock. So that a replica whose clock runs ahead cannot
// hold the others off for as long as its clock is wrong, a record also says how long it
// meant to hold the key, and a reader waits no longer than that from when it first saw
// the record, on its own clock.

// paceRecord is a key's shared pace.
type paceRecord struct {
	Next time.Time `json:"next"`
	// For is how long from its writing the record holds the key; zero in records written
	// before it existed, which Next alone bounds.
	For   time.Duration `json:"for,omitempty"`
	Owner string        `json:"owner,omitempty"`
}

// pacePoll is how often a replica waiting for another's reservation looks again.
const pacePoll = 100 * time.Millisecond

func paceKey(key string) string { return hashKey("pace.", key) }

// holdUntil returns the record of a pace that holds the key until next.
func (l *ledger) holdUntil(next time.Time) paceRecord {
	return paceRecord{Next: next, For: max(time.Until(next), 0), Owner: l.owner}
}

func (l *ledger) readPace(ctx context.Context, key string) (paceRecord, uint64, error) {
	var p paceRecord
	e, err := l.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return p, 0, nil
	}
	if err != nil {
		return p, 0, fmt.Errorf("read pace: %w", err)
	}
	_ = json.Unmarshal(e.Value(), &p) // unreadable: treat as free
	return p, e.Revision(), nil
}

func (l *ledger) writePace(ctx context.Context, key string, p paceRecord, rev uint64) (uint64, error) {
	b, _ := json.Marshal(p)
	return l.write(ctx, key, b, rev, "pace")
}

// turn waits, with wait, until any replica may send to the key paced at r, then takes a
// slot: for a one-at-a-time key a reservation for hold (the call and the pause after it),
// for a bucket one message's worth. It returns the revision written.
func (l *ledger) turn(ctx context.Context, key string, r Rate, hold time.Duration, wait func(context.Context, time.Duration) error) (uint64, error) {
	var seen uint64 // the revision being waited for, first read at seenAt
	var seenAt time.Time
	// A bucket may be sent to while it is not full: Next up to (Burst-1)·Interval ahead.
	slack := time.Duration(max(r.Burst, 1)-1) * r.Interval
	for {
		p, rev, err := l.readPace(ctx, key)
		if err != nil {
			return 0, err
		}
		if rev != seen {
			seen, seenAt = rev, time.Now()
		}
		var d time.Duration // no record yet: free
		if !p.Next.IsZero() {
			d = time.Until(p.Next) - slack
		}
		if p.For > 0 {
			d = min(d, p.For-slack-time.Since(seenAt))
		}
		if d > 0 {
			// The reservation's holder usually frees it well before its end: look again
			// soon rather than sleeping through it.
			if err := wait(ctx, min(d, pacePoll)); err != nil {
				return 0, err
			}
			continue
		}
		next := time.Now().Add(hold)
		if r.Burst > 1 {
			next = maxTime(p.Next, time.Now()).Add(r.Interval)
		}
		n, err := l.writePace(ctx, key, l.holdUntil(next), rev)
		if errors.Is(err, errLost) {
			continue // another replica took this slot
		}
		return n, err
	}
}

// paceNext ends this replica's reservation of a one-at-a-time key: nothing is sent
// before next.
func (l *ledger) paceNext(ctx context.Context, key string, next time.Time, rev uint64) error {
	_, err := l.writePace(ctx, key, l.holdUntil(next), rev)
	if errors.Is(err, errLost) {
		// A 429 seen by another replica moved it later; keep that.
		return nil
	}
	return err
}

// paceBack keeps every replica off the key until at least until, as a Retry-After
// demands; a bucket is emptied too, so that it refills from then.
func (l *ledger) paceBack(ctx context.Context, key string, r Rate, until time.Time) error {
	until = until.Add(time.Duration(max(r.Burst, 1)-1) * r.Interval)
	for {
		p, rev, err := l.readPace(ctx, key)
		if err != nil {
			return err
		}
		d := time.Until(until)
		if !p.Next.Before(until) && (p.For == 0 || p.For >= d) {
			return nil
		}
		// Hold for the longer of the two, by either measure.
		later := paceRecord{Next: maxTime(p.Next, until), For: max(p.For, d), Owner: l.owner}
		_, err = l.writePace(ctx, key, later, rev)
		if !errors.Is(err, errLost) {
			return err
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
