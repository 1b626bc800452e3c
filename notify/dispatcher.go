package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// Dispatcher defaults.
const (
	// DefaultMaxDeliver attempts ride out an outage of about three days: the backoff
	// reaches DefaultMaxBackoff after ten attempts, and 1000 attempts five minutes apart
	// span 83 hours.
	DefaultMaxDeliver = 1000
	// DefaultMaxInFlight bounds the events one process holds at once. It is high because
	// events waiting behind a Slack channel's pacing are in flight, and the more of them
	// wait together, the fewer messages carry them.
	DefaultMaxInFlight = 1000
	// DefaultAckWait is how long JetStream waits for an acknowledgement before it
	// redelivers; the Dispatcher signals progress three times within it. It bounds,
	// with DefaultLeaseTTL, how long the events a crashed process held wait for another.
	DefaultAckWait = 6 * time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the delay before a retry.
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultShutdownGrace is how long Run lets deliveries in flight finish after its
	// context ends.
	DefaultShutdownGrace = 10 * time.Second
)

// pendingInterval is how often the consumer's backlog is read for the pending gauge.
const pendingInterval = 5 * time.Second

// DispatcherOptions configure a Dispatcher.
type DispatcherOptions struct {
	JS jetstream.JetStream
	// Stream, Prefix and Replicas describe the events stream (LCW_STREAM,
	// LCW_SUBJECT_PREFIX); NewDispatcher ensures it exists.
	Stream, Prefix string
	Replicas       int
	// Statuses are the processing statuses to notify about (LCW_NOTIFY_STATUSES).
	Statuses []string
	Sink     Sink
	// LeaseTTL, CallTimeout and MaxPerMessage configure the delivery stage (see
	// StageOptions); zero means its defaults.
	LeaseTTL      time.Duration
	CallTimeout   time.Duration
	MaxPerMessage int
	// MaxDeliver is the number of attempts after which an event that keeps failing
	// retryably is dead-lettered. Zero means DefaultMaxDeliver.
	MaxDeliver int
	// MaxInFlight bounds the events this process delivers at once. Zero means
	// DefaultMaxInFlight.
	MaxInFlight int
	// AckWait, MinBackoff, MaxBackoff and ShutdownGrace default to the constants above
	// when zero.
	AckWait       time.Duration
	MinBackoff    time.Duration
	MaxBackoff    time.Duration
	ShutdownGrace time.Duration
	// Delivered, when set, is called after each delivery, from the goroutine that made
	// it (the demo counts what reached each destination). A redelivered event that the
	// destination had already counts again, and so does one the sink takes no message
	// for (a completion that follows no failure).
	Delivered func(n *Notification)
	// Logger defaults to slog.Default(); Metrics may be nil.
	Logger  *slog.Logger
	Metrics *Metrics
}

// Dispatcher feeds one sink's delivery Stage from its durable JetStream consumer and
// settles every message according to the outcome: Ack, NakWithDelay, or Term with a dead
// letter. Several processes may run Dispatchers on the same consumer; JetStream hands
// each event to one of them at a time.
type Dispatcher struct {
	o        DispatcherOptions
	stage    *Stage
	sink     string
	cfg      jetstream.ConsumerConfig
	log      *slog.Logger
	consumer atomic.Pointer[jetstream.Consumer]
	running  atomic.Bool
	fetching atomic.Bool
}

// ConsumerName returns the durable consumer of sink on stream: <stream>-<sink>.
func ConsumerName(stream, sink string) string {
	return stream + "-" + sink
}

// NewDispatcher validates o, ensures the stream exists, and creates the sink's durable
// consumer <stream>-<sink> or brings it to o (its filter follows o.Statuses), so that
// every replica can call it at start.
func NewDispatcher(ctx context.Context, o DispatcherOptions) (*Dispatcher, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	d := &Dispatcher{o: o, sink: o.Sink.Name(), log: o.Logger.With("sink", o.Sink.Name())}
	if d.sink == "" {
		return nil, errors.New("notify: the sink has no name")
	}
	if _, err := events.EnsureStream(ctx, o.JS, events.StreamOptions{Name: o.Stream, Prefix: o.Prefix, Replicas: o.Replicas}); err != nil {
		return nil, err
	}
	d.cfg = d.consumerConfig()
	if err := d.ensureConsumer(ctx); err != nil {
		return nil, err
	}
	stage, err := NewStage(ctx, StageOptions{
		JS: o.JS, Stream: o.Stream, Replicas: o.Replicas, Sink: o.Sink,
		LeaseTTL: o.LeaseTTL, CallTimeout: o.CallTimeout, MaxPerMessage: o.MaxPerMessage,
		Logger: o.Logger, Metrics: o.Metrics,
	})
	if err != nil {
		return nil, err
	}
	d.stage = stage
	o.Metrics.forSink(d.sink)
	return d, nil
}

func (o *DispatcherOptions) normalize() error {
	switch {
	case o.JS == nil:
		return errors.New("notify: dispatcher needs a JetStream context")
	case o.Sink == nil:
		return errors.New("notify: dispatcher needs a sink")
	case events.Token(o.Sink.Name()) != o.Sink.Name():
		return fmt.Errorf("notify: sink name %q: use letters, digits, '-' or '_'", o.Sink.Name())
	case o.MaxDeliver < 0 || o.MaxInFlight < 0 || o.MaxPerMessage < 0:
		return errors.New("notify: MaxDeliver, MaxInFlight and MaxPerMessage must not be negative")
	}
	if err := events.ValidateStreamName(o.Stream); err != nil {
		return err
	}
	if err := events.ValidatePrefix(o.Prefix); err != nil {
		return err
	}
	var statuses []string
	for _, s := range o.Statuses {
		if s == "" {
			return errors.New("notify: empty status in the statuses to notify about")
		}
		if !slices.Contains(statuses, s) {
			statuses = append(statuses, s)
		}
	}
	if len(statuses) == 0 {
		return errors.New("notify: no statuses to notify about")
	}
	o.Statuses = statuses
	setDefault(&o.MaxDeliver, DefaultMaxDeliver)
	setDefault(&o.MaxInFlight, DefaultMaxInFlight)
	setDefault(&o.AckWait, DefaultAckWait)
	setDefault(&o.MinBackoff, DefaultMinBackoff)
	setDefault(&o.MaxBackoff, DefaultMaxBackoff)
	setDefault(&o.ShutdownGrace, DefaultShutdownGrace)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

func (d *Dispatcher) consumerConfig() jetstream.ConsumerConfig {
	filters := make([]string, 0, len(d.o.Statuses)+4)
	for _, s := range d.o.Statuses {
		filters = append(filters, events.ResultFilter(d.o.Prefix, s))
	}
	if in, ok := d.o.Sink.(Interested); ok {
		want := in.Interests()
		if want.Resolutions && !slices.Contains(d.o.Statuses, events.StatusCompleted) {
			filters = append(filters, events.ResultFilter(d.o.Prefix, events.StatusCompleted))
		}
		for _, f := range []struct {
			on     bool
			filter string
		}{
			{want.Workflows, events.AllWorkflows(d.o.Prefix)},
			{want.Actions, events.AllActions(d.o.Prefix)},
			{want.Digests, events.AllDigests(d.o.Prefix)},
		} {
			if f.on {
				filters = append(filters, f.filter)
			}
		}
	}
	name := ConsumerName(d.o.Stream, d.sink)
	return jetstream.ConsumerConfig{
		Name:        name,
		Durable:     name,
		Description: "lcwnotify: events to deliver to the " + d.sink + " sink",
		// Every event the stream holds is owed a notification, including those the
		// watcher published before this consumer existed; a destination added to a
		// running deployment starts from now instead (ensureConsumer).
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        d.o.AckWait,
		FilterSubjects: filters,
		// The Dispatcher counts attempts itself and dead-letters past MaxDeliver. A server
		// limit would stop redelivering silently when the last attempt's process died.
		MaxDeliver: -1,
		// Room for several replicas, each holding up to MaxInFlight.
		MaxAckPending: 4 * d.o.MaxInFlight,
	}
}

func (d *Dispatcher) ensureConsumer(ctx context.Context) error {
	cfg := d.cfg
	// Where a consumer starts matters only when it is created, and JetStream refuses to
	// change it later: keep the start of one that exists (an operator may have created it
	// to skip a backlog, see docs/operations.md) and bring the rest up to date.
	switch existing, err := d.o.JS.Consumer(ctx, d.o.Stream, cfg.Durable); {
	case err == nil:
		was := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = was.DeliverPolicy, was.OptStartSeq, was.OptStartTime
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return fmt.Errorf("notify: read consumer %s: %w", cfg.Durable, err)
	default:
		later, err := d.addedLater(ctx)
		if err != nil {
			return err
		}
		if later {
			// Another destination was told what the stream holds already: a destination
			// added now starts from now, rather than paging someone for a month of
			// history. `lcwnotify replay` sends a period to it on purpose.
			cfg.DeliverPolicy = jetstream.DeliverNewPolicy
			d.log.Info("a destination added to a running deployment starts from now; use `lcwnotify replay --since D --to " + d.sink + "` to send it what came before")
		}
	}
	c, err := d.o.JS.CreateOrUpdateConsumer(ctx, d.o.Stream, cfg)
	if err != nil {
		return fmt.Errorf("notify: create or update consumer %s: %w", d.cfg.Durable, err)
	}
	d.consumer.Store(&c)
	return nil
}

// addedLater reports whether another destination's consumer has delivered from the
// stream already: this destination is added to a deployment that has been telling
// others. Destinations created together at a deployment's first start have delivered
// nothing yet, and all start from the beginning.
func (d *Dispatcher) addedLater(ctx context.Context) (bool, error) {
	str, err := d.o.JS.Stream(ctx, d.o.Stream)
	if err != nil {
		return false, fmt.Errorf("notify: read stream %s: %w", d.o.Stream, err)
	}
	infos := str.ListConsumers(ctx)
	own := ConsumerName(d.o.Stream, "")
	found := false
	for info := range infos.Info() {
		if strings.HasPrefix(info.Name, own) && info.Name != d.cfg.Durable && info.Delivered.Stream > 0 {
			found = true
		}
	}
	if err := infos.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return false, fmt.Errorf("notify: list the consumers of %s: %w", d.o.Stream, err)
	}
	return found, nil
}

// Ready reports whether Run is fetching events over a live NATS connection.
func (d *Dispatcher) Ready() bool {
	return d.fetching.Load() && d.o.JS.Conn().Status() == nats.CONNECTED
}

// Run delivers events until ctx ends, then stops fetching, lets deliveries in flight
// finish for up to ShutdownGrace (after which they are cut short and their events
// returned for redelivery), and returns nil. It returns an error only when it cannot go
// on: the NATS connection was closed.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("notify: dispatcher is already running")
	}
	defer d.running.Store(false)

	// Deliveries outlive ctx by the grace period, so that a shutdown does not cut a
	// message short that Slack is about to accept.
	dctx, cancelDeliveries := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDeliveries()
	stopStage, err := d.stage.start(dctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { d.watchPending(ctx) })
	slots := make(chan struct{}, d.o.MaxInFlight)

	err = d.fetch(ctx, dctx, slots, &wg)

	grace := time.AfterFunc(d.o.ShutdownGrace, cancelDeliveries)
	wg.Wait()
	grace.Stop()
	// Every delivery has its outcome; what the stage still does (a ledger write after
	// the last send) ends with the deliveries' context.
	cancelDeliveries()
	stopStage()
	return err
}

// fetch runs message iterators until ctx ends, recreating the consumer if it vanished.
func (d *Dispatcher) fetch(ctx, dctx context.Context, slots chan struct{}, wg *sync.WaitGroup) error {
	wait := time.Second
	for {
		err := d.consume(ctx, dctx, slots, wg)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, nats.ErrConnectionClosed) || d.o.JS.Conn().IsClosed() {
			return fmt.Errorf("notify: %s consumer: %w", d.sink, err)
		}
		d.log.Warn("event consumer stopped; starting it again", "error", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
		if err := d.ensureConsumer(ctx); err != nil {
			d.log.Warn("cannot ensure the event consumer", "error", err)
		}
	}
}

// consume pulls messages from one iterator and starts a delivery for each, never more
// than MaxInFlight at once.
func (d *Dispatcher) consume(ctx, dctx context.Context, slots chan struct{}, wg *sync.WaitGroup) error {
	c := *d.consumer.Load()
	it, err := c.Messages(jetstream.PullMaxMessages(min(d.o.MaxInFlight, 256)))
	if err != nil {
		return err
	}
	d.fetching.Store(true)
	defer d.fetching.Store(false)
	defer d.returnBuffered(it)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			<-slots
			return err
		}
		wg.Go(func() {
			defer func() { <-slots }()
			d.handle(dctx, msg)
		})
	}
}

// returnBuffered stops the iterator and hands back the messages it had pulled but nobody
// took, so that another replica gets them now rather than after AckWait.
func (d *Dispatcher) returnBuffered(it jetstream.MessagesContext) {
	it.Drain()
	for {
		msg, err := it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			return
		}
		_ = msg.Nak()
	}
}

func (d *Dispatcher) watchPending(ctx context.Context) {
	every := min(pendingInterval, d.o.AckWait)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if c := d.consumer.Load(); c != nil {
			ictx, cancel := context.WithTimeout(ctx, every)
			if info, err := (*c).Info(ictx); err == nil {
				d.o.Metrics.setPending(d.sink, info.NumPending+uint64(info.NumAckPending))
			}
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
