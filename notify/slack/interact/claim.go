package interact

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// Claim states.
const (
	// stateCalling: Graph is being called, or was and its answer is not recorded (the
	// owner died, or the answer was lost). Settled by recover.
	stateCalling = "calling"
	// stateAccepted: Graph took the activation. Final.
	stateAccepted = "accepted"
	// stateFailed: Graph refused the activation, or it was never sent: a later click
	// may try again.
	stateFailed = "failed"
)

// claim is the record of one action in the bucket, keyed by its action id. It holds
// everything a replica needs to settle an attempt another left unfinished.
type claim struct {
	State string `json:"state"`
	// Data is the action as the audit records of the current attempt carry it: the
	// workflow, action, target, who asked (the actor and request of the click that
	// claimed it) and the message.
	Data events.ActionData `json:"data"`
	// SubjectID is the user activate runs the workflow for.
	SubjectID string `json:"subjectId,omitempty"`
	// Owner is the process calling Graph; empty once nobody is (an answer was lost).
	Owner string `json:"owner,omitempty"`
	// First is when the action was first claimed: runs started since then are looked
	// for. At is when the current call began, Deadline when it must have ended.
	First    time.Time `json:"first"`
	At       time.Time `json:"at"`
	Deadline time.Time `json:"deadline"`
	// Calls counts the calls made for the current request, lost answers included.
	Calls int `json:"calls"`
	// Reason and Graph are the outcome, for accepted and failed; Done when it was
	// recorded.
	Reason string              `json:"reason,omitempty"`
	Graph  *events.GraphAnswer `json:"graph,omitempty"`
	Done   time.Time           `json:"done,omitzero"`
	// Published reports that the outcome's audit records are in the stream.
	Published bool `json:"published,omitempty"`
}

// errLost reports that another writer changed a claim first.
var errLost = errors.New("interact: claim changed by another process")

// BucketName returns the name of the actions bucket for stream.
func BucketName(stream string) string { return stream + "-actions" }

// claimAge keeps a claim as long as the events stream keeps the failure it answers,
// and a day more: by then Graph no longer has the result, and no click can act on it.
const claimAge = events.DefaultMaxAge + 24*time.Hour

// claims is the actions bucket: claim.<action id> per action, owner.<process> per
// live process (a lease the server expires).
type claims struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	bucket string
	owner  string
	ttl    time.Duration

	mu         sync.Mutex
	leaseUntil time.Time
}

func openClaims(ctx context.Context, js jetstream.JetStream, stream string, replicas int, leaseTTL time.Duration, instance string) (*claims, error) {
	bucket := BucketName(stream)
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "lcwnotify: one claim per action taken from Slack, with its outcome; the handlers' leases",
		History:     1,
		TTL:         claimAge,
		Replicas:    max(replicas, 1),
		Storage:     jetstream.FileStorage,
		// Enables per-key TTLs, which leases use.
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("interact: create or update bucket %s: %w", bucket, err)
	}
	return &claims{kv: kv, js: js, bucket: bucket, owner: newOwner(instance), ttl: leaseTTL}, nil
}

// newOwner names this process: readable, and unique across restarts.
func newOwner(instance string) string {
	if instance == "" {
		instance, _ = os.Hostname()
	}
	instance = events.Token(instance)
	if len(instance) > 32 {
		instance = instance[:32]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", instance, os.Getpid(), hex.EncodeToString(b))
}

// actionID names an action: what it does and what it does it to. Every click on the
// same button of the same failure names the same action.
func actionID(action, workflowID, target string) string {
	h := sha256.New()
	for _, s := range []string{"lcwnotify action v1", action, workflowID, target} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "act-" + hex.EncodeToString(h.Sum(nil)[:16])
}

func claimKey(id string) string { return "claim." + id }

func leaseKey(owner string) string { return "owner." + owner }

// get returns the claim of action id and its revision, or nil when there is none.
func (c *claims) get(ctx context.Context, id string) (*claim, uint64, error) {
	e, err := c.kv.Get(ctx, claimKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("interact: read claim: %w", err)
	}
	var cl claim
	if err := json.Unmarshal(e.Value(), &cl); err != nil || cl.State == "" || cl.Data.ActionID != id {
		// Not a claim lcwnotify wrote: nothing may be done with this action until an
		// operator looks, rather than risk a second activation.
		return nil, 0, fmt.Errorf("interact: claim %s is unreadable", id)
	}
	return &cl, e.Revision(), nil
}

// put writes cl expecting revision rev (0: no claim yet) and returns the new revision,
// or errLost when another process wrote first.
func (c *claims) put(ctx context.Context, cl *claim, rev uint64) (uint64, error) {
	b, err := json.Marshal(cl)
	if err != nil {
		return 0, fmt.Errorf("interact: encode claim: %w", err)
	}
	key := claimKey(cl.Data.ActionID)
	var n uint64
	if rev == 0 {
		n, err = c.kv.Create(ctx, key, b)
	} else {
		n, err = c.kv.Update(ctx, key, b, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, errLost
	case err != nil:
		return 0, fmt.Errorf("interact: write claim: %w", err)
	}
	return n, nil
}

// alive reports whether owner holds a lease.
func (c *claims) alive(ctx context.Context, owner string) (bool, error) {
	if owner == "" {
		return false, nil
	}
	_, err := c.kv.Get(ctx, leaseKey(owner))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("interact: read lease: %w", err)
	}
	return true, nil
}

// lease makes sure this process holds its lease for at least need more, and returns
// when it ends. A call is made only inside the lease (its deadline is before the
// lease's end), so once the server has expired the lease, whoever finds a claim of
// this process in the middle of a call knows the call is over.
func (c *claims) lease(ctx context.Context, need time.Duration) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.leaseUntil.Sub(now) >= need {
		return c.leaseUntil, nil
	}
	b, _ := json.Marshal(map[string]any{"owner": c.owner, "renewed": now.UTC()})
	// kv.Update cannot set a TTL; publishing to the key's subject with one is what
	// KeyValue.Create(…, KeyTTL) does, and renews it.
	m := &nats.Msg{Subject: "$KV." + c.bucket + "." + leaseKey(c.owner), Data: b}
	if _, err := c.js.PublishMsg(ctx, m, jetstream.WithMsgTTL(c.ttl)); err != nil {
		return time.Time{}, fmt.Errorf("interact: renew lease: %w", err)
	}
	// Counted from before the request: the server starts the TTL later than that.
	c.leaseUntil = now.Add(c.ttl)
	return c.leaseUntil, nil
}

// list returns the ids of every claimed action.
func (c *claims) list(ctx context.Context) ([]string, error) {
	l, err := c.kv.ListKeysFiltered(ctx, "claim.>")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("interact: list claims: %w", err)
	}
	defer l.Stop()
	var ids []string
	for k := range l.Keys() {
		ids = append(ids, strings.TrimPrefix(k, "claim."))
	}
	return ids, nil
}
