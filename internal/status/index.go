package status

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// index is what a Reader keeps of the stream between reports: the failures of the
// window, the dead letters and the latest workflow events. Each refresh reads only what
// the stream stored since the last one.
type index struct {
	js             jetstream.JetStream
	stream, prefix string
	statuses       []string
	window         time.Duration
	adminCenter    string

	mu        sync.Mutex
	failNext  uint64 // next sequence to read for failures; 0: start at the window
	otherNext uint64 // next sequence to read for dead letters and workflow events; 0: the start
	failures  []*entry
	byID      map[string]*entry
	dls       map[string]*DeadLetter
	states    map[string]*events.WorkflowEvent // by workflow id and kind (quarantine, disabled)
	names     map[string]string                // workflow names seen, by id
}

// entry is a failure of the window.
type entry struct {
	f         Failure
	subjectID string // the user's object id: the incident's topic
}

func newIndex(js jetstream.JetStream, stream, prefix string, statuses []string, window time.Duration, adminCenter string) *index {
	return &index{
		js: js, stream: stream, prefix: prefix, statuses: statuses, window: window, adminCenter: adminCenter,
		byID: map[string]*entry{}, dls: map[string]*DeadLetter{}, states: map[string]*events.WorkflowEvent{}, names: map[string]string{},
	}
}

// refresh reads what the stream stored since the last refresh. It holds the index for
// its whole length: refreshes are never concurrent.
func (x *index) refresh(ctx context.Context, now time.Time) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	str, err := x.js.Stream(ctx, x.stream)
	if err != nil {
		return fmt.Errorf("read the stream %s: %w", x.stream, err)
	}
	last := str.CachedInfo().State.LastSeq

	filters := make([]string, 0, len(x.statuses))
	for _, s := range x.statuses {
		filters = append(filters, events.ResultFilter(x.prefix, s))
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: filters}
	if x.failNext == 0 {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, ptr(now.Add(-x.window))
	} else {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, x.failNext
	}
	if x.failNext == 0 || x.failNext <= last {
		read, err := scan(ctx, x.js, x.stream, cfg, x.addFailure)
		if err != nil {
			return err
		}
		x.failNext = max(read, last) + 1
	}

	cfg = jetstream.OrderedConsumerConfig{FilterSubjects: []string{
		x.prefix + ".dlq.>", events.AllWorkflows(x.prefix),
	}}
	if x.otherNext > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, x.otherNext
	}
	if x.otherNext <= last {
		read, err := scan(ctx, x.js, x.stream, cfg, x.addOther)
		if err != nil {
			return err
		}
		x.otherNext = max(read, last) + 1
	}
	x.prune(now)
	return nil
}

func ptr[T any](v T) *T { return &v }

// addFailure indexes one result event. Anything unreadable is passed over: the
// notifiers dead-letter it, and the dead letters show it.
func (x *index) addFailure(msg jetstream.Msg) error {
	meta, err := msg.Metadata()
	if err != nil {
		return nil
	}
	e, ok := newEntry(msg.Data(), meta.Sequence.Stream, x.adminCenter)
	if !ok || x.byID[e.f.EventID] != nil {
		return nil
	}
	x.failures = append(x.failures, e)
	x.byID[e.f.EventID] = e
	x.name(e.f.Workflow)
	return nil
}

// newEntry reads the result event b, stored at seq, as a failure; false when it is no
// readable result event.
func newEntry(b []byte, seq uint64, adminCenter string) (*entry, bool) {
	ev, err := events.Decode(b)
	if err != nil {
		return nil, false
	}
	r, err := ev.Data.Result()
	if err != nil {
		return nil, false
	}
	sum := notify.Summarize(ev, adminCenter)
	e := &entry{subjectID: r.Subject.ID, f: Failure{
		EventID: ev.ID, ResultID: sum.ResultID, RunID: sum.RunID, Workflow: sum.Workflow,
		User: sum.User, UserDetail: sum.UserDetail, UserID: notify.Clean(r.Subject.ID),
		Status: sum.Status, Failed: sum.Failed, Total: sum.Total,
		Observed: ev.Time, WorkflowURL: sum.WorkflowURL, Seq: seq,
	}}
	for _, t := range sum.FailedTasks {
		e.f.Tasks = append(e.f.Tasks, Task{Name: t.Name, Status: t.Status, Reason: t.Reason, Info: t.Info})
	}
	return e, true
}

func (x *index) name(wf events.Workflow) {
	if wf.ID != "" && wf.DisplayName != "" {
		x.names[wf.ID] = wf.DisplayName
	}
}

// addOther indexes a dead letter or a workflow event.
func (x *index) addOther(msg jetstream.Msg) error {
	if strings.HasPrefix(msg.Subject(), x.prefix+".dlq.") {
		x.addDeadLetter(msg)
		return nil
	}
	ev, err := events.DecodeWorkflowEvent(msg.Data())
	if err != nil {
		return nil
	}
	x.name(ev.Data.Workflow)
	kind := "disabled"
	if ev.Data.Change == events.ChangeQuarantined || ev.Data.Change == events.ChangeReleased {
		kind = "quarantine"
	}
	x.states[ev.Data.Workflow.ID+"\x00"+kind] = ev
	return nil
}

func (x *index) addDeadLetter(msg jetstream.Msg) {
	var rec notify.DeadLetter
	if err := json.Unmarshal(msg.Data(), &rec); err != nil || rec.Sink == "" {
		return
	}
	dl := &DeadLetter{ID: DeadLetterID(rec.Sink, rec.StreamSequence), DeadLetter: rec}
	if len(rec.Event) > 0 {
		if n, err := notify.DecodeNotification(rec.Event); err == nil {
			dl.Replayable = true
			describe(dl, n, x.adminCenter)
		}
	}
	x.dls[dl.ID] = dl
}

// describe fills what a dead letter's event was about.
func describe(dl *DeadLetter, n *notify.Notification, adminCenter string) {
	if wf := n.WorkflowOf(); wf != nil {
		w := *wf
		w.DisplayName = notify.Clean(w.DisplayName)
		dl.Workflow = &w
	}
	switch {
	case n.Event != nil:
		sum := notify.Summarize(n.Event, adminCenter)
		dl.User, dl.Status = sum.User, sum.Status
	case n.Workflow != nil:
		dl.Status = n.Workflow.Data.Change
	case n.Action != nil:
		dl.Status = "action " + n.Action.Data.Kind
		if u := n.Action.Data.Target.User; u != nil {
			dl.User = notify.Clean(u.DisplayName)
		}
	case n.Digest != nil:
		dl.Status = "digest"
	}
}

// DeadLetterID names the dead letter of the event at stream sequence seq at sink.
func DeadLetterID(sink string, seq uint64) string { return fmt.Sprintf("%s-%d", sink, seq) }

// prune forgets the failures older than the window.
func (x *index) prune(now time.Time) {
	cut := now.Add(-x.window)
	keep := x.failures[:0]
	for _, e := range x.failures {
		if e.f.Observed.Before(cut) {
			delete(x.byID, e.f.EventID)
			continue
		}
		keep = append(keep, e)
	}
	clear(x.failures[len(keep):])
	x.failures = keep
}

// snapshot copies what the index holds, newest failure first.
func (x *index) snapshot() (fails []*entry, dls []*DeadLetter, alerts []WorkflowAlert, names map[string]string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range x.failures {
		c := *e
		fails = append(fails, &c)
	}
	slices.SortFunc(fails, func(a, b *entry) int { return b.f.Observed.Compare(a.f.Observed) })
	for _, dl := range x.dls {
		c := *dl
		dls = append(dls, &c)
	}
	slices.SortFunc(dls, func(a, b *DeadLetter) int { return b.Time.Compare(a.Time) })
	for _, ev := range x.states {
		if a, ok := alertOf(ev, x.adminCenter); ok {
			alerts = append(alerts, a)
		}
	}
	slices.SortFunc(alerts, func(a, b WorkflowAlert) int { return b.Since.Compare(a.Since) })
	return fails, dls, alerts, maps.Clone(x.names)
}

// alertOf returns the alert a workflow's latest event raises: none once released or
// enabled.
func alertOf(ev *events.WorkflowEvent, adminCenter string) (WorkflowAlert, bool) {
	d := ev.Data
	if d.Change != events.ChangeQuarantined && d.Change != events.ChangeDisabled {
		return WorkflowAlert{}, false
	}
	wf := d.Workflow
	wf.DisplayName = notify.Clean(wf.DisplayName)
	a := WorkflowAlert{Workflow: wf, Change: d.Change, Since: ev.Time, URL: notify.WorkflowURL(adminCenter, wf.ID)}
	if q, err := d.State.Quarantine(); err == nil && d.Change == events.ChangeQuarantined {
		a.Reason, a.QuarantineType = notify.Clean(q.QuarantineReason), notify.Clean(q.QuarantineType)
		if q.QuarantinedDateTime != nil {
			a.Since = *q.QuarantinedDateTime
		}
	}
	return a, true
}

// deadLetter returns the dead letter named id with its event, nil when there is none.
func (x *index) deadLetter(id string) *DeadLetter {
	x.mu.Lock()
	defer x.mu.Unlock()
	if dl := x.dls[id]; dl != nil {
		c := *dl
		return &c
	}
	return nil
}
