package status

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Replayer delivers a notification once more through a destination's delivery stage,
// under a replay's name (notify.Stage.Replay). In the process that runs the notifiers it
// is their Dispatchers; in an operator's command, stages of its own on the same ledgers.
type Replayer interface {
	// Sinks names the destinations it can replay to.
	Sinks() []string
	// Replay returns nil once sink's destination has n, notify.ErrNotTaken when the sink
	// takes no such notification, else a classified error.
	Replay(ctx context.Context, sink string, n *notify.Notification, replayID string) error
}

// Outcomes of a replay, per notification.
const (
	ReplaySent     = "sent"
	ReplayAlready  = "already sent"   // replayed under this name before: not sent again
	ReplayNotTaken = "not taken"      // the destination takes no such notification
	ReplayFailed   = "failed"         // the destination refused it, or could not be reached
	ReplayRefused  = "not replayable" // a dead letter that holds no readable event
	ReplayUnknown  = "no such dead letter"
)

// replayParallel bounds the replays under way at once; those to one destination key
// wait together and go out grouped, as deliveries do.
const replayParallel = 64

// ReplayOutcome is what became of one dead letter's replay.
type ReplayOutcome struct {
	ID      string `json:"id"`
	Sink    string `json:"sink,omitempty"`
	EventID string `json:"eventId,omitempty"`
	Result  string `json:"result"`
	Error   string `json:"error,omitempty"`
}

// ReplayDeadLetters replays the dead letters named ids (or every one, with all) to the
// destination that gave up on each, once each: a dead letter replayed before is not sent
// again. progress, when set, is called after each, never concurrently.
func (r *Reader) ReplayDeadLetters(ctx context.Context, ids []string, all bool, rp Replayer, progress func(done, total int)) ([]ReplayOutcome, error) {
	if err := r.idx.refresh(ctx, r.now()); err != nil {
		return nil, err
	}
	var dls []*DeadLetter
	var out []ReplayOutcome
	if all {
		_, dls, _, _ = r.idx.snapshot()
		slices.Reverse(dls) // oldest first, as they happened
	}
	for _, id := range ids {
		if dl := r.idx.deadLetter(id); dl != nil {
			dls = append(dls, dl)
		} else {
			out = append(out, ReplayOutcome{ID: id, Result: ReplayUnknown})
		}
	}
	results := make([]ReplayOutcome, len(dls))
	tick := counter(progress, len(dls))
	inParallel(dls, replayParallel, func(i int, dl *DeadLetter) {
		results[i] = r.replayDeadLetter(ctx, dl, rp)
		tick()
	})
	return append(out, results...), ctx.Err()
}

func (r *Reader) replayDeadLetter(ctx context.Context, dl *DeadLetter, rp Replayer) ReplayOutcome {
	o := ReplayOutcome{ID: dl.ID, Sink: dl.Sink, EventID: dl.EventID}
	if !dl.Replayable {
		o.Result = ReplayRefused
		return o
	}
	if !slices.Contains(rp.Sinks(), dl.Sink) {
		o.Result, o.Error = ReplayFailed, fmt.Sprintf("no %s destination here: the process replaying must deliver to it", dl.Sink)
		return o
	}
	n, err := notify.DecodeNotification(dl.Event)
	if err != nil {
		o.Result, o.Error = ReplayRefused, err.Error()
		return o
	}
	n.Seq = dl.StreamSequence
	return r.replayOne(ctx, rp, dl.Sink, n, DeadLetterReplayName(dl.ID), o)
}

// replayOne replays n to sink under name, unless the ledger shows it replayed already.
func (r *Reader) replayOne(ctx context.Context, rp Replayer, sink string, n *notify.Notification, name string, o ReplayOutcome) ReplayOutcome {
	if l, err := r.ledger(ctx, sink); err == nil {
		if d, err := r.delivery(ctx, l, sink, n.ID(), name); err == nil && d != nil && d.State == notify.DeliveryPosted {
			o.Result = ReplayAlready
			return o
		}
	}
	switch err := rp.Replay(ctx, sink, n, name); {
	case err == nil:
		o.Result = ReplaySent
	case errors.Is(err, notify.ErrNotTaken):
		o.Result = ReplayNotTaken
	default:
		o.Result, o.Error = ReplayFailed, err.Error()
	}
	return o
}

// counter returns a function that counts one more done and tells progress, one call at
// a time, so that progress needs no locking of its own.
func counter(progress func(done, total int), total int) func() {
	var mu sync.Mutex
	done := 0
	return func() {
		mu.Lock()
		defer mu.Unlock()
		done++
		if progress != nil {
			progress(done, total)
		}
	}
}

// PeriodReplay asks for the failures of a period to be announced again to one
// destination, after it was misconfigured or down.
type PeriodReplay struct {
	// Since starts the period, which ends now.
	Since time.Time `json:"since"`
	// To names the destination (a sink: slack, webhook, console…).
	To string `json:"to"`
	// Name names the replay in the ledger: the same name again sends only what the first
	// run did not (an interrupted replay resumed). Required unless DryRun.
	Name string `json:"name"`
	// DryRun lists what would be sent and sends nothing.
	DryRun bool `json:"dryRun"`
}

// PeriodResult is what a period's replay did, or would do.
type PeriodResult struct {
	Name   string    `json:"name,omitempty"`
	To     string    `json:"to"`
	Since  time.Time `json:"since"`
	DryRun bool      `json:"dryRun"`
	// Failures are the failures of the period, oldest first.
	Failures []Failure `json:"failures"`
	// Counts by outcome (ReplaySent…), and the first errors.
	Counts map[string]int `json:"counts"`
	Errors []string       `json:"errors,omitempty"`
}

// maxReplayErrors is how many distinct errors a PeriodResult keeps.
const maxReplayErrors = 10

// ReplayPeriod announces again to p.To every failure the stream holds since p.Since, in
// the statuses to notify, through p.To's delivery stage (grouped, paced and recorded
// like any delivery, under p.Name). progress, when set, is called after each failure,
// never concurrently.
func (r *Reader) ReplayPeriod(ctx context.Context, p PeriodReplay, rp Replayer, progress func(done, total int)) (*PeriodResult, error) {
	switch {
	case p.Since.IsZero() || p.Since.After(r.now()):
		return nil, errors.New("status: a replay needs a start in the past")
	case !slices.Contains(rp.Sinks(), p.To):
		return nil, fmt.Errorf("status: no destination %q here (there are: %v)", p.To, rp.Sinks())
	case p.Name == "" && !p.DryRun:
		return nil, errors.New("status: a replay needs a name")
	}
	ns, fails, err := r.period(ctx, p.Since)
	if err != nil {
		return nil, err
	}
	res := &PeriodResult{Name: p.Name, To: p.To, Since: p.Since.UTC(), DryRun: p.DryRun, Failures: fails, Counts: map[string]int{}}
	if p.DryRun {
		return res, nil
	}
	outcomes := make([]ReplayOutcome, len(ns))
	tick := counter(progress, len(ns))
	inParallel(ns, replayParallel, func(i int, n *notify.Notification) {
		outcomes[i] = r.replayOne(ctx, rp, p.To, n, p.Name, ReplayOutcome{EventID: n.ID()})
		tick()
	})
	for _, o := range outcomes {
		res.Counts[o.Result]++
		if o.Error != "" && len(res.Errors) < maxReplayErrors && !slices.Contains(res.Errors, o.Error) {
			res.Errors = append(res.Errors, o.Error)
		}
	}
	return res, ctx.Err()
}

// period reads the failures the stream holds since since, oldest first.
func (r *Reader) period(ctx context.Context, since time.Time) ([]*notify.Notification, []Failure, error) {
	filters := make([]string, 0, len(r.o.Statuses))
	for _, s := range r.o.Statuses {
		filters = append(filters, events.ResultFilter(r.o.Prefix, s))
	}
	var ns []*notify.Notification
	fails := []Failure{}
	_, err := scan(ctx, r.o.JS, r.o.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since,
	}, func(msg jetstream.Msg) error {
		meta, err := msg.Metadata()
		if err != nil {
			return nil
		}
		n, err := notify.DecodeNotification(msg.Data())
		e, ok := newEntry(msg.Data(), meta.Sequence.Stream, r.o.AdminCenterURL)
		if err != nil || !ok || n.Event == nil {
			return nil // the notifiers dead-letter what they cannot read
		}
		n.Seq = meta.Sequence.Stream
		ns, fails = append(ns, n), append(fails, e.f)
		return nil
	})
	return ns, fails, err
}
