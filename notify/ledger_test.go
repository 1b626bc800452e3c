package notify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events/eventstest"
)

func twoLedgers(t *testing.T, ttl time.Duration) (*ledger, *ledger) {
	t.Helper()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	a, err := openLedger(context.Background(), js, "LCW", "slack", 0, ttl)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openLedger(context.Background(), js, "LCW", "slack", 0, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestLeaseTerms(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	a, b := twoLedgers(t, ttl)
	ctx := context.Background()
	if alive, err := b.alive(ctx, a.owner); err != nil || alive {
		t.Fatalf("alive before any lease = %v, %v; want false", alive, err)
	}
	until, term, err := a.lease(ctx, time.Second)
	if err != nil || term != 1 {
		t.Fatalf("first lease: term %d, %v; want term 1", term, err)
	}
	if alive, _ := b.alive(ctx, a.owner); !alive {
		t.Fatal("another process does not see the lease")
	}
	// Enough left: no renewal, same term.
	if u2, t2, _ := a.lease(ctx, 500*time.Millisecond); !u2.Equal(until) || t2 != term {
		t.Errorf("lease with time left renewed it: %v/%d, want %v/%d", u2, t2, until, term)
	}
	// Renewed before it lapses: same term, later end.
	time.Sleep(ttl / 2)
	if u3, t3, _ := a.lease(ctx, time.Second); !u3.After(until) || t3 != term {
		t.Errorf("renewal before the end: %v/%d, want later than %v, term %d", u3, t3, until, term)
	}
	// Lapsed: the server drops the key, and the next renewal starts a new term.
	notifyDeadline := time.Now().Add(10 * time.Second)
	for alive, _ := b.alive(ctx, a.owner); alive; alive, _ = b.alive(ctx, a.owner) {
		if time.Now().After(notifyDeadline) {
			t.Fatal("the lease key never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, t4, _ := a.lease(ctx, time.Second); t4 != term+1 {
		t.Errorf("renewal after the lease lapsed: term %d, want %d", t4, term+1)
	}
}

func TestLedgerCompareAndSet(t *testing.T) {
	t.Parallel()
	a, b := twoLedgers(t, time.Minute)
	ctx := context.Background()
	rev, err := a.put(ctx, "lcw1-x", &record{State: statePending, Batch: "b-1", Owner: a.owner}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.put(ctx, "lcw1-x", &record{State: statePending, Batch: "b-2", Owner: b.owner}, 0); !errors.Is(err, errLost) {
		t.Errorf("second claim of a new entry = %v, want errLost", err)
	}
	rec, got, err := b.get(ctx, "lcw1-x")
	if err != nil || got != rev || rec.Batch != "b-1" || rec.Owner != a.owner {
		t.Fatalf("get = %+v rev %d, %v; want a's claim at %d", rec, got, err, rev)
	}
	// b takes over (as after reading the channel back); a's stale revision then fails.
	if _, err := b.put(ctx, "lcw1-x", &record{State: statePending, Batch: "b-2", Owner: b.owner}, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := a.put(ctx, "lcw1-x", &record{State: statePosted, Batch: "b-1"}, rev); !errors.Is(err, errLost) {
		t.Errorf("write at a stale revision = %v, want errLost", err)
	}
	if err := a.release(ctx, "lcw1-x", rev); err == nil {
		t.Error("release at a stale revision succeeded; it must not drop another's claim")
	}
	// Ids that are not valid keys still get an entry of their own.
	if eventKey("a b/c") == eventKey("a b/d") || !validKey(eventKey("a b/c")[4:]) {
		t.Error("eventKey does not map arbitrary ids to distinct valid keys")
	}
}

// TestSharedPace has two processes contend for one channel: each slot goes to one of
// them, and a Retry-After seen by one holds off both.
func TestSharedPace(t *testing.T) {
	t.Parallel()
	a, b := twoLedgers(t, time.Minute)
	ctx := context.Background()
	key := paceKey("C0ALERTS01")
	const gap = 300 * time.Millisecond

	var mu sync.Mutex
	var posts []time.Time
	var wg sync.WaitGroup
	for _, l := range []*ledger{a, b, a, b} {
		wg.Go(func() {
			rev, err := l.turn(ctx, key, Rate{Interval: time.Millisecond, Burst: 1}, 10*time.Second, sleep)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			posts = append(posts, time.Now())
			mu.Unlock()
			if err := l.paceNext(ctx, key, time.Now().Add(gap), rev); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := 1; i < len(posts); i++ {
		if d := posts[i].Sub(posts[i-1]); d < gap {
			t.Errorf("two turns %v apart, want at least %v", d, gap)
		}
	}

	window := time.Now().Add(time.Second)
	if err := a.paceBack(ctx, key, Rate{Interval: time.Millisecond, Burst: 1}, window); err != nil {
		t.Fatal(err)
	}
	if err := b.paceBack(ctx, key, Rate{Interval: time.Millisecond, Burst: 1}, time.Now()); err != nil { // an earlier end does not shorten it
		t.Fatal(err)
	}
	if _, err := b.turn(ctx, key, Rate{Interval: time.Millisecond, Burst: 1}, time.Second, sleep); err != nil {
		t.Fatal(err)
	}
	if now := time.Now(); now.Before(window) {
		t.Errorf("turn taken %v inside another process's Retry-After window", window.Sub(now))
	}
}

// slowPublish delays every publish, as a NATS connection under strain does.
type slowPublish struct {
	jetstream.JetStream
	delay time.Duration
}

func (s slowPublish) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	time.Sleep(s.delay)
	return s.JetStream.PublishMsg(ctx, m, opts...)
}

// TestLeaseRenewedTooLateStartsANewTerm: a renewal sent before the lease ended but
// stored after it leaves a moment with no lease, in which another process may take the
// claims over. Such a renewal must start a new term, as one sent after the end does.
func TestLeaseRenewedTooLateStartsANewTerm(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	a, _ := twoLedgers(t, ttl)
	ctx := context.Background()
	until, term, err := a.lease(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(until.Add(-300 * time.Millisecond)))
	a.js = slowPublish{JetStream: a.js, delay: 600 * time.Millisecond}
	if _, got, err := a.lease(ctx, time.Second); err != nil || got == term {
		t.Errorf("renewal that completed after the lease ended: term %d, %v; want a term after %d", got, err, term)
	}
}

// TestSkewedPaceDoesNotStall: a replica whose clock runs an hour ahead writes a pace
// whose end is an hour away by everyone else's clock. Other replicas must not stop
// posting for that hour: a pace lasts at most as long as its writer meant, measured on
// the reader's own clock.
func TestSkewedPaceDoesNotStall(t *testing.T) {
	t.Parallel()
	a, b := twoLedgers(t, time.Minute)
	key := paceKey("C0ALERTS01")
	skewed := paceRecord{Next: time.Now().Add(time.Hour + time.Second), For: time.Second, Owner: a.owner}
	if _, err := a.writePace(context.Background(), key, skewed, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := b.turn(ctx, key, Rate{Interval: time.Millisecond, Burst: 1}, time.Second, sleep); err != nil {
		t.Errorf("turn after a pace written by a clock an hour ahead = %v, want a turn once the second it meant is over", err)
	}

	// A Retry-After received meanwhile still holds every replica for all of its window.
	other := paceKey("C0OTHER001")
	if _, err := a.writePace(ctx, other, skewed, 0); err != nil {
		t.Fatal(err)
	}
	window := time.Now().Add(2 * time.Second)
	if err := b.paceBack(ctx, other, Rate{Interval: time.Millisecond, Burst: 1}, window); err != nil {
		t.Fatal(err)
	}
	if _, err := a.turn(ctx, other, Rate{Interval: time.Millisecond, Burst: 1}, time.Second, sleep); err != nil {
		t.Fatal(err)
	}
	if now := time.Now(); now.Before(window) {
		t.Errorf("turn taken %v inside a Retry-After window, behind a pace from a skewed clock", window.Sub(now))
	}
}

// TestBucketPace: a key paced as a bucket takes Burst messages at once, then one per
// Interval, across processes; a Retry-After empties it for everyone.
func TestBucketPace(t *testing.T) {
	t.Parallel()
	a, b := twoLedgers(t, time.Minute)
	ctx := context.Background()
	key := paceKey("routing-key")
	r := Rate{Interval: 200 * time.Millisecond, Burst: 3}
	start := time.Now()
	var at []time.Duration
	for _, l := range []*ledger{a, b, a, b, a} {
		if _, err := l.turn(ctx, key, r, time.Minute, sleep); err != nil {
			t.Fatal(err)
		}
		at = append(at, time.Since(start))
	}
	for k := range 3 {
		if at[k] > 150*time.Millisecond {
			t.Errorf("message %d of a full bucket waited %v, want none", k+1, at[k])
		}
	}
	for k := 3; k < 5; k++ {
		if want := time.Duration(k-2) * r.Interval * 9 / 10; at[k] < want {
			t.Errorf("message %d taken at %v, want at least %v: the bucket refills one per interval", k+1, at[k], want)
		}
	}
	window := time.Now().Add(time.Second)
	if err := a.paceBack(ctx, key, r, window); err != nil {
		t.Fatal(err)
	}
	if _, err := b.turn(ctx, key, r, time.Minute, sleep); err != nil {
		t.Fatal(err)
	}
	if now := time.Now(); now.Before(window) {
		t.Errorf("took a slot %v inside a Retry-After window", window.Sub(now))
	}
}
