package watcher

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// lease decides which of several watchers on one NATS polls. It is an entry in the state
// bucket naming its holder, renewed with compare-and-set.
//
// Expiry is measured by whoever wants to take over, on its own monotonic clock: a
// standby that sees the same revision of another holder's lease for a whole ttl takes it.
// No clocks are compared across machines, so skew between replicas cannot make two of
// them hold the lease. The holder renews every ttl/3 and considers the lease lost when it
// could not renew for 2/3 of ttl — before any standby can have taken it.
//
// The holder is identified by a token drawn when the lease is made, not by the instance
// name: two replicas wrongly given one name still cannot both hold it, and a process that
// restarts after a crash waits for its predecessor's lease to expire like any standby.
type lease struct {
	kv       jetstream.KeyValue
	instance string
	token    string
	ttl      time.Duration
	log      *slog.Logger
	now      func() time.Time // monotonic readings only

	mu        sync.Mutex
	rev       uint64    // revision of our lease entry, 0 when not held
	renewedAt time.Time // when we last wrote it
	otherRev  uint64    // revision of another holder's entry, as last seen
	otherAt   time.Time // when we first saw otherRev
}

// leaseValue is the lease entry. Token decides whether the entry is ours; Holder and
// Renewed are for people reading the bucket, and Renewed is never compared with another clock.
type leaseValue struct {
	Holder  string    `json:"holder"`
	Token   string    `json:"token"`
	Renewed time.Time `json:"renewed"`
}

func newLease(kv jetstream.KeyValue, instance string, ttl time.Duration, log *slog.Logger) *lease {
	return &lease{kv: kv, instance: instance, token: rand.Text(), ttl: ttl, log: log, now: time.Now}
}

// held reports whether this watcher holds the lease and may poll.
func (l *lease) held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.heldLocked()
}

func (l *lease) heldLocked() bool {
	return l.rev != 0 && l.now().Sub(l.renewedAt) < l.ttl*2/3
}

// acquire takes or renews the lease and reports whether this watcher holds it.
// acquired is true when it was not held before this call.
func (l *lease) acquire(ctx context.Context) (held, acquired bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	before := l.heldLocked()
	held, err = l.acquireLocked(ctx)
	if !held {
		l.rev = 0
	}
	return held, held && !before, err
}

func (l *lease) acquireLocked(ctx context.Context) (bool, error) {
	now := l.now()
	e, err := l.kv.Get(ctx, leaseKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		rev, err := l.kv.Create(ctx, leaseKey, l.value(now))
		if err != nil {
			if isConflict(err) {
				return false, nil // another watcher created it first
			}
			return l.heldLocked(), fmt.Errorf("create lease: %w", err)
		}
		l.rev, l.renewedAt = rev, now
		return true, nil
	case err != nil:
		// Cannot tell: keep what we had until it runs out.
		return l.heldLocked(), fmt.Errorf("read lease: %w", err)
	}
	var v leaseValue
	_ = json.Unmarshal(e.Value(), &v) // an unreadable lease is someone else's, and expires
	if v.Token != l.token {
		if e.Revision() != l.otherRev {
			if v.Holder == l.instance && l.otherRev == 0 {
				l.log.Warn("another process holds the polling lease under this replica's instance name; "+
					"if it is not this process before a restart, give each replica its own LCW_INSTANCE",
					"instance", l.instance)
			}
			l.otherRev, l.otherAt = e.Revision(), now
			return false, nil
		}
		if now.Sub(l.otherAt) < l.ttl {
			return false, nil
		}
		l.log.Warn("taking over the polling lease: its holder stopped renewing it",
			"holder", v.Holder, "for", now.Sub(l.otherAt).Round(time.Second))
	}
	rev, err := l.kv.Update(ctx, leaseKey, l.value(now), e.Revision())
	if err != nil {
		if isConflict(err) {
			return false, nil
		}
		return l.heldLocked(), fmt.Errorf("renew lease: %w", err)
	}
	l.rev, l.renewedAt, l.otherRev = rev, now, 0
	return true, nil
}

func (l *lease) value(now time.Time) []byte {
	b, _ := json.Marshal(leaseValue{Holder: l.instance, Token: l.token, Renewed: now.UTC()})
	return b
}

// release gives the lease up so that a standby takes over at once rather than after ttl.
func (l *lease) release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rev == 0 {
		return nil
	}
	rev := l.rev
	l.rev = 0
	if err := l.kv.Delete(ctx, leaseKey, jetstream.LastRevision(rev)); err != nil && !isConflict(err) {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}
