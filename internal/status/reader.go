package status

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/watcher"
)

// DefaultWindow is how far back a report lists failures.
const DefaultWindow = 7 * 24 * time.Hour

// readParallel bounds the ledger reads of one report.
const readParallel = 16

// Options configure a Reader.
type Options struct {
	JS jetstream.JetStream
	// Stream and Prefix are LCW_STREAM and LCW_SUBJECT_PREFIX; Statuses
	// LCW_NOTIFY_STATUSES, the statuses whose results are listed as failures.
	Stream, Prefix string
	Statuses       []string
	// PollInterval is LCW_POLL_INTERVAL, to say when the next poll is due.
	PollInterval time.Duration
	// Window defaults to DefaultWindow.
	Window time.Duration
	// AdminCenterURL is LCW_ADMIN_CENTER_URL, for the workflows' links.
	AdminCenterURL string
	// Links, when set, gives the web address of a message at its destination.
	Links Linker
}

// Linker gives the web address of a message a destination took (a Slack permalink).
type Linker interface {
	// Link returns the address of message id at key of sink, "" when it has none. It
	// must not block for long: a page waits for it.
	Link(ctx context.Context, sink, key, id string) string
}

// WatcherSource is what a Reader asks the watcher of its own process; *watcher.Watcher
// implements it.
type WatcherSource interface {
	Leader() bool
	LastSuccess() time.Time
	GraphAccess() error
	// Schedule is the poll schedule of each workflow (adaptive polling): when it is
	// polled next, and why.
	Schedule() []watcher.WorkflowSchedule
}

// HealthSource is a destination of the Reader's own process; *notify.Dispatcher
// implements it.
type HealthSource interface {
	Name() string
	Health() notify.Health
}

// Throttle reports Graph's throttling in the Reader's own process: the time waited and
// the throttled answers over the window it returns.
type Throttle func(now time.Time) (waited time.Duration, answers int, window time.Duration)

// Reader gathers reports. It keeps what it read of the stream, so that each report reads
// only what is new. It is safe for concurrent use.
type Reader struct {
	o   Options
	idx *index
	now func() time.Time

	mu       sync.Mutex
	watcher  WatcherSource
	throttle Throttle
	health   []HealthSource
	ledgers  map[string]*notify.LedgerReader
	posted   map[string]*notify.Delivery // settled deliveries, by sink and event
}

// NewReader returns a Reader; it reads nothing until asked.
func NewReader(o Options) (*Reader, error) {
	switch {
	case o.JS == nil:
		return nil, errors.New("status: a reader needs a JetStream context")
	case len(o.Statuses) == 0:
		return nil, errors.New("status: no statuses to list failures of")
	}
	if err := events.ValidateStreamName(o.Stream); err != nil {
		return nil, err
	}
	if err := events.ValidatePrefix(o.Prefix); err != nil {
		return nil, err
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.PollInterval <= 0 {
		o.PollInterval = watcher.DefaultPollInterval
	}
	return &Reader{
		o: o, now: time.Now,
		idx:     newIndex(o.JS, o.Stream, o.Prefix, o.Statuses, o.Window, o.AdminCenterURL),
		ledgers: map[string]*notify.LedgerReader{},
		posted:  map[string]*notify.Delivery{},
	}, nil
}

// SetWatcher tells the Reader of its process's watcher and Graph throttling; either may
// be nil.
func (r *Reader) SetWatcher(w WatcherSource, t Throttle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watcher, r.throttle = w, t
}

// AddDestination tells the Reader of a destination its process delivers to.
func (r *Reader) AddDestination(h HealthSource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.health = append(r.health, h)
}

// Report gathers the report, with the failures f selects. What cannot be read is named
// in Report.Problems; Report fails only when ctx ends.
func (r *Reader) Report(ctx context.Context, f Filter) (*Report, error) {
	f = f.normalized()
	now := r.now()
	rep := &Report{Generated: now.UTC(), Stream: r.o.Stream}
	if err := r.idx.refresh(ctx, now); err != nil {
		rep.problem("the stream", err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	fails, dls, alerts, names := r.idx.snapshot()
	rep.Workflows = orEmpty(alerts)
	rep.Watcher = r.watching(ctx, now, names, rep)
	sinks := r.destinations(ctx, rep, dls)

	byEvent := map[string]*DeadLetter{}
	for _, dl := range dls {
		if dl.EventID != "" {
			byEvent[dl.Sink+"\x00"+dl.EventID] = dl
		}
	}
	rep.Failures = r.failures(ctx, f, fails, sinks, byEvent, rep)
	rep.DeadLetters = r.deadLetters(ctx, dls, rep)
	return rep, ctx.Err()
}

func (rep *Report) problem(what string, err error) {
	rep.Problems = append(rep.Problems, fmt.Sprintf("cannot read %s: %v", what, err))
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// watching reads the watchers' state from their bucket and from this process's watcher.
func (r *Reader) watching(ctx context.Context, now time.Time, names map[string]string, rep *Report) Watching {
	interval := r.o.PollInterval
	w := Watching{PollInterval: Duration(interval), Workflows: []WorkflowPoll{},
		NextPollFrom: "the start of the workflow's last successful poll plus LCW_POLL_INTERVAL, at the latest " +
			"(sooner while it is active: the process that polls has its schedule)"}
	st, err := watcher.ReadState(ctx, r.o.JS, r.o.Stream)
	if err != nil {
		rep.problem("the watcher's state", err)
	}
	w.Holder, w.Renewed = st.Holder, st.Renewed
	// The lease outlives its last renewal by three poll intervals, unless configured
	// otherwise: an estimate, across two clocks, for people.
	w.Live = st.Holder != "" && now.Sub(st.Renewed) < 3*interval
	r.mu.Lock()
	lw, throttle := r.watcher, r.throttle
	r.mu.Unlock()
	planned := map[string]watcher.WorkflowSchedule{}
	if lw != nil {
		l := &LocalWatcher{Leader: lw.Leader(), LastSuccess: lw.LastSuccess()}
		if l.Leader {
			for _, s := range lw.Schedule() {
				planned[s.WorkflowID] = s
				if !s.NextPoll.IsZero() && (l.NextPoll.IsZero() || s.NextPoll.Before(l.NextPoll)) {
					l.NextPoll = s.NextPoll
				}
			}
			if len(planned) > 0 {
				w.NextPollFrom = "this process's poll schedule"
			}
		}
		if err := lw.GraphAccess(); err != nil {
			l.GraphRefusal = err.Error()
		}
		if throttle != nil {
			waited, answers, window := throttle(now)
			l.Throttled, l.ThrottledAnswers, l.ThrottleWindow = Duration(waited), answers, Duration(window)
		}
		w.Local = l
	}
	for _, wf := range st.Workflows {
		p := WorkflowPoll{ID: wf.ID, Name: names[wf.ID], LastPoll: wf.LastPoll}
		if s, ok := planned[wf.ID]; ok {
			p.Mode, p.Reason, p.NextPoll, p.NextScheduledRun = string(s.Mode), s.Reason, s.NextPoll, s.NextScheduledRun
			if p.Name == "" {
				p.Name = s.DisplayName
			}
			if s.LastPoll.After(p.LastPoll) {
				p.LastPoll = s.LastPoll // an active poll, which moves no watermark
			}
		} else if w.Live && !wf.LastPoll.IsZero() {
			p.NextPoll = wf.LastPoll.Add(interval)
		}
		if w.Live && !p.LastPoll.IsZero() {
			p.Overdue = now.Sub(p.LastPoll) > 3*interval
		}
		w.Workflows = append(w.Workflows, p)
	}
	return w
}

// destinations lists the sinks with a consumer on the stream, and those of this
// process, with their backlog and health; it returns their names.
func (r *Reader) destinations(ctx context.Context, rep *Report, dls []*DeadLetter) []string {
	byName := map[string]*Destination{}
	add := func(name string) *Destination {
		if d := byName[name]; d != nil {
			return d
		}
		d := &Destination{Sink: name}
		byName[name] = d
		return d
	}
	prefix := notify.ConsumerName(r.o.Stream, "")
	if str, err := r.o.JS.Stream(ctx, r.o.Stream); err != nil {
		rep.problem("the stream's consumers", err)
	} else {
		infos := str.ListConsumers(ctx)
		for info := range infos.Info() {
			name, ok := strings.CutPrefix(info.Name, prefix)
			if !ok || name == "" || events.Token(name) != name {
				continue
			}
			add(name).Backlog = info.NumPending + uint64(info.NumAckPending)
		}
		if err := infos.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
			rep.problem("the stream's consumers", err)
		}
	}
	r.mu.Lock()
	local := slices.Clone(r.health)
	r.mu.Unlock()
	now := r.now()
	for _, h := range local {
		hh := h.Health()
		l := &LocalHealth{LastSuccess: hh.LastSuccess, LastError: hh.LastError, LastErrorAt: hh.LastErrorAt, Queued: hh.Queued}
		for _, k := range hh.Keys {
			if k.HeldUntil.After(now) || k.Queued > 0 {
				l.Held = append(l.Held, HeldKey{Key: k.Key, Queued: k.Queued, Until: k.HeldUntil})
			}
		}
		add(h.Name()).Local = l
	}
	for _, dl := range dls {
		add(dl.Sink).DeadLetters++
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rep.Destinations = append(rep.Destinations, *byName[name])
	}
	rep.Destinations = orEmpty(rep.Destinations)
	return names
}

// failures filters the window's failures and settles the state of those it lists.
func (r *Reader) failures(ctx context.Context, f Filter, all []*entry, sinks []string, dls map[string]*DeadLetter, rep *Report) Failures {
	out := Failures{Window: Duration(r.o.Window), Filter: f, Items: []Failure{}, Options: optionsOf(all)}
	stateless := f
	stateless.State = ""
	var cands []*entry
	for _, e := range all {
		if stateless.matches(&e.f) {
			cands = append(cands, e)
		}
	}
	if f.State == "" {
		// Only the listed ones need their state.
		out.Matching = len(cands)
		cands = cands[:min(len(cands), f.Limit)]
	}
	var once sync.Once
	inParallel(cands, readParallel, func(_ int, e *entry) {
		if err := r.settle(ctx, e, sinks, dls); err != nil {
			once.Do(func() { rep.problem("the destinations' ledgers", err) })
		}
	})
	for _, e := range cands {
		if f.State != "" && e.f.State != f.State {
			continue
		}
		if f.State != "" {
			out.Matching++
		}
		if len(out.Items) < f.Limit {
			out.Items = append(out.Items, e.f)
		}
	}
	return out
}

func optionsOf(all []*entry) FilterOptions {
	var o FilterOptions
	seen := map[string]bool{}
	for _, e := range all {
		wf := e.f.Workflow
		if !seen["w"+wf.ID] {
			seen["w"+wf.ID] = true
			o.Workflows = append(o.Workflows, WorkflowOption{ID: wf.ID, Name: wf.DisplayName})
		}
		if c := strings.ToLower(wf.Category); c != "" && !seen["c"+c] {
			seen["c"+c] = true
			o.Categories = append(o.Categories, c)
		}
		if s := e.f.Status; s != "" && !seen["s"+s] {
			seen["s"+s] = true
			o.Statuses = append(o.Statuses, s)
		}
	}
	slices.SortFunc(o.Workflows, func(a, b WorkflowOption) int {
		return strings.Compare(strings.ToLower(a.Name+a.ID), strings.ToLower(b.Name+b.ID))
	})
	slices.Sort(o.Categories)
	slices.Sort(o.Statuses)
	return o
}

// inParallel runs fn for every item, parallel at a time, and returns when all are done.
func inParallel[T any](items []T, parallel int, fn func(i int, it T)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i, it)
		})
	}
	wg.Wait()
}

// settle fills e's deliveries and state from every sink's ledger.
func (r *Reader) settle(ctx context.Context, e *entry, sinks []string, dls map[string]*DeadLetter) error {
	var firstErr error
	e.f.Deliveries = make([]Delivery, 0, len(sinks))
	best := len(States) - 1
	for _, sink := range sinks {
		d := Delivery{Sink: sink, State: StateWaiting}
		dl := dls[sink+"\x00"+e.f.EventID]
		if dl != nil {
			d.State = StateDeadLettered
		}
		l, err := r.ledger(ctx, sink)
		if err != nil {
			if !errors.Is(err, notify.ErrNoLedger) && firstErr == nil {
				firstErr = err
			}
			e.f.Deliveries = append(e.f.Deliveries, d)
			best = min(best, slices.Index(States, d.State))
			continue
		}
		rec, err := r.delivery(ctx, l, sink, e.f.EventID, "")
		if err == nil && rec == nil && dl != nil {
			// A dead letter replayed is told under the replay's name.
			rec, err = r.delivery(ctx, l, sink, e.f.EventID, DeadLetterReplayName(dl.ID))
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if rec != nil {
			d.Key, d.MessageID, d.At = rec.Key, rec.MessageID, rec.At
			d.State = StateSending
			if rec.State == notify.DeliveryPosted {
				d.State = StateNotified
				if r.o.Links != nil && rec.MessageID != "" {
					d.Link = r.o.Links.Link(ctx, sink, rec.Key, rec.MessageID)
				}
			}
		}
		if d.State == StateNotified {
			inc, err := l.Incident(ctx, e.f.Workflow.ID, e.subjectID)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if inc != nil && (inc.Opened == e.f.EventID || inc.EventID == e.f.EventID) {
				d.Grouped = inc.Grouped
				switch {
				case inc.State == notify.IncidentResolved:
					d.State = StateResolved
				case inc.Action != nil && (inc.Action.Kind == events.ActionRequested || inc.Action.Kind == events.ActionAccepted):
					d.State = StateRerun
				}
				if inc.Action != nil && (e.f.Action == nil || inc.Action.At.After(e.f.Action.At)) {
					e.f.Action = inc.Action
				}
			}
		}
		e.f.Deliveries = append(e.f.Deliveries, d)
		best = min(best, slices.Index(States, d.State))
	}
	e.f.State = States[best]
	return firstErr
}

// ledger returns sink's ledger reader, opening it the first time it exists.
func (r *Reader) ledger(ctx context.Context, sink string) (*notify.LedgerReader, error) {
	r.mu.Lock()
	l := r.ledgers[sink]
	r.mu.Unlock()
	if l != nil {
		return l, nil
	}
	l, err := notify.OpenLedgerReader(ctx, r.o.JS, r.o.Stream, sink)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.ledgers[sink] = l
	r.mu.Unlock()
	return l, nil
}

// maxPosted bounds the settled deliveries a Reader remembers.
const maxPosted = 100_000

// delivery reads an event's delivery (or that of its replay named replay), from memory
// once it is settled: a posted entry never changes.
func (r *Reader) delivery(ctx context.Context, l *notify.LedgerReader, sink, eventID, replay string) (*notify.Delivery, error) {
	key := sink + "\x00" + replay + "\x00" + eventID
	r.mu.Lock()
	d := r.posted[key]
	r.mu.Unlock()
	if d != nil {
		return d, nil
	}
	var err error
	if replay == "" {
		d, err = l.Delivery(ctx, eventID)
	} else {
		d, err = l.Replayed(ctx, replay, eventID)
	}
	if err != nil || d == nil || d.State != notify.DeliveryPosted {
		return d, err
	}
	r.mu.Lock()
	if len(r.posted) >= maxPosted {
		clear(r.posted)
	}
	r.posted[key] = d
	r.mu.Unlock()
	return d, nil
}

// maxDeadLetters is how many dead letters a report lists, the newest.
const maxDeadLetters = 500

// deadLetters lists the newest dead letters with what became of their replays.
func (r *Reader) deadLetters(ctx context.Context, dls []*DeadLetter, rep *Report) []DeadLetter {
	dls = dls[:min(len(dls), maxDeadLetters)]
	var once sync.Once
	inParallel(dls, readParallel, func(_ int, dl *DeadLetter) {
		if !dl.Replayable || dl.EventID == "" {
			return
		}
		l, err := r.ledger(ctx, dl.Sink)
		if err == nil {
			dl.Replayed, err = r.delivery(ctx, l, dl.Sink, dl.EventID, DeadLetterReplayName(dl.ID))
		}
		if err != nil && !errors.Is(err, notify.ErrNoLedger) {
			once.Do(func() { rep.problem("the dead letters' replays", err) })
		}
	})
	out := make([]DeadLetter, len(dls))
	for i, dl := range dls {
		out[i] = *dl
	}
	return out
}

// DeadLetterReplayName is the name a dead letter's replay is recorded under: replaying
// it again sends nothing more.
func DeadLetterReplayName(id string) string { return "dlq/" + id }
