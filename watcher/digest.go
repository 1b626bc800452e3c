package watcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/digest"
)

// The digest (LCW_DIGEST): when a period of the schedule ends, the replica holding the
// polling lease reads the period's figures from Graph and publishes one
// events.DigestEvent, whose id is derived from the period, then records the period's end
// in the state bucket (digest). Once per period across restarts and replicas: the
// lease lets one replica build it, the id lets the stream store it once should two (or
// one before and after a crash) publish it, and the record tells the next period from
// the one already sent.
//
// A watcher that was down when a period ended sends it when it comes back, as long as
// it is still the latest period: of several periods missed, only the latest is sent (a
// week-old daily report is news to no one; `lcwnotify digest --since` reads any span).
// On the first start with a schedule (or after LCW_DIGEST or LCW_DIGEST_TZ changed),
// the period that just ended is recorded as sent: the first digest is the next period's.

// Defaults of the digest.
const (
	// DefaultDigestPatience is how long a digest some of whose figures Graph does not
	// answer is retried before it is published marked partial.
	DefaultDigestPatience = time.Hour
	// digestRetryMin and digestRetryMax bound the wait between attempts.
	digestRetryMin, digestRetryMax = time.Minute, 10 * time.Minute
)

// digestGraph is what the digest needs of Options.Graph: the summaries, and the root
// that is its events' source.
type digestGraph interface {
	digest.Graph
	Root() string
}

// digestRecord is the digest entry: the schedule and the end of the last period sent.
type digestRecord struct {
	Schedule string `json:"schedule"`
	TimeZone string `json:"timeZone"`
	// LastEnd is the end of the last period whose digest was published, or, for the
	// first period of a schedule, of the period that had just ended: not sent.
	LastEnd time.Time `json:"lastEnd"`
	// LastID is the id of the digest published for LastEnd; empty for the first.
	LastID string `json:"lastId,omitempty"`

	rev uint64
}

// digester builds and sends the digests of one watcher.
type digester struct {
	sched    *digest.Schedule
	builder  *digest.Builder
	source   string
	patience time.Duration

	mu    sync.Mutex // one attempt at a time
	try   digestTry
	first bool // the first attempt since start: says when the next digest is due
}

// digestTry is the state of the attempts at one period's digest.
type digestTry struct {
	end      time.Time // the period's end
	first    time.Time // the first attempt
	next     time.Time // no attempt before
	attempts int
}

// DigestOutcome is what one check of the schedule did.
type DigestOutcome string

// The outcomes of a check.
const (
	DigestNotDue    DigestOutcome = "not due"   // the latest period was sent
	DigestFirst     DigestOutcome = "first"     // a new schedule: the period that just ended is recorded, not sent
	DigestWaiting   DigestOutcome = "waiting"   // an attempt failed; the next one is not due yet
	DigestRetry     DigestOutcome = "retry"     // this attempt failed or was partial; retried later
	DigestPublished DigestOutcome = "published" // published whole
	DigestPartial   DigestOutcome = "partial"   // published marked partial, patience exhausted
	DigestDuplicate DigestOutcome = "duplicate" // the stream already held it (a replica or a crash got there first)
)

func newDigester(o Options, g digestGraph) (*digester, error) {
	b, err := digest.New(digest.Options{Graph: g, Workflows: o.Workflows, Logger: o.Logger.With("component", "digest")})
	if err != nil {
		return nil, err
	}
	patience := o.DigestPatience
	if patience == 0 {
		patience = DefaultDigestPatience
	}
	return &digester{sched: o.Digest, builder: b, source: g.Root() + lcwSource, patience: patience, first: true}, nil
}

// lcwSource is the path of Lifecycle Workflows under a Graph root: a digest's source.
const lcwSource = "/identityGovernance/lifecycleWorkflows"

// runDigests checks the schedule every interval while this replica holds the lease,
// until ctx ends.
func (w *Watcher) runDigests(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !w.lease.held() {
			continue
		}
		if _, err := w.CheckDigest(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("digest not sent yet: retried", "err", err)
		}
	}
}

// CheckDigest sends the digest of the latest period of the schedule if it is due and
// was not sent, whether or not this replica holds the lease (Run checks only while it
// does). It does nothing without Options.Digest.
func (w *Watcher) CheckDigest(ctx context.Context) (DigestOutcome, error) {
	d := w.digest
	if d == nil {
		return DigestNotDue, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := w.now()
	p := d.sched.Latest(now)
	log := w.log.With("period_start", p.Start, "period_end", p.End)
	rec, err := w.readDigest(ctx)
	if err != nil {
		return DigestWaiting, err
	}
	if rec.Schedule != p.Schedule || rec.TimeZone != p.TimeZone {
		next := &digestRecord{Schedule: p.Schedule, TimeZone: p.TimeZone, LastEnd: p.End, rev: rec.rev}
		if err := w.writeDigest(ctx, next); err != nil {
			return DigestWaiting, err
		}
		log.Info("digests on: the first one is sent when the next period ends",
			"schedule", p.Schedule, "time_zone", p.TimeZone, "first_at", d.sched.Next(now))
		return DigestFirst, nil
	}
	if !p.End.After(rec.LastEnd) {
		if d.first {
			d.first = false
			log.Debug("digest of the latest period already sent", "next_at", d.sched.Next(now))
		}
		return DigestNotDue, nil
	}
	if d.try.end != p.End {
		d.try = digestTry{end: p.End, first: now}
		if missed := d.sched.Latest(p.Start); missed.End.After(rec.LastEnd) {
			w.metrics.addDigest("skipped")
			log.Warn("periods ended while no watcher ran: sending the digest of the latest only",
				"last_sent_end", rec.LastEnd)
		}
	}
	if now.Before(d.try.next) {
		return DigestWaiting, nil
	}
	data, err := d.builder.Build(ctx, p)
	if err == nil {
		data.Period = p
	}
	if err != nil || data.Partial && now.Sub(d.try.first) < d.patience {
		d.try.attempts++
		d.try.next = now.Add(min(digestRetryMin<<min(d.try.attempts-1, 10), digestRetryMax))
		w.metrics.addDigest("failed")
		if err == nil {
			err = errors.New("some figures could not be read from Graph: " + missingOf(data))
		}
		return DigestRetry, fmt.Errorf("digest of %s to %s: %w (next attempt at %s)", p.Start, p.End, err, d.try.next.Format(time.RFC3339))
	}
	return w.publishDigest(ctx, log, rec, p, data)
}

// publishDigest publishes the digest of p and records it sent.
func (w *Watcher) publishDigest(ctx context.Context, log *slog.Logger, rec *digestRecord, p events.Period, data events.DigestData) (DigestOutcome, error) {
	d := w.digest
	ev, err := events.NewDigestEvent(d.source, w.now(), data)
	if err != nil {
		return DigestWaiting, fmt.Errorf("digest of %s to %s: %w", p.Start, p.End, err)
	}
	wctx := context.WithoutCancel(ctx)
	pctx, cancel := context.WithTimeout(wctx, w.pubTimeout)
	a := w.pub.PublishMessage(pctx, ev.ID, ev)
	cancel()
	if a.Err != nil {
		return DigestWaiting, fmt.Errorf("%w: %w", errNATS, a.Err)
	}
	if w.afterPublish != nil {
		if err := w.afterPublish(digestKey); err != nil {
			return DigestWaiting, err
		}
	}
	next := &digestRecord{Schedule: p.Schedule, TimeZone: p.TimeZone, LastEnd: p.End, LastID: ev.ID, rev: rec.rev}
	if err := w.writeDigest(wctx, next); err != nil {
		return DigestWaiting, err
	}
	d.try = digestTry{}
	outcome := DigestPublished
	switch {
	case a.Duplicate:
		outcome = DigestDuplicate
	case data.Partial:
		outcome = DigestPartial
		log.Warn("digest published marked partial: Graph did not answer everything within the patience",
			"missing", missingOf(data), "patience", d.patience)
	}
	w.metrics.addDigest(string(outcome))
	log.Info("digest published", "id", ev.ID, "outcome", string(outcome), "workflows", len(data.Workflows))
	return outcome, nil
}

// missingOf lists what a partial digest lacks.
func missingOf(data events.DigestData) string {
	var s string
	for _, wf := range data.Workflows {
		if wf.Missing != "" {
			if s != "" {
				s += "; "
			}
			s += wf.Workflow.ID + ": " + wf.Missing
		}
	}
	return s
}

// readDigest returns the digest entry; an absent or unreadable one is the zero record
// (with the revision to overwrite).
func (w *Watcher) readDigest(ctx context.Context) (*digestRecord, error) {
	e, err := w.state.kv.Get(ctx, digestKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		return &digestRecord{}, nil
	case err != nil:
		return nil, fmt.Errorf("%w: read the digest entry: %w", errNATS, err)
	}
	rec := &digestRecord{}
	if err := json.Unmarshal(e.Value(), rec); err != nil {
		w.log.Warn("unreadable digest entry: starting the schedule over", "err", err)
		rec = &digestRecord{}
	}
	rec.rev = e.Revision()
	return rec, nil
}

// writeDigest records rec with compare-and-set. When another watcher recorded the same
// period or a later one first, there is nothing left to do.
func (w *Watcher) writeDigest(ctx context.Context, rec *digestRecord) error {
	_, err := w.state.put(ctx, digestKey, rec, rec.rev)
	if err == nil || !errors.Is(err, errConflict) {
		return err
	}
	stored, rerr := w.readDigest(ctx)
	if rerr == nil && stored.Schedule == rec.Schedule && stored.TimeZone == rec.TimeZone && !stored.LastEnd.Before(rec.LastEnd) {
		return nil
	}
	return err
}
