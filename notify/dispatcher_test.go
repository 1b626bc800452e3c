package notify_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

const (
	stream  = "LCW"
	prefix  = "lcw"
	ackWait = notifytest.AckWait
)

// scriptSink answers each delivery with what script says, recording calls.
type scriptSink struct {
	script func(ctx context.Context, ev *events.Event, call int) error

	mu      sync.Mutex
	calls   map[string][]time.Time
	active  int
	maxSeen int
}

func (s *scriptSink) Name() string { return "script" }

func (s *scriptSink) Key(*notify.Notification) string { return "script" }

func (s *scriptSink) Rate(string) notify.Rate { return notify.Rate{} }

func (s *scriptSink) Render(_ string, ns []*notify.Notification, _ bool) []notify.Batch {
	out := make([]notify.Batch, len(ns))
	for i, n := range ns {
		out[i] = notify.Batch{Items: []int{i}, Messages: []notify.Message{n.Event}}
	}
	return out
}

func (s *scriptSink) Send(ctx context.Context, _ string, m notify.Message, _ notify.Part) (notify.Receipt, error) {
	return notify.Receipt{}, s.deliver(ctx, m.(*events.Event))
}

func (s *scriptSink) deliver(ctx context.Context, ev *events.Event) error {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string][]time.Time{}
	}
	s.calls[ev.ID] = append(s.calls[ev.ID], time.Now())
	call := len(s.calls[ev.ID])
	s.active++
	s.maxSeen = max(s.maxSeen, s.active)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	if s.script == nil {
		return nil
	}
	return s.script(ctx, ev, call)
}

func (s *scriptSink) callTimes(id string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls[id])
}

type world struct {
	t   *testing.T
	srv *eventstest.Server
	js  jetstream.JetStream
	reg *prometheus.Registry
	m   *notify.Metrics
}

func newWorld(t *testing.T) *world {
	t.Parallel()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	reg := prometheus.NewRegistry()
	return &world{t: t, srv: srv, js: js, reg: reg, m: notify.NewMetrics(reg)}
}

func (w *world) options(sink notify.Sink) notify.DispatcherOptions {
	o := notifytest.DispatcherOptions(w.js, stream, prefix, sink)
	o.Metrics = w.m
	return o
}

// start runs a dispatcher and returns a function that stops it and reports how long
// stopping took.
func (w *world) start(o notify.DispatcherOptions) (stop func() time.Duration) {
	w.t.Helper()
	return notifytest.RunDispatcher(w.t, o)
}

func (w *world) metric(name string, labels ...string) float64 {
	w.t.Helper()
	return notifytest.Metric(w.t, w.reg, name, labels...)
}

func (w *world) publish(evs ...*events.Event) {
	w.t.Helper()
	if err := notifytest.Publish(context.Background(), w.js, stream, prefix, evs...); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) event(id, status string) *events.Event {
	w.t.Helper()
	ev, err := notifytest.Event(notifytest.Result{ResultID: id, Status: status, UserName: "User " + id})
	if err != nil {
		w.t.Fatal(err)
	}
	return ev
}

func (w *world) consumer(name string) *jetstream.ConsumerInfo {
	w.t.Helper()
	return notifytest.ConsumerInfo(w.t, w.js, stream, name)
}

func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	notifytest.Eventually(w.t, what, cond)
}

func (w *world) drained(name string) func() bool {
	return notifytest.Drained(w.t, w.js, stream, name)
}

func (w *world) deadLetters(sink string) []notify.DeadLetter {
	w.t.Helper()
	dls, _ := notifytest.DeadLetters(w.t, w.js, stream, prefix, sink)
	return dls
}

func TestDispatcherRetriesThenDelivers(t *testing.T) {
	w := newWorld(t)
	sink := &scriptSink{script: func(_ context.Context, _ *events.Event, call int) error {
		if call < 3 {
			return notify.Retryable(&notify.StatusError{Code: 503}, 0)
		}
		return nil
	}}
	ev := w.event("upr-1", "failed")
	w.publish(ev)
	w.start(w.options(sink))
	w.eventually("delivered and acknowledged", w.drained("script"))
	if got := len(sink.callTimes(ev.ID)); got != 3 {
		t.Errorf("Deliver called %d times, want 3", got)
	}
	if got := w.metric("lcwnotify_notifications_failed_total", "sink", "script", "reason", "http_503"); got != 2 {
		t.Errorf("failed_total{http_503} = %v, want 2", got)
	}
	if got := w.metric("lcwnotify_notifications_sent_total", "sink", "script"); got != 1 {
		t.Errorf("sent_total = %v, want 1", got)
	}
	if got := testutil.CollectAndCount(w.reg, "lcwnotify_change_to_notification_seconds"); got != 1 {
		t.Errorf("latency histogram has %d series, want 1", got)
	}
}

func TestDispatcherHonoursRetryAfter(t *testing.T) {
	w := newWorld(t)
	const after = 700 * time.Millisecond
	sink := &scriptSink{script: func(_ context.Context, _ *events.Event, call int) error {
		if call == 1 {
			return notify.Retryable(&notify.StatusError{Code: 429}, after)
		}
		return nil
	}}
	ev := w.event("upr-1", "failed")
	w.publish(ev)
	w.start(w.options(sink))
	w.eventually("delivered", w.drained("script"))
	calls := sink.callTimes(ev.ID)
	if len(calls) != 2 {
		t.Fatalf("Deliver called %d times, want 2", len(calls))
	}
	if gap := calls[1].Sub(calls[0]); gap < after {
		t.Errorf("retried after %v, want at least the Retry-After of %v", gap, after)
	}
}

func TestDispatcherDeadLetters(t *testing.T) {
	tests := []struct {
		name       string
		maxDeliver int
		err        error
		wantCalls  int
		wantReason string
	}{
		{"permanent at once", 0, notify.Permanent(errors.New("slack: channel_not_found: invite the bot"), "channel_not_found"), 1, "channel_not_found"},
		{"retryable past MaxDeliver", 3, notify.Retryable(&notify.StatusError{Code: 502}, 0), 3, "http_502"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			sink := &scriptSink{script: func(context.Context, *events.Event, int) error { return tc.err }}
			ev := w.event("upr-1", "failed")
			w.publish(ev)
			o := w.options(sink)
			o.MaxDeliver = tc.maxDeliver
			w.start(o)
			w.eventually("a dead letter", func() bool { return len(w.deadLetters("script")) > 0 })
			w.eventually("settled", w.drained("script"))
			time.Sleep(ackWait * 3 / 2)
			if got := len(sink.callTimes(ev.ID)); got != tc.wantCalls {
				t.Errorf("Deliver called %d times, want %d", got, tc.wantCalls)
			}
			dls := w.deadLetters("script")
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dls))
			}
			dl := dls[0]
			if dl.Sink != "script" || dl.EventID != ev.ID || dl.Reason != tc.wantReason || dl.Attempts != uint64(tc.wantCalls) ||
				dl.Subject != "lcw.result.wf-1.failed" || dl.StreamSequence != 1 || dl.Time.IsZero() {
				t.Errorf("dead letter = %+v", dl)
			}
			if back, err := events.Decode(dl.Event); err != nil || back.ID != ev.ID {
				t.Errorf("dead letter's event = %v, %v; want the original", back, err)
			}
			if got := w.metric("lcwnotify_notifications_dead_lettered_total", "sink", "script"); got != 1 {
				t.Errorf("dead_lettered_total = %v, want 1", got)
			}
		})
	}
}

func TestDispatcherDeadLettersMalformedEvents(t *testing.T) {
	w := newWorld(t)
	sink := &scriptSink{}
	w.publish() // the stream
	o := w.options(sink)
	w.start(o)
	if _, err := w.js.Publish(context.Background(), "lcw.result.wf-1.failed", []byte("not an event \xff")); err != nil {
		t.Fatal(err)
	}
	w.eventually("a dead letter", func() bool { return len(w.deadLetters("script")) == 1 })
	dl := w.deadLetters("script")[0]
	if dl.Reason != "malformed_event" || dl.EventID != "" || dl.Event != nil || dl.Data != "not an event \uFFFD" {
		t.Errorf("dead letter = %+v, want a malformed_event record holding the text", dl)
	}
	if n := len(sink.callTimes("")); n != 0 {
		t.Errorf("sink called %d times for a malformed event", n)
	}
}

func TestDispatcherKeepsHeldEventsFromRedelivery(t *testing.T) {
	w := newWorld(t)
	release := make(chan struct{})
	sink := &scriptSink{script: func(ctx context.Context, _ *events.Event, _ int) error {
		<-release // a long wait behind a channel's pacing
		return nil
	}}
	ev := w.event("upr-1", "failed")
	w.publish(ev)
	w.start(w.options(sink))
	w.eventually("the held event counted as pending", func() bool {
		return w.metric("lcwnotify_consumer_pending", "sink", "script") == 1
	})
	time.Sleep(3 * ackWait)
	close(release)
	w.eventually("delivered", w.drained("script"))
	if got := len(sink.callTimes(ev.ID)); got != 1 {
		t.Errorf("Deliver called %d times while the event was held, want 1", got)
	}
	if info := w.consumer("script"); info.NumRedelivered != 0 {
		t.Errorf("%d redeliveries, want 0", info.NumRedelivered)
	}
}

func TestDispatcherShutdownLetsDeliveriesFinish(t *testing.T) {
	w := newWorld(t)
	started := make(chan struct{})
	sink := &scriptSink{script: func(ctx context.Context, _ *events.Event, _ int) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		return ctx.Err()
	}}
	w.publish(w.event("upr-1", "failed"))
	stop := w.start(w.options(sink))
	<-started
	if took := stop(); took < 250*time.Millisecond {
		t.Errorf("Run returned after %v, before the delivery in flight finished", took)
	}
	if !w.drained("script")() {
		t.Error("the delivery that finished during shutdown was not acknowledged")
	}
}

func TestDispatcherShutdownGraceReturnsHeldEvents(t *testing.T) {
	w := newWorld(t)
	var held atomic.Int32
	blocking := &scriptSink{script: func(ctx context.Context, _ *events.Event, _ int) error {
		held.Add(1)
		<-ctx.Done() // queued behind a rate limit that outlasts the grace period
		return ctx.Err()
	}}
	w.publish(w.event("upr-1", "failed"), w.event("upr-2", "failed"))
	o := w.options(blocking)
	// An AckWait longer than the test waits: only an explicit hand-back redelivers in time.
	o.AckWait = time.Minute
	o.ShutdownGrace = 200 * time.Millisecond
	stop := w.start(o)
	w.eventually("both held", func() bool { return held.Load() == 2 })
	stop() // fails the test if the grace period does not end the held deliveries

	next := &scriptSink{}
	o.Sink = next
	w.start(o)
	w.eventually("redelivered to the next process without waiting for AckWait", w.drained("script"))
	if got := w.metric("lcwnotify_notifications_dead_lettered_total", "sink", "script"); got != 0 {
		t.Errorf("a shutdown dead-lettered %v events", got)
	}
}

func TestDispatcherBoundsInFlight(t *testing.T) {
	w := newWorld(t)
	sink := &scriptSink{script: func(context.Context, *events.Event, int) error {
		time.Sleep(20 * time.Millisecond)
		return nil
	}}
	var evs []*events.Event
	for i := range 20 {
		evs = append(evs, w.event("upr-"+string(rune('a'+i)), "failed"))
	}
	w.publish(evs...)
	o := w.options(sink)
	o.MaxInFlight = 3
	w.start(o)
	w.eventually("all delivered", w.drained("script"))
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.maxSeen > 3 {
		t.Errorf("%d deliveries at once, want at most MaxInFlight = 3", sink.maxSeen)
	}
}

func TestNewDispatcherFollowsStatuses(t *testing.T) {
	w := newWorld(t)
	sink := &scriptSink{}
	for _, tc := range []struct {
		statuses []string
		want     []string
	}{
		{[]string{"failed"}, []string{"lcw.result.*.failed"}},
		{[]string{"failed", "completedWithErrors", "failed"}, []string{"lcw.result.*.failed", "lcw.result.*.completedWithErrors"}},
		{[]string{"failed", "completedWithErrors"}, []string{"lcw.result.*.failed", "lcw.result.*.completedWithErrors"}},
		{[]string{"canceled"}, []string{"lcw.result.*.canceled"}},
	} {
		o := w.options(sink)
		o.Statuses = tc.statuses
		if _, err := notify.NewDispatcher(context.Background(), o); err != nil {
			t.Fatalf("NewDispatcher(%v): %v", tc.statuses, err)
		}
		if got := w.consumer("script").Config.FilterSubjects; !slices.Equal(got, tc.want) {
			t.Errorf("statuses %v: FilterSubjects = %v, want %v", tc.statuses, got, tc.want)
		}
	}
}

func TestDispatcherDeliversOnlyNotifyStatuses(t *testing.T) {
	w := newWorld(t)
	sink := &scriptSink{}
	failed, completed := w.event("upr-1", "failed"), w.event("upr-2", "completed")
	w.publish(failed, completed)
	w.start(w.options(sink))
	w.eventually("delivered", w.drained("script"))
	if n := len(sink.callTimes(completed.ID)); n != 0 {
		t.Errorf("a completed result was delivered %d times", n)
	}
	if n := len(sink.callTimes(failed.ID)); n != 1 {
		t.Errorf("a failed result was delivered %d times, want 1", n)
	}
}

func TestNewDispatcherRefusesBadOptions(t *testing.T) {
	w := newWorld(t)
	for name, mutate := range map[string]func(*notify.DispatcherOptions){
		"no sink":        func(o *notify.DispatcherOptions) { o.Sink = nil },
		"no statuses":    func(o *notify.DispatcherOptions) { o.Statuses = nil },
		"empty status":   func(o *notify.DispatcherOptions) { o.Statuses = []string{"failed", ""} },
		"bad stream":     func(o *notify.DispatcherOptions) { o.Stream = "a.b" },
		"bad prefix":     func(o *notify.DispatcherOptions) { o.Prefix = "" },
		"no JetStream":   func(o *notify.DispatcherOptions) { o.JS = nil },
		"negative limit": func(o *notify.DispatcherOptions) { o.MaxInFlight = -1 },
	} {
		o := w.options(&scriptSink{})
		mutate(&o)
		if _, err := notify.NewDispatcher(context.Background(), o); err == nil {
			t.Errorf("%s: NewDispatcher succeeded, want an error", name)
		}
	}
}

func TestDispatcherDeferredIsNotAFailure(t *testing.T) {
	w := newWorld(t)
	sink := &scriptSink{script: func(_ context.Context, _ *events.Event, call int) error {
		if call == 1 {
			return notify.Defer(errors.New("another replica is posting it"), "held_elsewhere", 300*time.Millisecond)
		}
		return nil
	}}
	ev := w.event("upr-1", "failed")
	w.publish(ev)
	o := w.options(sink)
	o.MaxDeliver = 1 // a failure would dead-letter at once
	w.start(o)
	w.eventually("delivered", w.drained("script"))
	calls := sink.callTimes(ev.ID)
	if len(calls) != 2 || calls[1].Sub(calls[0]) < 300*time.Millisecond {
		t.Errorf("calls at %v, want two, 300ms or more apart", calls)
	}
	if got := w.metric("lcwnotify_notifications_failed_total", "sink", "script"); got != 0 {
		t.Errorf("failed_total = %v after a deferral, want 0", got)
	}
	if dls := w.deadLetters("script"); len(dls) != 0 {
		t.Errorf("a deferral dead-lettered: %+v", dls)
	}
}

// An operator who wants a new destination to skip the backlog creates its consumer first
// with a later start; the dispatcher must adopt it, not fail on the deliver policy (which
// JetStream does not let an update change), and must keep its position.
func TestNewDispatcherKeepsAnExistingConsumersStart(t *testing.T) {
	w := newWorld(t)
	sink := &scriptSink{}
	old := w.event("upr-old", "failed")
	w.publish(old)
	name := notify.ConsumerName(stream, sink.Name())
	if _, err := w.js.CreateConsumer(context.Background(), stream, jetstream.ConsumerConfig{
		Durable: name, DeliverPolicy: jetstream.DeliverNewPolicy, AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubjects: []string{"lcw.result.*.failed"},
	}); err != nil {
		t.Fatal(err)
	}
	w.start(w.options(sink))
	fresh := w.event("upr-new", "completedWithErrors")
	w.publish(fresh)
	w.eventually("the new event delivered", func() bool { return len(sink.callTimes(fresh.ID)) == 1 })
	w.eventually("drained", w.drained("script"))
	if n := len(sink.callTimes(old.ID)); n != 0 {
		t.Errorf("an event from before the consumer's start was delivered %d times", n)
	}
	cfg := w.consumer("script").Config
	if cfg.DeliverPolicy != jetstream.DeliverNewPolicy {
		t.Errorf("DeliverPolicy = %v, want the operator's DeliverNew kept", cfg.DeliverPolicy)
	}
	if want := []string{"lcw.result.*.failed", "lcw.result.*.completedWithErrors"}; !slices.Equal(cfg.FilterSubjects, want) {
		t.Errorf("FilterSubjects = %v, want %v: the rest of the configuration is lcwnotify's", cfg.FilterSubjects, want)
	}
}

// TestNewDispatcherStartsSinkSeriesAtZero: a sink's counters exist before its first
// delivery, so rate() and alerts on them see the sink from the start.
func TestNewDispatcherStartsSinkSeriesAtZero(t *testing.T) {
	w := newWorld(t)
	if _, err := notify.NewDispatcher(context.Background(), w.options(&scriptSink{})); err != nil {
		t.Fatal(err)
	}
	mfs, err := w.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"lcwnotify_notifications_sent_total", "lcwnotify_notifications_dead_lettered_total",
		"lcwnotify_change_to_notification_seconds", "lcwnotify_consumer_pending",
	}
	for _, name := range want {
		found := false
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					found = found || (mf.GetName() == name && l.GetName() == "sink" && l.GetValue() == "script")
				}
			}
		}
		if !found {
			t.Errorf("no %s{sink=\"script\"} series before the first delivery", name)
		}
	}
}

// A destination added to a deployment that has been telling others starts from now: it
// is not paged for the stream's history. Destinations created together at a first start
// all get what the stream holds.
func TestNewDestinationStartsFromNow(t *testing.T) {
	w := newWorld(t)
	old := w.event("upr-old", "failed")
	w.publish(old)
	first := &scriptSink{}
	o := w.options(first)
	w.start(o)
	w.eventually("the first destination told", func() bool { return len(first.callTimes(old.ID)) == 1 })

	added := &namedSink{scriptSink: &scriptSink{}, name: "added"}
	w.start(w.options(added))
	fresh := w.event("upr-new", "failed")
	w.publish(fresh)
	w.eventually("the new event reaches the added destination", func() bool { return len(added.callTimes(fresh.ID)) == 1 })
	w.eventually("drained", w.drained("added"))
	if n := len(added.callTimes(old.ID)); n != 0 {
		t.Errorf("the added destination was told of an event from before it existed %d times", n)
	}
}

// TestDestinationsOfAFirstStartGetTheBacklog: created together before either delivered,
// both destinations get what the watcher published before them.
func TestDestinationsOfAFirstStartGetTheBacklog(t *testing.T) {
	w := newWorld(t)
	old := w.event("upr-old", "failed")
	w.publish(old)
	a, b := &scriptSink{}, &namedSink{scriptSink: &scriptSink{}, name: "other"}
	// Both consumers exist before either runs, as at a deployment's first start.
	for _, s := range []notify.Sink{a, b} {
		if _, err := notify.NewDispatcher(context.Background(), w.options(s)); err != nil {
			t.Fatal(err)
		}
	}
	w.start(w.options(a))
	w.start(w.options(b))
	w.eventually("both told", func() bool { return len(a.callTimes(old.ID)) == 1 && len(b.callTimes(old.ID)) == 1 })
}

// namedSink is a scriptSink under another name: another destination.
type namedSink struct {
	*scriptSink
	name string
}

func (n *namedSink) Name() string { return n.name }
