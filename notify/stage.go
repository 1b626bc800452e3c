package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// Stage defaults.
const (
	// DefaultLeaseTTL is how long a notifier's claim on the events it is sending outlives
	// its last renewal; a crashed process's pending events are read back after it. A
	// live process renews its lease every third of it, and cuts a call short before the
	// lease it was made under could end unrenewed.
	DefaultLeaseTTL = 7 * time.Second
	// DefaultCallTimeout bounds one call to a destination.
	DefaultCallTimeout = 15 * time.Second
	// DefaultParallel bounds the messages sent to one unpaced or bursting key at once.
	DefaultParallel = 16
)

// StageOptions configure a Stage.
type StageOptions struct {
	JS jetstream.JetStream
	// Stream names the events stream; the ledger is the KV bucket <Stream>-<sink>.
	Stream string
	// Replicas of the ledger bucket; 0 means like the stream.
	Replicas int
	Sink     Sink
	// LeaseTTL and CallTimeout default to DefaultLeaseTTL and DefaultCallTimeout; the
	// lease is stretched to hold at least two calls. Parallel defaults to
	// DefaultParallel.
	LeaseTTL    time.Duration
	CallTimeout time.Duration
	Parallel    int
	// MaxPerMessage limits the notifications one message may carry; zero means as many
	// as the sink's limits allow. Benchmarks set 1 for a one-message-per-event baseline.
	MaxPerMessage int
	// Logger defaults to slog.Default(); Metrics may be nil.
	Logger  *slog.Logger
	Metrics *Metrics
}

// Stage delivers notifications to one sink's destinations, exactly once where the sink
// can read its destination back and at least once otherwise. It keeps a queue per
// destination key: the first notification for an idle key is sent at once, and those
// that arrive while the key is paced (its Rate, a Retry-After) wait and are sent
// together in the next messages. Before a batch is sent, every event it carries is
// claimed in the ledger; after, recorded as posted; a redelivered event is settled from
// the ledger, or, when a process died mid-send, from what the destination shows.
//
// Deliver may be called from many goroutines while Run runs.
type Stage struct {
	o      StageOptions
	sink   Sink
	name   string
	finder Finder
	res    Resolver
	ledger *ledger
	log    *slog.Logger

	mu       sync.Mutex
	keys     map[string]*keyQueue
	inflight map[string]bool
	run      context.Context // Run's, while it runs
	wg       sync.WaitGroup
	health   health
}

// NewStage validates o and opens the sink's ledger, creating or updating its bucket.
func NewStage(ctx context.Context, o StageOptions) (*Stage, error) {
	switch {
	case o.JS == nil:
		return nil, errors.New("notify: the stage needs a JetStream context for its ledger")
	case o.Sink == nil:
		return nil, errors.New("notify: the stage needs a sink")
	case events.Token(o.Sink.Name()) != o.Sink.Name() || o.Sink.Name() == "":
		return nil, fmt.Errorf("notify: sink name %q: use letters, digits, '-' or '_'", o.Sink.Name())
	case o.LeaseTTL < 0 || o.CallTimeout < 0 || o.Parallel < 0 || o.MaxPerMessage < 0:
		return nil, errors.New("notify: stage durations and counts must not be negative")
	}
	if err := events.ValidateStreamName(o.Stream); err != nil {
		return nil, err
	}
	setDefault(&o.CallTimeout, DefaultCallTimeout)
	setDefault(&o.LeaseTTL, DefaultLeaseTTL)
	setDefault(&o.Parallel, DefaultParallel)
	o.LeaseTTL = max(o.LeaseTTL, minLeaseTTL)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	l, err := openLedger(ctx, o.JS, o.Stream, o.Sink.Name(), o.Replicas, o.LeaseTTL)
	if err != nil {
		return nil, err
	}
	s := &Stage{
		o: o, sink: o.Sink, name: o.Sink.Name(), ledger: l,
		log:      o.Logger.With("sink", o.Sink.Name()),
		keys:     map[string]*keyQueue{},
		inflight: map[string]bool{},
	}
	s.finder, _ = o.Sink.(Finder)
	s.res, _ = o.Sink.(Resolver)
	o.Metrics.forStage(s.name)
	return s, nil
}

// minLeaseTTL is the shortest lease: the server keeps key TTLs in whole seconds.
const minLeaseTTL = 3 * time.Second

// leaseMargin is kept between cutting a call short and the end of the lease it was made
// under: for a request already on its way to reach the destination and be taken, and
// for clock-rate differences. A destination that takes longer than that to act on a
// request it received could act after another process took the events over.
func leaseMargin(ttl time.Duration) time.Duration {
	return min(2*time.Second, ttl/3)
}

func (s *Stage) margin() time.Duration { return leaseMargin(s.ledger.ttl) }

// Run serves Deliver until ctx ends, then waits for the sends in flight, which end with
// ctx, and returns nil.
func (s *Stage) Run(ctx context.Context) error {
	wait, err := s.start(ctx)
	if err != nil {
		return err
	}
	<-ctx.Done()
	wait()
	return nil
}

// start serves Deliver with workers that run until ctx ends. wait, called once ctx has
// ended, stops serving and waits for the workers.
func (s *Stage) start(ctx context.Context) (wait func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil {
		return nil, errors.New("notify: stage is already running")
	}
	s.run = ctx
	s.wg.Go(func() { s.heartbeat(ctx) })
	return func() {
		s.mu.Lock()
		s.run = nil
		s.mu.Unlock()
		s.wg.Wait()
	}, nil
}

// ErrNotTaken reports a notification the sink takes no message for: one it has no key
// for, or a completion that follows no failure the sink told.
var ErrNotTaken = errors.New("notify: the sink takes no such notification")

// heartbeat renews this process's lease every third of its TTL while ctx lasts, so that
// other processes know the events it claimed are still on their way, and take them over
// within a lease of its death.
func (s *Stage) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.ledger.ttl / 3)
	defer t.Stop()
	for {
		if _, _, err := s.ledger.lease(ctx, s.ledger.ttl*2/3); err != nil && ctx.Err() == nil {
			s.log.Debug("cannot renew the lease", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// errNotRunning reports a Deliver outside Run.
var errNotRunning = errors.New("notify: the delivery stage is not running")

// item is one notification waiting for its key's worker.
type item struct {
	n *Notification
	// id names the delivery in the ledger: the event's id, or, for a notification sent
	// to several keys, the event's id and the key.
	id string
	// done receives the notification's outcome, exactly once, from the round that took it.
	done chan error
	// taken is set, under keyQueue.mu, when a round takes the item from the queue.
	taken bool
	// rev is the item's ledger revision during a round.
	rev uint64
	// resume is the batch a crash cut short, to be continued from its next message.
	resume *record
	// topic is what the notification opens, closes or acts on (see incidents.go).
	topic topic
	// recorded is set when the delivery wrote the topic's incident.
	recorded atomic.Bool
}

// Deliver sends n to its destination key (or keys, for a sink that is a Fanout), alone
// if the key is idle, or with the notifications that queued while the key was paced. It
// returns nil once the destination has it, or the ledger or the destination shows it had
// it already; ErrNotTaken when the sink takes no message for it; otherwise a classified
// error. When
// ctx ends first, it returns ctx's error, unless a send that carries n is under way: then
// it waits for its outcome.
func (s *Stage) Deliver(ctx context.Context, n *Notification) error {
	id := n.ID()
	if n.Replay != "" {
		id = "replay-" + hashKey("", n.Replay)[:16] + "-" + id
	}
	if !s.begin(id) {
		// JetStream redelivered an event this process still holds (its acknowledgement
		// deadline passed while NATS was unreachable). The copy being delivered settles it.
		return Defer(fmt.Errorf("event %s is already being delivered by this process", id), "in_flight", s.ledger.ttl)
	}
	defer s.end(id)
	keys := s.keysOf(n)
	if len(keys) == 0 {
		return ErrNotTaken
	}
	// A notification that opens an incident marks its topic while it is delivered, so
	// that a success following it waits for it instead of finding nothing to resolve.
	topic := topicOf(n)
	var marked bool
	if topic.role == roleOpens && topic.name != "" {
		marked = s.ledger.markOpening(ctx, topic.name, id, n)
	}
	items := make([]*item, 0, len(keys))
	queues := make([]*keyQueue, 0, len(keys))
	for _, key := range keys {
		// A notification for several keys is a delivery to each, recorded apart.
		it := &item{n: n, id: id, done: make(chan error, 1), topic: topic}
		if len(keys) > 1 {
			it.id = id + "~" + hashKey("", key)[:12]
		}
		q, err := s.enqueue(key, it)
		if err != nil {
			return err
		}
		items, queues = append(items, it), append(queues, q)
	}
	var errs []error
	for i, it := range items {
		if err := s.await(ctx, queues[i], it); err != nil {
			errs = append(errs, err)
		}
	}
	err := worst(errs)
	if marked && !slices.ContainsFunc(items, func(it *item) bool { return it.recorded.Load() }) &&
		(err == nil || errors.Is(err, ErrNotTaken) || Classify(err).Permanent) {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		s.ledger.unmarkOpening(uctx, topic.name, id)
		cancel()
	}
	return err
}

// keysOf returns the keys n goes to; none when the sink takes no such notification.
func (s *Stage) keysOf(n *Notification) []string {
	if f, ok := s.sink.(Fanout); ok {
		return slices.DeleteFunc(slices.Compact(f.Keys(n)), func(k string) bool { return k == "" })
	}
	if k := s.sink.Key(n); k != "" {
		return []string{k}
	}
	return nil
}

// await waits for it's outcome, or takes it back when ctx ends before a round took it.
func (s *Stage) await(ctx context.Context, q *keyQueue, it *item) error {
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		if !q.withdraw(it) {
			// A round is sending it: its outcome follows shortly.
			return <-it.done
		}
		s.o.Metrics.queued(s.name, -1)
		return ctx.Err()
	}
}

// worst is the outcome of a notification sent to several keys: delivered when every key
// has it; else retried when any key may still take it (the keys that have it are
// settled in the ledger), and permanent only when every failure is.
func worst(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	errs = slices.DeleteFunc(errs, func(err error) bool { return errors.Is(err, ErrNotTaken) })
	if len(errs) == 0 {
		return ErrNotTaken
	}
	for _, err := range errs {
		if c := Classify(err); !c.Permanent {
			return err
		}
	}
	return errs[0]
}

func (s *Stage) begin(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[id] {
		return false
	}
	s.inflight[id] = true
	return true
}

func (s *Stage) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
}

// enqueue queues it for key and starts the key's worker when it has none.
func (s *Stage) enqueue(key string, it *item) (*keyQueue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == nil {
		return nil, errNotRunning
	}
	q, ok := s.keys[key]
	if !ok {
		q = &keyQueue{key: key, rate: s.sink.Rate(key), paceKey: paceKey(key), log: s.log.With("key", key)}
		if s.res == nil {
			q.name = key
		}
		if q.concurrent() {
			q.sem = make(chan struct{}, s.o.Parallel)
		}
		s.keys[key] = q
	}
	if q.push(it) {
		ctx := s.run
		s.wg.Go(func() { s.work(ctx, q) })
	}
	s.o.Metrics.queued(s.name, 1)
	return q, nil
}

// work sends rounds for q while notifications keep queueing.
func (s *Stage) work(ctx context.Context, q *keyQueue) {
	for {
		err := s.waitLocal(ctx, q)
		items := q.take(err == nil)
		s.o.Metrics.queued(s.name, -len(items))
		if err != nil {
			for _, it := range items {
				it.done <- err
			}
			return
		}
		if len(items) == 0 {
			return
		}
		s.round(ctx, q, items)
	}
}

// keyQueue is the queue of one destination key, and what the Stage knows about the key.
type keyQueue struct {
	key     string
	rate    Rate
	paceKey string
	log     *slog.Logger
	// sem bounds the messages in flight to a key that takes several at once.
	sem chan struct{}

	mu        sync.Mutex
	items     []*item
	working   bool
	notBefore time.Time // pacing and any Retry-After window
	name      string    // the destination's name for the key, once known
	refusing  bool      // the last halving ran out: see halving

	// resolveAfter is when the destination may be asked again for the key's name;
	// resolveWarned keeps its warning to once per process.
	resolveAfter  time.Time
	resolveWarned bool
}

// push queues it and reports whether the key needs a worker.
func (q *keyQueue) push(it *item) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, it)
	start := !q.working
	q.working = true
	return start
}

// take returns what queued and marks it taken; with nothing queued, or when the worker
// is stopping (!ok), the key is left without a worker.
func (q *keyQueue) take(ok bool) []*item {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	for _, it := range items {
		it.taken = true
	}
	if len(items) == 0 || !ok {
		q.working = false
	}
	return items
}

// withdraw takes it out of the queue unless a round took it already.
func (q *keyQueue) withdraw(it *item) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if it.taken {
		return false
	}
	q.items = slices.DeleteFunc(q.items, func(x *item) bool { return x == it })
	return true
}

// holdOff keeps the key quiet for d from now, unless it already is for longer.
func (q *keyQueue) holdOff(d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := time.Now().Add(d); t.After(q.notBefore) {
		q.notBefore = t
	}
}

// ref is how the ledger names the key: the destination's name where known.
func (q *keyQueue) ref() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.name != "" {
		return q.name
	}
	return q.key
}

// waitLocal waits until this process may send to q.
func (s *Stage) waitLocal(ctx context.Context, q *keyQueue) error {
	for {
		q.mu.Lock()
		d := time.Until(q.notBefore)
		q.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := s.wait(ctx, d); err != nil {
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
func (s *Stage) wait(ctx context.Context, d time.Duration) error {
	ttl := s.ledger.ttl
	for d > 0 {
		step := min(d, ttl/3)
		if err := sleep(ctx, step); err != nil {
			return err
		}
		d -= step
		if _, _, err := s.ledger.lease(ctx, ttl*2/3); err != nil {
			s.log.Debug("cannot renew the lease while waiting", "error", err)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Running reports whether Run is serving Deliver.
func (s *Stage) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.run != nil
}
