package watcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/digest"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// Graph is what the watcher reads from Microsoft Graph; *graph.Client implements it.
// Implementations must be safe for concurrent use, keep enum values as received, and
// return errors matching graph.ErrNotFound and graph.ErrForbidden for 404 and 403.
type Graph interface {
	ListWorkflows(ctx context.Context) ([]graph.Workflow, error)
	GetWorkflow(ctx context.Context, id string) (graph.Workflow, error)
	ListRuns(ctx context.Context, workflowID string, q graph.Query) ([]graph.Run, error)
	ListResults(ctx context.Context, workflowID string, q graph.Query) ([]graph.UserProcessingResult, error)
	ListRunResults(ctx context.Context, workflowID, runID string, q graph.Query) ([]graph.UserProcessingResult, error)
	// GetResult reads one result, through its run when runID is not empty.
	GetResult(ctx context.Context, workflowID, runID, resultID string) (graph.UserProcessingResult, error)
	// ListTaskResults lists a result's task results with their task expanded.
	ListTaskResults(ctx context.Context, workflowID, runID, resultID string) ([]graph.TaskProcessingResult, error)
	// LookupUser returns User{ID: id} alone when the user may not be read or is gone.
	LookupUser(ctx context.Context, id string) (graph.User, error)
	TenantID(ctx context.Context) (string, error)
	// WorkflowURL is the Graph URL of a workflow, the source of its events.
	WorkflowURL(workflowID string) string
}

var _ Graph = (*graph.Client)(nil)

// Defaults of Options.
const (
	DefaultPollInterval   = time.Minute
	DefaultOverlap        = 10 * time.Minute
	DefaultConcurrency    = 4
	DefaultPublishTimeout = 30 * time.Second
)

// DefaultNotifyStatuses are the statuses whose events carry task results and the user.
var DefaultNotifyStatuses = []string{events.StatusFailed, events.StatusCompletedWithErrors}

// Options configure a Watcher. Graph and JS are required.
type Options struct {
	// Graph reads the reports; *graph.Client satisfies it.
	Graph Graph
	// JS reaches the stream and the state bucket.
	JS jetstream.JetStream
	// Stream and Prefix are LCW_STREAM and LCW_SUBJECT_PREFIX.
	Stream, Prefix string
	// Replicas of the stream and of the state bucket: 1 for the embedded server, 3 on a
	// cluster. Default 1.
	Replicas int
	// Workflows are the ids to watch (LCW_WORKFLOWS); empty watches every workflow.
	Workflows []string
	// PollInterval is the time between polls (LCW_POLL_INTERVAL). Default 1m.
	PollInterval time.Duration
	// ActiveInterval is the time between polls of a workflow in which something can
	// change soon (LCW_POLL_ACTIVE_INTERVAL): a run or result not final, a scheduled run
	// due, an activation lcwnotify made. Default DefaultActiveInterval, or PollInterval
	// when that is shorter; equal to PollInterval, every workflow is polled at
	// PollInterval alone.
	ActiveInterval time.Duration
	// Lookback applies on the very first start only (LCW_LOOKBACK): results that reached a
	// final status longer ago are recorded as history, not announced.
	Lookback time.Duration
	// Overlap is how far each poll reaches back behind the watermark (LCW_POLL_OVERLAP):
	// it absorbs clock skew and results that show up in Graph's reports after their
	// timestamps. Default 10m.
	Overlap time.Duration
	// NotifyStatuses are LCW_NOTIFY_STATUSES: events of results entering them carry the
	// task results and the user. Default failed, completedWithErrors.
	NotifyStatuses []string
	// Instance names this replica in the lease and the logs; it must differ between
	// replicas. Default: host name, process id and a random suffix.
	Instance string
	// Logger receives the watcher's logs. Default: discard.
	Logger *slog.Logger
	// Metrics from NewMetrics; nil records nothing.
	Metrics *Metrics
	// Clock is the time the watcher runs on; nil is the system clock. Tests and
	// benchmarks give a simulated one (see Clock).
	Clock Clock

	// Concurrency is how many workflows are polled at once. Default 4.
	Concurrency int
	// LeaseTTL is how long a standby waits for a silent leader before taking over.
	// Default three poll intervals.
	LeaseTTL time.Duration
	// PublishTimeout bounds the wait for the stream's acknowledgements of one batch of
	// events; when it runs out (NATS unreachable) the poll fails and is retried. Default 30s.
	PublishTimeout time.Duration

	// Digest, when set (LCW_DIGEST in LCW_DIGEST_TZ), makes the replica holding the
	// polling lease publish a digest of the watched workflows at the end of each of its
	// periods. Graph must then also read the summaries: *graph.Client does.
	Digest *digest.Schedule
	// DigestPatience is how long a digest some of whose figures Graph does not answer
	// is retried, with backoff, before it is published marked partial. Default 1h.
	DigestPatience time.Duration
}

// Watcher polls Graph and publishes status changes. Create it with New.
type Watcher struct {
	graph       Graph
	js          jetstream.JetStream
	pub         *events.Publisher
	state       *state
	lease       *lease
	catalogue   *catalogue
	log         *slog.Logger
	metrics     *Metrics
	interval    time.Duration
	sched       *scheduler
	clock       Clock
	stream      string
	prefix      string
	lookback    time.Duration
	overlap     time.Duration
	notify      map[string]bool
	concurrency int
	pubTimeout  time.Duration
	now         func() time.Time
	digest      *digester // nil without Options.Digest

	// afterPublish, when set by a test, runs after a batch of events is stored and before
	// it is recorded; an error stops the poll there, as a crash would.
	afterPublish func(workflowID string) error

	stateWarnMu sync.Mutex
	stateWarned map[string]bool // workflows warned about an unusable quarantineDetails

	pollMu      sync.Mutex // one poll at a time
	tenant      string     // learned at the first poll
	lastSuccess atomic.Int64

	cancelMu   sync.Mutex
	cancelPoll context.CancelFunc // the poll in flight under Run, cancelled when the lease is lost
}

// New checks o, makes sure the stream (events.EnsureStream) and the state bucket exist,
// and returns a Watcher. It reads nothing from Graph.
func New(ctx context.Context, o Options) (*Watcher, error) {
	if o.Graph == nil || o.JS == nil {
		return nil, errors.New("watcher: Graph and JS are required")
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Overlap == 0 {
		o.Overlap = DefaultOverlap
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PublishTimeout == 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 3 * o.PollInterval
	}
	if o.ActiveInterval == 0 {
		o.ActiveInterval = min(DefaultActiveInterval, o.PollInterval)
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	switch {
	case o.PollInterval < 0, o.ActiveInterval < 0, o.Overlap < 0, o.Lookback < 0, o.LeaseTTL < 0, o.PublishTimeout < 0, o.Concurrency < 0:
		return nil, errors.New("watcher: negative interval, overlap, lookback, lease TTL, timeout or concurrency")
	case o.DigestPatience < 0:
		return nil, errors.New("watcher: negative digest patience")
	case o.LeaseTTL < o.PollInterval:
		return nil, fmt.Errorf("watcher: lease TTL %v is shorter than the poll interval %v", o.LeaseTTL, o.PollInterval)
	case o.ActiveInterval > o.PollInterval:
		return nil, fmt.Errorf("watcher: active interval %v is longer than the poll interval %v", o.ActiveInterval, o.PollInterval)
	}
	if o.NotifyStatuses == nil {
		o.NotifyStatuses = DefaultNotifyStatuses
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Instance == "" {
		o.Instance = defaultInstance()
	}
	for _, id := range o.Workflows {
		if id == "" {
			return nil, errors.New("watcher: empty workflow id")
		}
	}
	var dg *digester
	if o.Digest != nil {
		g, ok := o.Graph.(digestGraph)
		if !ok {
			return nil, errors.New("watcher: a digest needs a Graph that reads the summaries (digest.Graph) and has a Root")
		}
		var err error
		if dg, err = newDigester(o, g); err != nil {
			return nil, fmt.Errorf("watcher: %w", err)
		}
	}
	if _, err := events.EnsureStream(ctx, o.JS, events.StreamOptions{Name: o.Stream, Prefix: o.Prefix, Replicas: o.Replicas}); err != nil {
		return nil, fmt.Errorf("watcher: %w", err)
	}
	kv, err := ensureBucket(ctx, o.JS, o.Stream, o.Replicas)
	if err != nil {
		return nil, fmt.Errorf("watcher: %w", err)
	}
	log := o.Logger.With("instance", o.Instance)
	notify := make(map[string]bool, len(o.NotifyStatuses))
	for _, s := range o.NotifyStatuses {
		notify[s] = true
	}
	st := newState(kv, log)
	ls := newLease(kv, o.Instance, o.LeaseTTL, log)
	ls.now = o.Clock.Now
	return &Watcher{
		graph:       o.Graph,
		js:          o.JS,
		pub:         events.NewPublisher(o.JS, o.Stream, o.Prefix),
		state:       st,
		lease:       ls,
		catalogue:   newCatalogue(o.Graph, o.Workflows),
		log:         log,
		metrics:     o.Metrics,
		interval:    o.PollInterval,
		sched:       newScheduler(o.PollInterval, o.ActiveInterval, st, log, o.Metrics),
		clock:       o.Clock,
		stream:      o.Stream,
		prefix:      o.Prefix,
		lookback:    o.Lookback,
		overlap:     o.Overlap,
		notify:      notify,
		concurrency: o.Concurrency,
		pubTimeout:  o.PublishTimeout,
		now:         o.Clock.Now,
		digest:      dg,
		stateWarned: map[string]bool{},
	}, nil
}

func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "lcwnotify"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// LastSuccess returns when the last poll in which every workflow succeeded ended, or the
// zero time before the first. A standby replica does not poll: see Leader.
func (w *Watcher) LastSuccess() time.Time {
	n := w.lastSuccess.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// GraphAccess returns nil unless Microsoft Graph refuses the watcher what it cannot
// poll without (a missing permission or consent, a token it will not accept even
// fresh); the error then says what Graph answered and which permission to grant, for
// /readyz. It asks the Graph, when it reports access as *graph.Client does (Access).
func (w *Watcher) GraphAccess() error {
	if a, ok := w.graph.(interface{ Access() error }); ok {
		return a.Access()
	}
	return nil
}

// Leader reports whether this replica holds the polling lease.
func (w *Watcher) Leader() bool { return w.lease.held() }

// Run polls while this replica holds the lease, and stands by while another does,
// until ctx ends; then it lets the poll in flight record what it has published, releases
// the lease and returns nil. Every PollInterval it polls every workflow (a full poll);
// in between, every ActiveInterval, the workflows the schedule holds active (see
// Schedule). A failed poll is logged and retried at the next tick: Run never returns
// because of one.
func (w *Watcher) Run(ctx context.Context) error {
	lead := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() { w.keepLease(ctx, lead) })
	if w.digest != nil {
		// Checked at least every minute: a digest goes out within a minute of its time.
		wg.Go(func() { w.runDigests(ctx, min(w.interval, time.Minute)) })
	}
	if w.sched.active < w.interval {
		wg.Go(func() { w.watchActivations(ctx) })
	}
	defer func() {
		wg.Wait()
		w.sched.setNextFull(time.Time{})
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.lease.release(rctx); err != nil {
			w.log.Warn("could not release the polling lease: a standby takes over when it expires", "err", err)
		}
		w.metrics.setLeader(false)
	}()
	full := newPace(w.now(), w.interval)
	leadNow := false
	for {
		now := w.now()
		var due []graph.Workflow
		var next time.Time
		if w.lease.held() {
			w.sched.setNextFull(full.next)
			due, next = w.sched.plan(now)
		} else {
			w.sched.setNextFull(time.Time{})
		}
		kind := "poll"
		var poll func(context.Context) (PollStats, error)
		switch {
		case leadNow || full.due(now):
			leadNow = false
			full.skip(now)
			poll = w.Poll
		case len(due) > 0:
			kind = "active poll"
			poll = func(ctx context.Context) (PollStats, error) { return w.pollActive(ctx, due) }
		default:
			until := full.next
			if !next.IsZero() && next.Before(until) {
				until = next
			}
			// One timer per wait: a simulated clock tells a blocked Run by it.
			t := w.clock.NewTimer(until.Sub(now))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C():
			case <-lead:
				t.Stop()
				leadNow = true
			case <-w.sched.wake:
				t.Stop()
			}
			continue
		}
		stats, polled, err := w.pollWhileLeading(ctx, poll)
		if !polled {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.log.Error(kind+" failed: the workflows that failed advanced nothing and are retried at the next poll",
				"err", err, "failed_workflows", stats.FailedWorkflows, "workflows", stats.Workflows, "graph_requests", stats.GraphRequests)
			continue
		}
		w.log.Debug(kind+" done", "workflows", stats.Workflows, "observed", stats.Observed,
			"published", stats.Published, "duplicates", stats.Duplicates, "tracked", stats.Tracked,
			"graph_requests", stats.GraphRequests, "graph_throttled", stats.GraphThrottled, "duration", stats.Duration)
	}
}

// pollWhileLeading runs poll once if this replica holds the lease, under a context that
// keepLease cancels when the lease is lost.
func (w *Watcher) pollWhileLeading(ctx context.Context, poll func(context.Context) (PollStats, error)) (stats PollStats, polled bool, err error) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.cancelMu.Lock()
	w.cancelPoll = cancel
	w.cancelMu.Unlock()
	defer func() {
		w.cancelMu.Lock()
		w.cancelPoll = nil
		w.cancelMu.Unlock()
	}()
	// Asked only now: keepLease marks the lease lost before it looks for a poll to
	// cancel, so a loss it records from here on finds this one. Asked before
	// registering, a loss in between would let a whole poll run without the lease.
	if !w.lease.held() {
		return PollStats{}, false, nil
	}
	stats, err = poll(pctx)
	return stats, true, err
}

// keepLease takes and renews the lease every third of its TTL until ctx ends, signalling
// lead when this replica becomes the leader and abandoning the poll in flight when it
// stops being it.
func (w *Watcher) keepLease(ctx context.Context, lead chan<- struct{}) {
	renew := newPace(w.now(), w.lease.ttl/3)
	wasHeld := false
	for {
		held, acquired, err := w.lease.acquire(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("cannot renew the polling lease", "err", err, "held", held)
		}
		w.metrics.setLeader(held)
		if acquired {
			// Another replica may have written since this one last polled.
			w.state.invalidate()
			w.log.Info("holding the polling lease: polling")
			select {
			case lead <- struct{}{}:
			default:
			}
		}
		if wasHeld && !held {
			w.log.Warn("lost the polling lease: standing by")
			w.cancelMu.Lock()
			if w.cancelPoll != nil {
				w.cancelPoll()
			}
			w.cancelMu.Unlock()
		}
		wasHeld = held
		renew.skip(w.now())
		t := w.clock.NewTimer(renew.next.Sub(w.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}
