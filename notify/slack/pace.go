package slack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Replicas that share a consumer post to the same channels. Slack's limits are per app
// and channel, so the pace is shared too: the ledger keeps, per channel, the time before
// which no replica may post (pace.<channel>), advanced by compare-and-set so that one
// replica at a time takes each slot, and pushed back by any replica that receives a 429.
//
// Next is a time on its writer's clock. So that a replica whose clock runs ahead cannot
// hold the others off for as long as its clock is wrong, a record also says how long it
// meant to hold the channel, and a reader waits no longer than that from when it first
// saw the record, on its own clock.

// paceRecord is a channel's shared pace.
type paceRecord struct {
	Next time.Time `json:"next"`
	// For is how long from its writing the record holds the channel; zero in records
	// written before it existed, which Next alone bounds.
	For   time.Duration `json:"for,omitempty"`
	Owner string        `json:"owner,omitempty"`
}

// holdUntil returns the record of a pace that holds the channel until next.
func (l *ledger) holdUntil(next time.Time) paceRecord {
	return paceRecord{Next: next, For: max(time.Until(next), 0), Owner: l.owner}
}

// pacePoll is how often a replica waiting for another's reservation looks again.
const pacePoll = 100 * time.Millisecond

func paceKey(target string) string {
	sum := sha256.Sum256([]byte(target))
	return "pace." + hex.EncodeToString(sum[:12])
}

func (l *ledger) readPace(ctx context.Context, key string) (paceRecord, uint64, error) {
	var p paceRecord
	e, err := l.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return p, 0, nil
	}
	if err != nil {
		return p, 0, fmt.Errorf("read channel pace: %w", err)
	}
	_ = json.Unmarshal(e.Value(), &p) // unreadable: treat as free
	return p, e.Revision(), nil
}

func (l *ledger) writePace(ctx context.Context, key string, p paceRecord, rev uint64) (uint64, error) {
	b, _ := json.Marshal(p)
	var n uint64
	var err error
	if rev == 0 {
		n, err = l.kv.Create(ctx, key, b)
	} else {
		n, err = l.kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, errLost
	}
	if err != nil {
		return 0, fmt.Errorf("write channel pace: %w", err)
	}
	return n, nil
}

// turn waits, with wait, until any replica may post to the channel, then reserves the
// channel for hold (the post and the pause after it) and returns the reservation's
// revision.
func (l *ledger) turn(ctx context.Context, key string, hold time.Duration, wait func(context.Context, time.Duration) error) (uint64, error) {
	var seen uint64 // the revision being waited for, first read at seenAt
	var seenAt time.Time
	for {
		p, rev, err := l.readPace(ctx, key)
		if err != nil {
			return 0, err
		}
		if rev != seen {
			seen, seenAt = rev, time.Now()
		}
		d := time.Until(p.Next)
		if p.For > 0 {
			d = min(d, p.For-time.Since(seenAt))
		}
		if d > 0 {
			// The reservation's holder usually frees it well before its end: look again
			// soon rather than sleeping through it.
			if err := wait(ctx, min(d, pacePoll)); err != nil {
				return 0, err
			}
			continue
		}
		n, err := l.writePace(ctx, key, l.holdUntil(time.Now().Add(hold)), rev)
		if errors.Is(err, errLost) {
			continue // another replica took this slot
		}
		return n, err
	}
}

// paceNext ends this replica's reservation: no post before next.
func (l *ledger) paceNext(ctx context.Context, key string, next time.Time, rev uint64) error {
	_, err := l.writePace(ctx, key, l.holdUntil(next), rev)
	if errors.Is(err, errLost) {
		// A 429 seen by another replica moved it later; keep that.
		return nil
	}
	return err
}

// paceBack keeps every replica off the channel until at least until, as a Retry-After
// demands.
func (l *ledger) paceBack(ctx context.Context, key string, until time.Time) error {
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
		later := paceRecord{Next: p.Next, For: max(p.For, d), Owner: l.owner}
		if p.Next.Before(until) {
			later.Next = until
		}
		_, err = l.writePace(ctx, key, later, rev)
		if !errors.Is(err, errLost) {
			return err
		}
	}
}
