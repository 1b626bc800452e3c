package notify

import (
	"context"
	"errors"
	"math/bits"
	"slices"
	"sync"
	"time"
)

// sending is one round's sending to a key: what the round still owes and how much
// halving it may still do.
type sending struct {
	st *Stage
	q  *keyQueue
	// owed reports that the round's one-time additions have not been sent yet.
	owed bool
	// h is the search for the notifications a destination refuses, once one started.
	h *halving
}

// halving is the search, by sending halves, for the notifications of a refused batch
// that the destination will not take. It finds one such notification with a refused
// message per halving and a message per half left behind, where a message per
// notification would flood the destination. splits bounds the refused messages it may
// still split: enough for a few culprits, and few when the destination refuses every
// message whatever it holds, whose notifications are then dead-lettered without a
// message each.
//
// A destination that refuses every message keeps doing so across rounds: once a halving
// has run out, the key's next rounds get a budget of refusingSplits until the
// destination takes a message again.
type halving struct{ splits int }

// refusingSplits is the halving budget of a round to a key whose last halving ran out.
const refusingSplits = 2

func (q *keyQueue) newHalving(n int) *halving {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.refusing {
		return &halving{splits: refusingSplits}
	}
	return &halving{splits: 2*bits.Len(uint(n)) + 2}
}

// refused records whether the key's destination refuses whatever it is sent.
func (q *keyQueue) refused(all bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.refusing = all
}

// sendAll sends the round's items, laid out in as few batches as the destination's
// limits allow, every item getting its outcome. A failure other than the destination
// refusing one message ends it: the destination is down, or the key unusable, and
// nothing later would fare better, so the items not yet tried get the error too. When
// claimed, this process has claimed the items and certainly not sent them: the claims of
// those that end with an error are released.
func (s *sending) sendAll(ctx context.Context, items []*item, claimed bool) error {
	first := s.owed
	batches := s.st.layout(s.q, items, first)
	if s.q.concurrent() && !claimed {
		// A halving or a new layout of claimed items stays in the goroutine that holds
		// the key's slot.
		s.sendConcurrently(ctx, items, batches)
		return nil
	}
	for k, b := range batches {
		err := s.sendBatch(ctx, pick(items, b.Items), b, first && k == 0)
		if err == nil || isContent(err) {
			continue
		}
		var rest []*item
		for _, later := range batches[k+1:] {
			rest = append(rest, pick(items, later.Items)...)
		}
		if claimed {
			s.st.fail(rest, err, true)
		} else {
			for _, it := range rest {
				it.done <- err
			}
		}
		return err
	}
	return nil
}

// sendConcurrently starts sending batches to a key that takes several messages at once,
// each on its own, and returns once the last has started: the key's worker goes on
// taking what queues meanwhile. The key's semaphore bounds the messages in flight.
func (s *sending) sendConcurrently(ctx context.Context, items []*item, batches []Batch) {
	for _, b := range batches {
		select {
		case s.q.sem <- struct{}{}:
		case <-ctx.Done():
			err := Unsent(ctx.Err())
			for _, it := range pick(items, b.Items) {
				it.done <- err
			}
			continue
		}
		s.st.wg.Go(func() {
			defer func() { <-s.q.sem }()
			one := &sending{st: s.st, q: s.q}
			_ = one.sendBatch(ctx, pick(items, b.Items), b, false)
		})
	}
}

func pick(items []*item, idx []int) []*item {
	out := make([]*item, len(idx))
	for k, i := range idx {
		out[k] = items[i]
	}
	return out
}

func isContent(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Content
}

// sendBatch claims items in the ledger as pending under a new batch id, sends the
// batch's messages, and records the items as posted. Every item gets its outcome; the
// error returned describes a failure, if any. first reports whether b was laid out with
// the round's one-time additions owed.
func (s *sending) sendBatch(ctx context.Context, items []*item, b Batch, first bool) error {
	st := s.st
	_, term, err := st.ledger.lease(ctx, 2*st.margin())
	if err != nil {
		err = Retryable(err, 0)
		for _, it := range items {
			it.done <- err
		}
		return err
	}
	if len(b.Messages) == 0 {
		err := Permanent(errors.New("the sink rendered no message for the event (an lcwnotify bug: please report it)"), "render_failed")
		for _, it := range items {
			it.done <- err
		}
		return err
	}
	pending := &record{State: statePending, Batch: newBatchID(), Key: s.q.ref(), Owner: st.ledger.owner, At: time.Now().UTC(),
		Within: b.Within, Reply: b.Reply}
	if len(items) > 1 {
		pending.Events = len(items)
	}
	if len(b.Messages) > 1 {
		pending.Parts = len(b.Messages)
	}
	claimed := st.claim(ctx, items, pending)
	switch {
	case len(claimed) == 0:
		return nil
	case len(claimed) < len(items), s.owed && !first && s.wouldLead(claimed):
		// Another replica took some: send the rest, which takes no more room. Or the
		// message that was to carry the round's additions was refused: this one does.
		return s.sendAll(ctx, claimed, true)
	}
	return s.sendParts(ctx, claimed, pending, b, 0, term)
}

// wouldLead reports whether items, laid out with the round's additions, would carry them.
func (s *sending) wouldLead(items []*item) bool {
	bs := s.st.layout(s.q, items, true)
	return len(bs) > 0 && bs[0].Lead
}

// sendParts sends b's messages from index from on, under the claim rec, which items
// hold, then records them posted. A refusal of a first message for its content splits
// items in halves.
func (s *sending) sendParts(ctx context.Context, items []*item, rec *record, b Batch, from int, term uint64) error {
	st := s.st
	for k := from; k < len(b.Messages); k++ {
		r, err := s.send(ctx, b.Messages[k], Part{Batch: rec.Batch, Index: k + 1, Count: len(b.Messages)}, term)
		if err != nil {
			c := Classify(err)
			if k == 0 && c.Unsent && c.Content && len(items) > 1 {
				if s.h == nil {
					s.h = s.q.newHalving(len(items))
				}
				if s.h.splits == 0 {
					s.q.refused(true)
				} else {
					// The destination refused the batch's content and took nothing: one
					// notification's text must not cost the others theirs.
					s.h.splits--
					s.q.log.Warn("the destination refused a message covering several events; sending them in halves", "batch", rec.Batch, "events", len(items), "error", err)
					mid := len(items) / 2
					if err := s.sendAll(ctx, items[:mid], true); err != nil && !isContent(err) {
						st.fail(items[mid:], err, true)
						return err
					}
					return s.sendAll(ctx, items[mid:], true)
				}
			}
			// Only a failure of the first message that certainly sent nothing leaves
			// nothing to read back.
			st.fail(items, err, c.Unsent && k == 0)
			return err
		}
		if k == 0 {
			rec.ID = r.ID
			if b.Lead {
				s.owed = false
			}
		}
		if k+1 < len(b.Messages) {
			st.progress(ctx, items, rec, k+1)
		}
	}
	s.q.log.Info("delivered", "batch", rec.Batch, "events", len(items), "messages", len(b.Messages)-from)
	posted := &record{State: statePosted, Batch: rec.Batch, Key: s.q.ref(), Owner: st.ledger.owner, At: time.Now().UTC(), ID: rec.ID}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	st.settleIncidents(sctx, s.q, items, b, rec.ID, len(items) > 1)
	forEach(items, func(it *item) {
		if _, err := st.ledger.put(sctx, it.id, posted, it.rev); err != nil {
			// A redelivery reads the destination back and finds the batch.
			s.q.log.Warn("delivered, but the ledger could not record it", "event", it.id, "error", err)
		}
		it.done <- nil
	})
	return nil
}

// progress records that the first sent messages of items' batch were taken, so that a
// crash before the rest resumes after them.
func (st *Stage) progress(ctx context.Context, items []*item, rec *record, sent int) {
	rec.Sent = sent
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	forEach(items, func(it *item) {
		rev, err := st.ledger.put(sctx, it.id, rec, it.rev)
		if err != nil {
			// A crash now repeats the parts sent so far, at worst.
			st.log.Debug("cannot record a batch's progress", "event", it.id, "error", err)
			return
		}
		it.rev = rev
	})
}

// resumeBatch continues it's batch, which a crash cut short, after its last message
// sent. It reports whether it must be sent again whole instead: when its messages no
// longer lay out as they did (another version of lcwnotify rendered them).
func (st *Stage) resumeBatch(ctx context.Context, q *keyQueue, it *item) (again bool) {
	rec := it.resume
	it.resume = nil
	bs := st.layout(q, []*item{it}, false)
	if len(bs) != 1 || len(bs[0].Messages) != rec.Parts {
		q.log.Warn("cannot resume a batch cut short: its messages lay out differently now; sending the event again whole",
			"event", it.id, "batch", rec.Batch)
		return true
	}
	_, term, err := st.ledger.lease(ctx, 2*st.margin())
	if err != nil {
		it.done <- Retryable(err, 0)
		return false
	}
	claim := *rec
	claim.Owner = st.ledger.owner
	claimed := st.claim(ctx, []*item{it}, &claim)
	if len(claimed) == 0 {
		return false
	}
	s := &sending{st: st, q: q}
	_ = s.sendParts(ctx, claimed, &claim, bs[0], rec.Sent, term)
	return false
}

// claim records items as pending in the ledger, expecting the revisions resolve read,
// and returns those it could claim in their original order; the others get their outcome.
func (st *Stage) claim(ctx context.Context, items []*item, pending *record) []*item {
	var mu sync.Mutex
	ok := map[*item]bool{}
	forEach(items, func(it *item) {
		rev, err := st.ledger.put(ctx, it.id, pending, it.rev)
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

// fail gives items the error. When the destination certainly took nothing their
// pending entries are released; when it may have, they are disowned (the owner cleared),
// so that whichever replica gets the event next reads the destination back at once
// instead of waiting for this process, which is no longer sending it, to stop.
func (st *Stage) fail(items []*item, err error, unsent bool) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	l := st.ledger
	forEach(items, func(it *item) {
		var lerr error
		if unsent {
			lerr = l.release(ctx, it.id, it.rev)
		} else if rec, rev, gerr := l.get(ctx, it.id); gerr == nil && rec != nil && rev == it.rev {
			rec.Owner = ""
			_, lerr = l.put(ctx, it.id, rec, it.rev)
		}
		if lerr != nil {
			// Another replica took it over, or NATS is unreachable (and the lease lapses).
			st.log.Debug("cannot settle a pending entry; the next attempt reads back", "event", it.id, "error", lerr)
		}
		it.done <- err
	})
}

// errLeaseLapsed reports that this process's lease expired after it claimed the events it
// was about to send: another process may have taken them over.
var errLeaseLapsed = errors.New("the ledger lease lapsed (NATS unreachable?) after the events were claimed; another notifier may have taken them over")

// send sends one message when the key's pace allows, waiting out every rate limit, and
// only while the lease term under which its events were claimed covers the call.
func (s *sending) send(ctx context.Context, m Message, p Part, term uint64) (Receipt, error) {
	st, q := s.st, s.q
	l := st.ledger
	paced := !q.rate.Unpaced()
	for {
		if err := st.waitLocal(ctx, q); err != nil {
			return Receipt{}, Unsent(err)
		}
		var slot uint64
		if paced {
			var err error
			slot, err = l.turn(ctx, q.paceKey, q.rate, q.rate.Interval+st.o.CallTimeout, st.wait)
			if err != nil {
				return Receipt{}, Unsent(err)
			}
		}
		_, now, err := l.lease(ctx, 2*st.margin())
		if err != nil {
			return Receipt{}, Unsent(Retryable(err, 0))
		}
		if now != term {
			return Receipt{}, Unsent(Retryable(errLeaseLapsed, 0))
		}
		cctx, cancel := context.WithTimeout(ctx, st.o.CallTimeout)
		unbind := st.bindToLease(cctx, cancel, term)
		r, err := st.sink.Send(cctx, q.ref(), m, p)
		unbind()
		cancel()

		var c *Error
		if err != nil {
			c = Classify(err)
		}
		limited := c != nil && c.Limited
		wait := q.rate.Interval
		if limited {
			wait = max(wait, c.RetryAfter)
		}
		if paced || limited {
			q.holdOff(wait)
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
			// End a reservation (it ran to Interval+CallTimeout) at the real next slot; a
			// Retry-After must also stand if another replica moved the pace meanwhile.
			next := time.Now().Add(wait)
			var perr error
			if paced && q.rate.Burst <= 1 {
				perr = l.paceNext(sctx, q.paceKey, next, slot)
			}
			if perr == nil && limited {
				perr = l.paceBack(sctx, q.paceKey, q.rate, next)
			}
			scancel()
			if perr != nil {
				q.log.Warn("cannot share the key's pace with other replicas", "error", perr)
			}
		}
		if c == nil || !c.Limited {
			st.health.record(err)
		}
		switch {
		case c == nil:
			q.refused(false)
			st.learn(ctx, q, r.Key)
			st.o.Metrics.message(st.name)
			return r, nil
		case !limited:
			return Receipt{}, c
		}
		st.o.Metrics.rateLimited(st.name, c.RetryAfter)
		q.log.Warn("rate limited by the destination; waiting before sending again", "retry_after", c.RetryAfter)
	}
}

// bindToLease cuts the call of cctx short (cancel) a margin before the lease of term
// would end unrenewed, so that no message of events this process claimed can reach the
// destination once another process may take them over; the heartbeat keeps the lease,
// so a call lasts up to CallTimeout while NATS answers. unbind stops the watch.
func (st *Stage) bindToLease(cctx context.Context, cancel context.CancelFunc, term uint64) (unbind func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			until, now := st.ledger.current()
			d := time.Until(until.Add(-st.margin()))
			if now != term || d <= 0 {
				cancel()
				return
			}
			t := time.NewTimer(min(d, st.ledger.ttl/3))
			select {
			case <-done:
				t.Stop()
				return
			case <-cctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-exited }
}

// concurrent reports whether q's key takes several messages at once.
func (q *keyQueue) concurrent() bool { return q.rate.Unpaced() || q.rate.Burst > 1 }

// layout renders items for q, MaxPerMessage at a time when set, and makes sure every item
// is in exactly one batch: a sink that loses one (a bug) gets it rendered alone.
func (st *Stage) layout(q *keyQueue, items []*item, lead bool) []Batch {
	ns := make([]*Notification, len(items))
	for i, it := range items {
		ns[i] = it.n
	}
	per := st.o.MaxPerMessage
	if per <= 0 {
		per = len(ns)
	}
	var out []Batch
	for start := 0; start < len(ns); start += per {
		end := min(start+per, len(ns))
		for _, b := range st.sink.Render(q.key, ns[start:end], lead && start == 0) {
			for k := range b.Items {
				b.Items[k] += start
			}
			out = append(out, b)
		}
	}
	return st.checkLayout(q, ns, out)
}

// checkLayout keeps the batches that cover items each once, with messages, and renders
// alone every item they do not cover.
func (st *Stage) checkLayout(q *keyQueue, ns []*Notification, batches []Batch) []Batch {
	seen := make([]int, len(ns))
	for _, b := range batches {
		for _, i := range b.Items {
			if i >= 0 && i < len(ns) {
				seen[i]++
			}
		}
	}
	valid := func(b Batch) bool {
		if len(b.Items) == 0 || len(b.Messages) == 0 || len(b.Messages) > 1 && len(b.Items) > 1 {
			return false
		}
		for _, i := range b.Items {
			if i < 0 || i >= len(ns) || seen[i] != 1 {
				return false
			}
		}
		return true
	}
	out := slices.DeleteFunc(slices.Clone(batches), func(b Batch) bool { return !valid(b) })
	covered := make([]bool, len(ns))
	for _, b := range out {
		for _, i := range b.Items {
			covered[i] = true
		}
	}
	for i, ok := range covered {
		if ok {
			continue
		}
		q.log.Error("the sink laid out an event in no batch, or in several: rendering it alone (an lcwnotify bug: please report it)", "event", ns[i].ID())
		alone := Batch{Items: []int{i}}
		for _, b := range st.sink.Render(q.key, ns[i:i+1], false) {
			alone.Messages = append(alone.Messages, b.Messages...)
		}
		out = append(out, alone)
	}
	return out
}
