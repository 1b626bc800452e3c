package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Timing margins of the ledger protocol.
const (
	// findSkew widens the read-back before a pending entry's time, for clock skew between
	// this host and the destination.
	findSkew = 2 * time.Minute
	// ledgerParallel bounds concurrent ledger operations in a round.
	ledgerParallel = 16
	// resolveRetry is how long the Stage waits before asking the destination again for
	// the name of a key it could not resolve.
	resolveRetry = 5 * time.Minute
)

// round sends items, the notifications that queued while the key was paced: it settles
// those the ledger shows as posted or held elsewhere, reads back those left pending by a
// process that is gone, and sends the rest in as few messages as the destination's
// limits allow.
func (s *Stage) round(ctx context.Context, q *keyQueue, items []*item) {
	s.identify(ctx, q)
	fresh := s.resolve(ctx, q, items)
	var resumed []*item
	fresh = slices.DeleteFunc(fresh, func(it *item) bool {
		if it.resume != nil {
			resumed = append(resumed, it)
			return true
		}
		return false
	})
	for _, it := range resumed {
		if again := s.resumeBatch(ctx, q, it); again {
			fresh = append(fresh, it)
		}
	}
	fresh = s.following(ctx, fresh)
	if len(fresh) == 0 {
		return
	}
	// The round's one-time additions (Slack's mention) go in the first batch that can
	// carry them and is sent.
	sn := &sending{st: s, q: q, owed: true}
	_ = sn.sendAll(ctx, fresh, false)
}

// following finds what items follow up, gives those not to be sent their outcome, and
// returns the others in order.
func (s *Stage) following(ctx context.Context, items []*item) []*item {
	keep := make([]bool, len(items))
	forEach(items, func(it *item) {
		send, err := s.follow(ctx, it)
		switch {
		case err != nil:
			if _, classified := errors.AsType[*Error](err); !classified {
				err = Retryable(err, 0)
			}
			it.done <- err
		case !send:
			it.done <- ErrNotTaken
		}
		keep[slices.Index(items, it)] = err == nil && send
	})
	var out []*item
	for i, it := range items {
		if keep[i] {
			out = append(out, it)
		}
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

// resolve reads the ledger entry of every item, settles those that need no send, and
// returns those to send, each with the revision its claim must expect, in the order
// they queued.
func (s *Stage) resolve(ctx context.Context, q *keyQueue, items []*item) []*item {
	l := s.ledger
	recs := make(map[*item]*record, len(items))
	var mu sync.Mutex
	var fresh, unsure []*item
	forEach(items, func(it *item) {
		rec, rev, err := l.get(ctx, it.id)
		if err != nil {
			it.done <- Retryable(err, 0)
			return
		}
		it.rev = rev
		switch {
		case rec == nil:
		case rec.State == statePosted:
			q.log.Debug("already delivered", "event", it.id, "batch", rec.Batch)
			it.done <- nil
			return
		case rec.Owner != l.owner:
			alive, err := l.alive(ctx, rec.Owner)
			if err != nil {
				it.done <- Retryable(err, 0)
				return
			}
			if alive {
				// Its lease ends within a TTL if the holder is gone: look again soon.
				it.done <- Defer(fmt.Errorf("event %s is being delivered by %s", it.id, rec.Owner), "held_elsewhere", time.Second)
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
		fresh = append(fresh, s.readBack(ctx, q, unsure, recs)...)
	}
	order := make(map[*item]int, len(items))
	for i, it := range items {
		order[it] = i
	}
	slices.SortFunc(fresh, func(a, b *item) int { return order[a] - order[b] })
	return fresh
}

// readBack settles items left pending by a process that is gone (or by this one, after a
// call whose outcome was unknown): those whose batch arrived are recorded as posted; a
// batch that arrived in part is resumed after its last message; the others are returned
// to be sent again.
func (s *Stage) readBack(ctx context.Context, q *keyQueue, items []*item, recs map[*item]*record) []*item {
	if s.finder == nil {
		q.log.Warn("events were left pending by a process that stopped mid-send; this destination cannot be read back, so they are sent again and may repeat",
			"events", len(items))
		for _, it := range items {
			s.resumeFrom(it, recs[it], recs[it].Sent)
		}
		return items
	}
	byKey := map[string][]*item{}
	for _, it := range items {
		byKey[recs[it].Key] = append(byKey[recs[it].Key], it)
	}
	var again []*item
	for key, group := range byKey {
		found, err := s.find(ctx, q, key, group, recs)
		if err != nil {
			for _, it := range group {
				it.done <- err
			}
			continue
		}
		for _, it := range group {
			rec := recs[it]
			f, ok := found[rec.Batch]
			switch {
			case !ok || rec.Batch == "":
				s.resumeFrom(it, rec, rec.Sent)
				again = append(again, it)
				continue
			case f.Parts < max(f.Count, 1):
				q.log.Info("part of a batch was delivered before its sender stopped; sending the rest", "event", it.id, "batch", rec.Batch, "delivered", f.Parts, "of", f.Count)
				s.resumeFrom(it, rec, max(f.Parts, rec.Sent))
				again = append(again, it)
				continue
			}
			posted := &record{State: statePosted, Batch: rec.Batch, Key: rec.Key, Owner: s.ledger.owner, At: time.Now().UTC(), ID: f.Receipt.ID}
			if _, err := s.ledger.put(ctx, it.id, posted, it.rev); err != nil {
				it.done <- retryLater(err)
				continue
			}
			q.log.Info("found at the destination; not sending again", "event", it.id, "batch", rec.Batch, "id", f.Receipt.ID)
			s.settleIncidents(ctx, q, []*item{it}, Batch{Reply: rec.Reply || rec.Within != ""}, f.Receipt.ID, rec.Events > 1)
			it.done <- nil
		}
	}
	return again
}

// resumeFrom marks it to continue rec's batch after its first sent messages, when the
// batch has several and some of them were sent.
func (s *Stage) resumeFrom(it *item, rec *record, sent int) {
	if rec.Parts > 1 && sent > 0 && sent < rec.Parts && rec.Batch != "" {
		r := *rec
		r.Sent = sent
		it.resume = &r
	}
}

// find asks the destination which of the group's batches were delivered to key.
func (s *Stage) find(ctx context.Context, q *keyQueue, key string, group []*item, recs map[*item]*record) (map[string]Found, error) {
	name, err := s.keyName(ctx, q, key)
	if err != nil {
		return nil, Retryable(fmt.Errorf("read the destination's name of the key: %w", err), 0)
	}
	if name == "" {
		q.log.Warn("cannot read back a key whose name at the destination was never recorded; sending again, which may repeat a message: configure the destination's id",
			"events", len(group))
		return map[string]Found{}, nil
	}
	var batches []Sought
	since := time.Now()
	for _, it := range group {
		if b := (Sought{Batch: recs[it].Batch, Within: recs[it].Within}); b.Batch != "" && !slices.Contains(batches, b) {
			batches = append(batches, b)
		}
		if at := recs[it].At; !at.IsZero() && at.Before(since) {
			since = at
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.o.CallTimeout)
	found, err := s.finder.Find(cctx, name, since.Add(-findSkew), batches)
	cancel()
	if err == nil {
		return found, nil
	}
	c := Classify(err)
	switch {
	case c.Limited:
		// Not a failure of the events: the destination asks for time. One loop retries,
		// the Dispatcher's, no sooner than it asked.
		q.holdOff(c.RetryAfter)
		s.o.Metrics.rateLimited(s.name, c.RetryAfter)
		return nil, Defer(c.Err, c.Reason, c.RetryAfter)
	case c.Permanent:
		// Without read access we cannot know; sending again is better than losing the
		// notification.
		q.log.Error("cannot read the destination back to check for messages a stopped process may have sent; sending again, which may repeat them",
			"error", c.Err, "events", len(group))
		return map[string]Found{}, nil
	}
	return nil, c
}

// keyName returns the destination's name of key: key itself for a sink without a
// Resolver, else the one this process learnt, recorded in the ledger or resolved now,
// and "" when the destination knows none.
func (s *Stage) keyName(ctx context.Context, q *keyQueue, key string) (string, error) {
	if s.res == nil {
		return key, nil
	}
	if key == q.key {
		if name := q.ref(); name != q.key {
			return name, nil
		}
	}
	name, err := s.ledger.name(ctx, key)
	if err != nil || name != "" {
		return name, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.o.CallTimeout)
	name, err = s.res.Resolve(cctx, key)
	cancel()
	switch {
	case err != nil && Classify(err).Permanent:
		return "", nil
	case err != nil:
		return "", err
	case name != "" && name != key:
		if err := s.ledger.setName(ctx, key, name); err != nil {
			q.log.Debug("cannot record the destination's id of a key", "error", err)
		}
	}
	return name, nil
}

// identify finds the destination's name of q's key before anything is sent to it: from
// the ledger, where an earlier send or process recorded it, or else from the sink's
// Resolver. A message whose answer is lost can only be looked for by that name; sending
// by key without one is the single way a crash could repeat a message, so the Stage
// warns when it has to.
func (s *Stage) identify(ctx context.Context, q *keyQueue) {
	if s.res == nil || s.finder == nil {
		return
	}
	q.mu.Lock()
	skip := q.name != "" || time.Now().Before(q.resolveAfter)
	q.resolveAfter = time.Now().Add(resolveRetry)
	q.mu.Unlock()
	if skip {
		return
	}
	name, err := s.ledger.name(ctx, q.key)
	if err == nil && name == "" {
		cctx, cancel := context.WithTimeout(ctx, s.o.CallTimeout)
		name, err = s.res.Resolve(cctx, q.key)
		cancel()
	}
	if name != "" {
		s.learn(ctx, q, name)
		return
	}
	q.mu.Lock()
	warned := q.resolveWarned
	q.resolveWarned = true
	q.mu.Unlock()
	if !warned {
		why := "the destination knows no such key"
		if err != nil {
			why = err.Error()
		}
		q.log.Warn("cannot find the destination's id of a key configured by name, so a crash during the first message to it could repeat that message: configure the id instead",
			"reason", why)
	}
}

// learn records the destination's name of q's key.
func (s *Stage) learn(ctx context.Context, q *keyQueue, name string) {
	q.mu.Lock()
	known := q.name != "" || name == ""
	if !known {
		q.name = name
	}
	q.mu.Unlock()
	if known || name == q.key {
		return
	}
	if err := s.ledger.setName(ctx, q.key, name); err != nil {
		q.log.Warn("cannot record the destination's id of the key; a crash right now could repeat a message", "error", err)
	}
}

// retryLater classifies losing a ledger race: another replica is on it, look again soon.
func retryLater(err error) error {
	if errors.Is(err, errLost) {
		return Defer(err, "ledger_conflict", time.Second)
	}
	return Retryable(err, 0)
}
