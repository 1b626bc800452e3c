package watcher

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a monotonic clock a test moves by hand, or lets run in real time.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	running time.Time // when run was called: the clock moves with real time since
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running.IsZero() {
		return c.t.Add(time.Since(c.running))
	}
	return c.t
}

// run makes the clock move with real time from now on, for a watcher under Run that
// waits on real timers.
func (c *fakeClock) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running.IsZero() {
		c.running = time.Now()
	}
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLease(t *testing.T) {
	_, kv := newBucket(t)
	ctx := context.Background()
	clock := &fakeClock{t: t0}
	const ttl = 3 * time.Minute
	a := newLease(kv, "a", ttl, quietLog())
	b := newLease(kv, "b", ttl, quietLog())
	a.now, b.now = clock.now, clock.now

	step := func(l *lease, wantHeld, wantAcquired bool) {
		t.Helper()
		held, acquired, err := l.acquire(ctx)
		if err != nil {
			t.Fatalf("%s: acquire: %v", l.instance, err)
		}
		if held != wantHeld || acquired != wantAcquired {
			t.Fatalf("%s: held, acquired = %v, %v; want %v, %v", l.instance, held, acquired, wantHeld, wantAcquired)
		}
		if l.held() != wantHeld {
			t.Fatalf("%s: held() = %v after acquire said %v", l.instance, l.held(), held)
		}
	}

	step(a, true, true)
	step(b, false, false)
	// a renews every ttl/3: b never takes over, however long it waits.
	for range 6 {
		clock.advance(ttl / 3)
		step(a, true, false)
		step(b, false, false)
	}
	// a stops renewing (crashed, or cut off from NATS).
	clock.advance(ttl / 3)
	step(b, false, false)
	clock.advance(ttl / 3)
	if a.held() {
		t.Fatal("a must consider the lease lost after 2/3 of its TTL without renewal")
	}
	step(b, false, false)
	clock.advance(ttl / 3)
	step(b, true, true) // a whole TTL without a new revision
	// a comes back: it must not take the lease back.
	step(a, false, false)
	clock.advance(ttl / 3)
	step(b, true, false)
	step(a, false, false)

	// A graceful stop hands over at once.
	if err := b.release(ctx); err != nil {
		t.Fatal(err)
	}
	if b.held() {
		t.Fatal("held after release")
	}
	step(a, true, true)
}

func TestLeaseSameInstanceName(t *testing.T) {
	_, kv := newBucket(t)
	ctx := context.Background()
	clock := time.Now()
	now := func() time.Time { return clock }
	first := newLease(kv, "pod-0", time.Minute, quietLog())
	first.now = now
	if held, _, err := first.acquire(ctx); err != nil || !held {
		t.Fatalf("acquire = %v, %v", held, err)
	}
	// A second process under the same name, while the first still renews: it must stand by.
	twin := newLease(kv, "pod-0", time.Minute, quietLog())
	twin.now = now
	for range 3 {
		if held, _, err := twin.acquire(ctx); err != nil || held {
			t.Fatalf("twin acquire = %v, %v; want standing by", held, err)
		}
		clock = clock.Add(30 * time.Second)
		if held, _, err := first.acquire(ctx); err != nil || !held {
			t.Fatalf("holder renew = %v, %v", held, err)
		}
	}
	// The first process dies (no release): the twin, or its own restart, takes over once
	// the lease has gone unrenewed for a whole ttl.
	clock = clock.Add(30 * time.Second)
	if held, _, _ := twin.acquire(ctx); held {
		t.Fatal("took over before the lease expired")
	}
	clock = clock.Add(time.Minute)
	if held, acquired, err := twin.acquire(ctx); err != nil || !held || !acquired {
		t.Fatalf("acquire after expiry = %v, %v, %v; want held", held, acquired, err)
	}
}

func TestLeaseReleasedOnCleanStop(t *testing.T) {
	_, kv := newBucket(t)
	ctx := context.Background()
	first := newLease(kv, "pod-0", time.Minute, quietLog())
	if held, _, err := first.acquire(ctx); err != nil || !held {
		t.Fatalf("acquire = %v, %v", held, err)
	}
	if err := first.release(ctx); err != nil {
		t.Fatal(err)
	}
	// A clean stop released it: the restarted process holds it at once.
	again := newLease(kv, "pod-0", time.Minute, quietLog())
	if held, acquired, err := again.acquire(ctx); err != nil || !held || !acquired {
		t.Fatalf("acquire after release = %v, %v, %v; want held", held, acquired, err)
	}
}

func TestLeaseRace(t *testing.T) {
	_, kv := newBucket(t)
	ctx := context.Background()
	const n = 5
	var wg sync.WaitGroup
	held := make([]bool, n)
	for i := range n {
		l := newLease(kv, "same-name", time.Minute, quietLog()) // names must not matter
		wg.Go(func() {
			h, _, err := l.acquire(ctx)
			if err != nil {
				t.Error(err)
			}
			held[i] = h
		})
	}
	wg.Wait()
	count := 0
	for _, h := range held {
		if h {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d watchers hold the lease, want exactly 1", count)
	}
}
