package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// Ledger states of an event.
const (
	statePending = "pending"
	statePosted  = "posted"
)

// record is the ledger entry of one event at one sink: pending while the batch that
// carries it is being sent, posted once the destination took its last message.
//
// The JSON names are those of the Slack ledger that came before the Stage, so that an
// upgrade in the middle of a post still finds what it left.
type record struct {
	State string `json:"state"`
	// Batch names the batch that carries the event; a Finder's messages repeat it.
	Batch string `json:"batch"`
	// Key is the destination key: the destination's own name for it where known.
	Key string `json:"channel"`
	// Owner is the process that wrote the entry; a pending entry whose owner holds no
	// lease was left by a process that is gone, and one without an owner by a process
	// that no longer knows whether its batch arrived.
	Owner string    `json:"owner,omitempty"`
	At    time.Time `json:"at"`
	// ID is the destination's id of the batch's first message, once sent.
	ID string `json:"ts,omitempty"`
	// Parts and Sent count the batch's messages and those the destination took, for a
	// batch of several messages: a crash between them resumes after the last one sent.
	Parts int `json:"parts,omitempty"`
	Sent  int `json:"sent,omitempty"`
	// Within and Reply are the batch's (see Batch).
	Within string `json:"within,omitempty"`
	Reply  bool   `json:"reply,omitempty"`
	// Events counts the events the batch carries, when more than one: an event settled
	// from a read-back after a crash then records its incident as grouped, so that a
	// follow-up does not re-render the others' message as its own.
	Events int `json:"events,omitempty"`
}

// errLost reports that another writer changed a ledger entry first.
var errLost = errors.New("ledger entry changed by another notifier")

// ledger records, per event id, what became of its delivery to one sink, in the KV
// bucket <stream>-<sink>. Each process also keeps a lease key, owner.<id>, that expires
// on its own when the process stops renewing it. The bucket also holds the shared pace
// of each paced key (pace.<key>) and the destination's names of keys (channel.<key>).
type ledger struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	bucket string
	owner  string
	ttl    time.Duration

	mu         sync.Mutex
	leaseUntil time.Time
	term       uint64
}

// LedgerBucket returns the name of sink's ledger bucket for stream.
func LedgerBucket(stream, sink string) string { return stream + "-" + sink }

// defaultLedgerAge keeps entries a day longer than the events stream keeps events, so an
// event that can still be redelivered is always recognised.
const defaultLedgerAge = events.DefaultMaxAge + 24*time.Hour

func openLedger(ctx context.Context, js jetstream.JetStream, stream, sink string, replicas int, leaseTTL time.Duration) (*ledger, error) {
	age := defaultLedgerAge
	if s, err := js.Stream(ctx, stream); err == nil {
		cfg := s.CachedInfo().Config
		if replicas == 0 {
			replicas = cfg.Replicas
		}
		if cfg.MaxAge > 0 {
			age = cfg.MaxAge + 24*time.Hour
		}
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("notify: read stream %s: %w", stream, err)
	}
	bucket := LedgerBucket(stream, sink)
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "lcwnotify: what became of each event's " + sink + " notification, and the notifiers' leases",
		History:     1,
		TTL:         age,
		Replicas:    max(replicas, 1),
		Storage:     jetstream.FileStorage,
		// Enables per-key TTLs, which leases use.
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("notify: create or update ledger %s: %w", bucket, err)
	}
	// The server keeps per-key TTLs in whole seconds, truncating: a lease must never be
	// believed longer than the server keeps it.
	ttl := max(leaseTTL.Truncate(time.Second), time.Second)
	return &ledger{kv: kv, js: js, bucket: bucket, owner: newOwnerID(), ttl: ttl}, nil
}

// newOwnerID names this process: readable, and unique across restarts.
func newOwnerID() string {
	host, _ := os.Hostname()
	host = events.Token(host)
	if len(host) > 32 {
		host = host[:32]
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(4))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

func newBatchID() string { return "b-" + randomHex(8) }

// eventKey is the ledger key of an event. Ids from lcwnotify's watcher are valid keys;
// anything else is hashed.
func eventKey(id string) string {
	if validKey(id) {
		return "ev." + id
	}
	sum := sha256.Sum256([]byte(id))
	return "evh." + hex.EncodeToString(sum[:16])
}

func validKey(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}

func leaseKey(owner string) string { return "owner." + owner }

// hashKey names a destination key inside a ledger key: keys are free text.
func hashKey(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:12])
}

func nameKey(key string) string { return hashKey("channel.", key) }

// get returns the entry of event id and its revision, or nil when there is none.
func (l *ledger) get(ctx context.Context, id string) (*record, uint64, error) {
	e, err := l.kv.Get(ctx, eventKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read ledger: %w", err)
	}
	var r record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		// Not ours to interpret: treat like an entry whose owner is gone.
		return &record{State: statePending}, e.Revision(), nil
	}
	return &r, e.Revision(), nil
}

// put writes r for event id, expecting revision rev (0: no entry), and returns the new
// revision. It fails with errLost when another notifier wrote first.
func (l *ledger) put(ctx context.Context, id string, r *record, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	return l.write(ctx, eventKey(id), b, rev, "ledger")
}

// write stores b at key expecting revision rev (0: no entry). It fails with errLost when
// another writer got there first.
func (l *ledger) write(ctx context.Context, key string, b []byte, rev uint64, what string) (uint64, error) {
	var n uint64
	var err error
	if rev == 0 {
		n, err = l.kv.Create(ctx, key, b)
	} else {
		n, err = l.kv.Update(ctx, key, b, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, errLost
	case err != nil:
		return 0, fmt.Errorf("write %s: %w", what, err)
	}
	return n, nil
}

// release removes a pending entry after a failure that certainly sent nothing.
func (l *ledger) release(ctx context.Context, id string, rev uint64) error {
	return l.kv.Delete(ctx, eventKey(id), jetstream.LastRevision(rev))
}

// alive reports whether owner holds a lease.
func (l *ledger) alive(ctx context.Context, owner string) (bool, error) {
	if owner == "" {
		return false, nil
	}
	_, err := l.kv.Get(ctx, leaseKey(owner))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read lease: %w", err)
	}
	return true, nil
}

// lease makes sure this process holds a lease for at least need more, renewing it when
// it would not, and returns when it ends and its term. A process sends only inside its
// lease, so once the lease key has expired, another process may conclude that nothing it
// left pending is still on its way, and take those events over.
//
// The term changes whenever the lease had lapsed before it was renewed: claims made in an
// earlier term may have been taken over meanwhile, and must not be sent.
func (l *ledger) lease(ctx context.Context, need time.Duration) (until time.Time, term uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.leaseUntil.Sub(now) >= need {
		return l.leaseUntil, l.term, nil
	}
	b, _ := json.Marshal(map[string]any{"owner": l.owner, "renewed": now.UTC()})
	// kv.Update cannot set a TTL; publishing to the key's subject with one is what
	// KeyValue.Create(…, KeyTTL) does, and renews it.
	m := &nats.Msg{Subject: "$KV." + l.bucket + "." + leaseKey(l.owner), Data: b}
	if _, err := l.js.PublishMsg(ctx, m, jetstream.WithMsgTTL(l.ttl)); err != nil {
		return time.Time{}, 0, fmt.Errorf("renew lease: %w", err)
	}
	// Lapsed (or first): a new term. Judged when the renewal is stored, not when it was
	// sent: one that reaches the server after the old lease ended leaves a gap in which
	// another process may have taken the claims over.
	if !time.Now().Before(l.leaseUntil) {
		l.term++
	}
	// Counted from before the request: the server starts the TTL later than that.
	l.leaseUntil = now.Add(l.ttl)
	return l.leaseUntil, l.term, nil
}

// current returns when this process's lease ends and its term, as last renewed.
func (l *ledger) current() (time.Time, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leaseUntil, l.term
}

// name returns the destination's name recorded for key, or "".
func (l *ledger) name(ctx context.Context, key string) (string, error) {
	e, err := l.kv.Get(ctx, nameKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}

// setName records the destination's name for key.
func (l *ledger) setName(ctx context.Context, key, name string) error {
	_, err := l.kv.Put(ctx, nameKey(key), []byte(name))
	return err
}
