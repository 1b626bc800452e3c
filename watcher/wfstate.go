package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/digest"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// The state of a workflow — in quarantine or not, enabled or not — comes with the
// workflow list every poll reads. A change is announced as an events.WorkflowEvent the
// way a result's is: published, then recorded (ws.<workflow>) with compare-and-set, with
// an id derived from the workflow, the change and its episode, so that a crash in
// between, a restart or a second watcher stores it once.

// wfRecord is what the watcher remembers of a workflow's state.
type wfRecord struct {
	WorkflowID string `json:"workflowId"`
	// Enabled is isEnabled as last recorded; nil until Graph sent a usable one.
	Enabled *bool `json:"enabled,omitempty"`
	// Quarantine is the quarantine state last recorded; nil until Graph sent a usable
	// quarantineDetails.
	Quarantine *quarantineRecord `json:"quarantine,omitempty"`
	// Seen is when this state was recorded.
	Seen time.Time `json:"seen"`

	rev uint64
}

// quarantineRecord is a workflow's quarantine, as last recorded.
type quarantineRecord struct {
	// Type is quarantineType as received: notQuarantined, or why it is quarantined
	// (any other value, those Graph adds later included).
	Type string `json:"type"`
	// Episode, while quarantined, is the episode of the quarantined event: the released
	// event that ends it carries the same.
	Episode string `json:"episode,omitempty"`
}

func (q *quarantineRecord) active() bool { return q != nil && q.Type != graph.QuarantineNone }

// wfChange is one change of a workflow's state to announce.
type wfChange struct {
	change, episode string
}

// episodeTime writes a Graph time as episodes carry it; "" for none.
func episodeTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// undatedPrefix starts the episode of a quarantine Graph gave no quarantinedDateTime.
const undatedPrefix = "modified "

// datedEpisode reports whether episode is a quarantinedDateTime.
func datedEpisode(episode string) bool { return !strings.HasPrefix(episode, undatedPrefix) }

// quarantineEpisode names the quarantine wf is in: its quarantinedDateTime, or, when
// Graph gives none, its lastModifiedDateTime, so that a crash between publishing and
// recording still gives the same id.
func quarantineEpisode(wf graph.Workflow) string {
	if e := episodeTime(wf.QuarantineDetails.QuarantinedDateTime); e != "" {
		return e
	}
	return undatedPrefix + episodeTime(wf.LastModifiedDateTime)
}

// diffState compares the recorded state of a workflow (nil: never recorded) with what
// Graph says now, and returns the record to write (nil: nothing changed) and the
// changes to announce, in the order they happened as far as one read can tell. A state
// Graph sent unusable (a quarantineDetails without a type, an isEnabled that is not a
// boolean) keeps what was recorded and announces nothing; the first usable one is
// announced like a first sighting: a workflow already quarantined or disabled is, once,
// since nobody may know it is stopped.
func diffState(rec *wfRecord, wf graph.Workflow, now time.Time) (*wfRecord, []wfChange) {
	next := &wfRecord{WorkflowID: wf.ID, Seen: now}
	if rec != nil {
		next.Enabled, next.Quarantine, next.rev = rec.Enabled, rec.Quarantine, rec.rev
	}
	var changes []wfChange
	if q := wf.QuarantineDetails; q != nil {
		was := next.Quarantine
		now := &quarantineRecord{Type: q.QuarantineType}
		dated := q.QuarantinedDateTime != nil
		if now.active() {
			now.Episode = quarantineEpisode(wf)
			if was.active() && (!dated || !datedEpisode(was.Episode)) {
				// The same quarantine for all one can tell: keep its episode, so that
				// its release names the event that announced it.
				now.Episode = was.Episode
			}
		}
		switch {
		case was.active() && (!now.active() || now.Episode != was.Episode):
			// Left quarantine; with another episode, it was released and quarantined
			// again between two polls.
			changes = append(changes, wfChange{events.ChangeReleased, was.Episode})
			if now.active() {
				changes = append(changes, wfChange{events.ChangeQuarantined, now.Episode})
			}
		case now.active() && !was.active():
			changes = append(changes, wfChange{events.ChangeQuarantined, now.Episode})
		}
		next.Quarantine = now
	}
	if wf.IsEnabledKnown {
		was := next.Enabled
		enabled := wf.IsEnabled
		episode := episodeTime(wf.LastModifiedDateTime)
		switch {
		case !enabled && (was == nil || *was):
			changes = append(changes, wfChange{events.ChangeDisabled, episode})
		case enabled && was != nil && !*was:
			changes = append(changes, wfChange{events.ChangeEnabled, episode})
		}
		next.Enabled = &enabled
	}
	if sameState(rec, next) {
		return nil, nil
	}
	return next, changes
}

// sameState reports whether writing next would record nothing new.
func sameState(rec, next *wfRecord) bool {
	if rec == nil {
		return next.Enabled == nil && next.Quarantine == nil
	}
	eq := func(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	qeq := func(a, b *quarantineRecord) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return eq(rec.Enabled, next.Enabled) && qeq(rec.Quarantine, next.Quarantine)
}

// checkStates announces and records the changes of state of the workflows read from
// Graph in this poll (fresh): every change is published before its record is written.
// A workflow whose events or record could not be written is retried at the next poll;
// the error names it.
func (w *Watcher) checkStates(ctx context.Context, wfs []graph.Workflow, fresh map[string]bool, now time.Time) (published, duplicates int, err error) {
	var errs []error
	for _, wf := range wfs {
		if !fresh[wf.ID] {
			continue
		}
		f := w.state.flow(wf.ID)
		log := w.log.With("workflow", wf.ID)
		if wf.QuarantineDetails == nil {
			w.warnUnknownState(log, wf.ID)
		}
		next, changes := diffState(f.wstate, wf, now)
		if next == nil {
			continue
		}
		p, d, err := w.announceState(ctx, log, wf, f, next, changes, now)
		published, duplicates = published+p, duplicates+d
		if err != nil {
			errs = append(errs, fmt.Errorf("workflow %s: state: %w", wf.ID, err))
		}
	}
	return published, duplicates, errors.Join(errs...)
}

// warnUnknownState says once per process per workflow that Graph gave no usable
// quarantineDetails: the last state recorded stands, and no change is announced.
func (w *Watcher) warnUnknownState(log *slog.Logger, id string) {
	w.stateWarnMu.Lock()
	defer w.stateWarnMu.Unlock()
	if w.stateWarned[id] {
		log.Debug("no usable quarantineDetails: keeping the last state recorded")
		return
	}
	w.stateWarned[id] = true
	log.Warn("Graph gave no usable quarantineDetails for a workflow: keeping the last state recorded, " +
		"announcing no change until it does (warned once)")
}

// announceState publishes the events of changes and then records next. When another
// watcher recorded the state first, its record is adopted if it says the same.
func (w *Watcher) announceState(ctx context.Context, log *slog.Logger, wf graph.Workflow, f *flow, next *wfRecord,
	changes []wfChange, now time.Time) (published, duplicates int, err error) {
	wctx := context.WithoutCancel(ctx)
	for _, c := range changes {
		ev, err := events.NewWorkflowEvent(w.graph.WorkflowURL(wf.ID), now, c.episode, events.WorkflowData{
			TenantID: w.tenant,
			Workflow: events.Workflow{ID: wf.ID, DisplayName: wf.DisplayName, Category: wf.Category, Version: wf.Version},
			Change:   c.change,
			State:    digest.StateOf(wf),
		})
		if err != nil {
			// Not expected: StateOf repairs what Graph sent malformed.
			return published, duplicates, fmt.Errorf("build the %s event: %w", c.change, err)
		}
		pctx, cancel := context.WithTimeout(wctx, w.pubTimeout)
		a := w.pub.PublishMessage(pctx, ev.ID, ev)
		cancel()
		if a.Err != nil {
			w.metrics.addFailure(reason(ctx, a.Err, "nats"))
			return published, duplicates, fmt.Errorf("%w: %w", errNATS, a.Err)
		}
		if a.Duplicate {
			duplicates++
			w.metrics.addDuplicate()
		} else {
			published++
			w.metrics.addWorkflowEvent(c.change)
		}
		log.Info("workflow state changed", "change", c.change, "episode", c.episode, "duplicate", a.Duplicate)
	}
	if w.afterPublish != nil && len(changes) > 0 {
		if err := w.afterPublish(wf.ID); err != nil {
			return published, duplicates, err
		}
	}
	if err := w.state.saveWFState(wctx, f, next); err != nil {
		return published, duplicates, err
	}
	return published, duplicates, nil
}
