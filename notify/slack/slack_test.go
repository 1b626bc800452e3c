package slack_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/slack"
)

const (
	stream = "LCW"
	prefix = "lcw"
)

// env is a fake Slack, a real NATS server, metrics and captured logs.
type env struct {
	t    *testing.T
	fake *slacktest.Slack
	srv  *eventstest.Server
	js   jetstream.JetStream
	reg  *prometheus.Registry
	m    *notify.Metrics
	sm   *slack.Metrics
	logs *notifytest.Buffer
	log  *slog.Logger
	// callTimeout and leaseTTL configure the delivery stage of the processes run.
	callTimeout, leaseTTL time.Duration
}

func newEnv(t *testing.T, opts slacktest.Options) *env {
	t.Parallel()
	fake := slacktest.New(opts)
	t.Cleanup(fake.Close)
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	reg := prometheus.NewRegistry()
	logs := &notifytest.Buffer{}
	e := &env{t: t, fake: fake, srv: srv, js: js, reg: reg, m: notify.NewMetrics(reg), sm: slack.NewMetrics(reg), logs: logs,
		callTimeout: time.Second, leaseTTL: 3 * time.Second,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	t.Cleanup(func() {
		for _, secret := range []string{fake.Token(), fake.WebhookURL()} {
			if strings.Contains(logs.String(), secret) {
				t.Error("logs contain a secret")
			}
		}
	})
	return e
}

func (e *env) notifier(cfg slack.Config) notify.Sink {
	e.t.Helper()
	cfg.Metrics = e.sm
	return newSink(e.t, cfg, e.log)
}

func (e *env) options(js jetstream.JetStream, sink notify.Sink) notify.DispatcherOptions {
	o := notifytest.DispatcherOptions(js, stream, prefix, sink)
	o.Metrics, o.Logger = e.m, e.log
	o.CallTimeout, o.LeaseTTL = e.callTimeout, e.leaseTTL
	return o
}

func (e *env) run(js jetstream.JetStream, sink notify.Sink) func() time.Duration {
	return notifytest.RunDispatcher(e.t, e.options(js, sink))
}

func (e *env) publish(evs ...*events.Event) {
	e.t.Helper()
	if err := notifytest.Publish(context.Background(), e.js, stream, prefix, evs...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) drained() func() bool { return notifytest.Drained(e.t, e.js, stream, slack.Name) }

func (e *env) burst(wf, name, who string, n int) []*events.Event {
	e.t.Helper()
	evs, err := notifytest.Burst(wf, name, who, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// checkOnce asserts every event's user is named in exactly one message.
func (e *env) checkOnce(evs []*events.Event) {
	e.t.Helper()
	count := countByUser(e.fake)
	for _, ev := range evs {
		if got := count(ev); got != 1 {
			e.t.Errorf("%s named in %d messages, want 1", ev.Data.User.DisplayName, got)
		}
	}
}

// checkPaced asserts no channel got two messages closer than interval and that the
// fake never saw a post inside a Retry-After window.
func (e *env) checkPaced(interval time.Duration) {
	e.t.Helper()
	last := map[string]time.Time{}
	for _, m := range e.fake.Messages() {
		if prev, ok := last[m.Channel]; ok && m.Received.Sub(prev) < interval {
			e.t.Errorf("two messages to %s %v apart, want at least %v", m.Channel, m.Received.Sub(prev), interval)
		}
		last[m.Channel] = m.Received
	}
	if v := e.fake.Stats().Violations; v != 0 {
		e.t.Errorf("%d posts inside a Retry-After window, want 0", v)
	}
}

func TestBurstIsGroupedAndPaced(t *testing.T) {
	const interval = 100 * time.Millisecond
	e := newEnv(t, slacktest.Options{Interval: interval})
	evs := append(e.burst("wf-a", "Offboard contractors", "Contractor", 300), e.burst("wf-b", "Offboard employees", "Employee", 50)...)
	cfg := testConfig(e.fake)
	cfg.Interval = interval
	e.run(e.js, e.notifier(cfg))
	e.publish(evs...)
	notifytest.Eventually(t, "all delivered", e.drained())

	e.checkOnce(evs)
	e.checkPaced(interval)
	msgs := e.fake.Messages()
	if len(msgs) > 5 {
		t.Errorf("%d messages for a burst of 350, want at most 5", len(msgs))
	}
	if got := e.fake.Stats().RateLimited; got != 0 {
		t.Errorf("Slack rate-limited %d posts, want 0: pacing should keep under the limit", got)
	}
	for _, m := range msgs {
		if b, part, parts := m.Batch(); b == "" || part < 1 || part > parts {
			t.Errorf("message metadata = %+v, want a batch and its part", m.Metadata)
		}
	}
	if got := notifytest.Metric(t, e.reg, "lcwnotify_slack_messages_total", "channel_kind", "default"); got != float64(len(msgs)) {
		t.Errorf("slack_messages_total{default} = %v, want %d", got, len(msgs))
	}
}

// TestFirstEventIsPostedAtOnce paces the channel at one message a minute: an event for an
// idle channel must not wait for that, and one that follows must be grouped, not lost.
func TestFirstEventIsPostedAtOnce(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: -1})
	cfg := testConfig(e.fake)
	cfg.Interval = time.Minute
	stop := e.run(e.js, e.notifier(cfg))
	first, second := e.burst("wf-a", "Onboard", "First", 1), e.burst("wf-b", "Onboard", "Second", 1)
	e.publish(first...)
	notifytest.Eventually(t, "the first event posted without waiting for the pace", func() bool { return len(e.fake.Messages()) == 1 })
	e.publish(second...)
	time.Sleep(notifytest.AckWait)
	if n := len(e.fake.Messages()); n != 1 {
		t.Errorf("%d messages within a minute, want the second event held for the pace", n)
	}
	stop()
	e.checkOnce(first)
	if info := notifytest.ConsumerInfo(t, e.js, stream, slack.Name); info.NumPending+uint64(info.NumAckPending) != 1 {
		t.Errorf("consumer holds %d pending and %d unacknowledged, want the second event kept", info.NumPending, info.NumAckPending)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	tests := []struct {
		name      string
		fault     httpfake.Fault
		wantWait  time.Duration
		wantLimit float64
	}{
		{"Retry-After header", httpfake.Fault{Status: 429, RetryAfter: "1"}, time.Second, 1},
		{"no Retry-After: the configured default", httpfake.Fault{Status: 429}, 700 * time.Millisecond, 0.7},
		{"Retry-After as a date: the default", httpfake.Fault{Status: 429, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"}, 700 * time.Millisecond, 0.7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, slacktest.Options{Interval: 50 * time.Millisecond})
			cfg := testConfig(e.fake)
			cfg.DefaultRetryAfter = 700 * time.Millisecond
			e.run(e.js, e.notifier(cfg))
			e.fake.FailNextPosts(1, tc.fault)
			evs := e.burst("wf-a", "Offboard", "Limited", 3)
			start := time.Now()
			e.publish(evs...)
			notifytest.Eventually(t, "all delivered", e.drained())
			e.checkOnce(evs)
			e.checkPaced(50 * time.Millisecond)
			if first := e.fake.Messages()[0].Received.Sub(start); first < tc.wantWait {
				t.Errorf("first message accepted %v after a 429, want at least %v", first, tc.wantWait)
			}
			if got := notifytest.Metric(t, e.reg, "lcwnotify_slack_rate_limited_seconds_total"); got != tc.wantLimit {
				t.Errorf("slack_rate_limited_seconds_total = %v, want %v", got, tc.wantLimit)
			}
		})
	}
}

// A 429 ends this replica's reservation of the channel: the next post waits for the
// Retry-After, not for the reservation, which lasts as long as a whole call may.
func TestRetryAfterShorterThanCallTimeout(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: 50 * time.Millisecond})
	cfg := testConfig(e.fake)
	e.callTimeout = notify.DefaultCallTimeout
	e.leaseTTL = 0 // derived from the call timeout
	e.run(e.js, e.notifier(cfg))
	e.fake.FailNextPosts(1, httpfake.Fault{Status: 429, RetryAfter: "1"})
	evs := e.burst("wf-a", "Offboard", "Limited", 2)
	start := time.Now()
	e.publish(evs...)
	notifytest.Eventually(t, "all delivered", e.drained())
	e.checkOnce(evs)
	first := e.fake.Messages()[0].Received.Sub(start)
	if first < time.Second || first >= notify.DefaultCallTimeout/2 {
		t.Errorf("first message accepted %v after a 429 with Retry-After: 1, want from 1s and well before the %v call timeout",
			first, notify.DefaultCallTimeout)
	}
}

func TestRateLimitStorm(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: 50 * time.Millisecond})
	e.fake.FailPostsFor(2500*time.Millisecond, httpfake.Fault{Status: 429, RetryAfter: "1"})
	e.run(e.js, e.notifier(testConfig(e.fake)))
	evs := e.burst("wf-a", "Offboard", "Stormy", 40)
	e.publish(evs...)
	notifytest.Eventually(t, "all delivered after the storm", e.drained())
	e.checkOnce(evs)
	e.checkPaced(50 * time.Millisecond)
	// One attempt per Retry-After window: about three during the storm.
	if st := e.fake.Stats(); st.Posts > len(e.fake.Messages())+4 {
		t.Errorf("%d posts for %d messages: kept sending while rate-limited", st.Posts, len(e.fake.Messages()))
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: -1})
	routes, err := slack.ParseRoutes("leaver:C0LEAVERS1, wf-special:#special")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(e.fake)
	cfg.Routes = routes
	e.run(e.js, e.notifier(cfg))
	joiner, _ := notifytest.Event(notifytest.Result{WorkflowID: "wf-j", Category: "joiner", ResultID: "r1", UserName: "Joiner"})
	leaver, _ := notifytest.Event(notifytest.Result{WorkflowID: "wf-l", Category: "Leaver", ResultID: "r2", UserName: "Leaver"})
	special, _ := notifytest.Event(notifytest.Result{WorkflowID: "wf-special", Category: "leaver", ResultID: "r3", UserName: "Special"})
	e.publish(joiner, leaver, special)
	notifytest.Eventually(t, "all delivered", e.drained())
	want := map[string]string{"Joiner": "C0ALERTS01", "Leaver": "C0LEAVERS1", "Special": e.fake.ChannelID("special")}
	for _, m := range e.fake.Messages() {
		for user, ch := range want {
			if strings.Contains(m.BlockText(), "*"+user+"*") && m.Channel != ch {
				t.Errorf("%s's message went to %s, want %s", user, m.Channel, ch)
			}
		}
	}
	e.checkOnce([]*events.Event{joiner, leaver, special})
	if got := notifytest.Metric(t, e.reg, "lcwnotify_slack_messages_total", "channel_kind", "route"); got != 2 {
		t.Errorf("slack_messages_total{route} = %v, want 2", got)
	}
}

func TestChannelErrorsDeadLetterOnlyTheirEvents(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: -1})
	e.fake.SetChannelError("C0ARCHIVE1", "is_archived")
	cfg := testConfig(e.fake)
	cfg.Routes = map[string]string{"leaver": "C0ARCHIVE1"}
	e.run(e.js, e.notifier(cfg))
	ok, _ := notifytest.Event(notifytest.Result{WorkflowID: "wf-j", Category: "joiner", ResultID: "r1", UserName: "Fine"})
	archived, _ := notifytest.Event(notifytest.Result{WorkflowID: "wf-l", Category: "leaver", ResultID: "r2", UserName: "Archived"})
	e.publish(ok, archived)
	notifytest.Eventually(t, "settled", e.drained())
	dls, _ := notifytest.DeadLetters(t, e.js, stream, prefix, slack.Name)
	if len(dls) != 1 || dls[0].EventID != archived.ID || dls[0].Reason != "is_archived" ||
		!strings.Contains(dls[0].Error, "unarchive") {
		t.Errorf("dead letters = %+v, want one is_archived record for %s saying what to fix", dls, archived.ID)
	}
	if !strings.Contains(e.logs.String(), "is_archived") {
		t.Error("no error log names the cause")
	}
	e.checkOnce([]*events.Event{ok})
}

// TestReplicasShareTheWork runs two notifier processes on one consumer and ledger: every
// event is posted once.
func TestReplicasShareTheWork(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: 50 * time.Millisecond})
	_, js2 := e.srv.Connect(t)
	e.run(e.js, e.notifier(testConfig(e.fake)))
	e.run(js2, e.notifier(testConfig(e.fake)))
	var evs []*events.Event
	for i := range 5 {
		evs = append(evs, e.burst("wf-"+string(rune('a'+i)), "Workflow", "Replica "+string(rune('A'+i)), 20)...)
	}
	e.publish(evs...)
	notifytest.Eventually(t, "all delivered", e.drained())
	e.checkOnce(evs)
	if v := e.fake.Stats().Violations; v != 0 {
		t.Errorf("%d posts inside a Retry-After window, want 0", v)
	}
}

// TestNATSRestartLosesNothing restarts NATS while a burst is being posted.
func TestNATSRestartLosesNothing(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: 200 * time.Millisecond})
	cfg := testConfig(e.fake)
	cfg.Interval = 200 * time.Millisecond
	e.run(e.js, e.notifier(cfg))
	var evs []*events.Event
	for i := range 4 {
		evs = append(evs, e.burst("wf-"+string(rune('a'+i)), "Workflow", "Restart "+string(rune('A'+i)), 10)...)
	}
	e.publish(evs[:20]...)
	notifytest.Eventually(t, "posting started", func() bool { return len(e.fake.Messages()) > 0 })
	e.srv.Restart()
	// Like the watcher, publish again until the stream answers: while the client
	// reconnects and JetStream recovers, a request can time out. Ids make it idempotent.
	notifytest.Eventually(t, "published after the restart", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return notifytest.Publish(ctx, e.js, stream, prefix, evs[20:]...) == nil
	})
	notifytest.Eventually(t, "all delivered", e.drained())
	e.checkOnce(evs)
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	e := newEnv(t, slacktest.Options{})
	hook := e.fake.WebhookURL()
	e.fake.Close() // connection refused from now on
	st := notifytest.RunStage(t, notify.StageOptions{JS: e.js, Stream: stream, Sink: e.notifier(slack.Config{WebhookURL: hook}),
		CallTimeout: time.Second, Logger: e.log})
	ev, _ := notifytest.Event(notifytest.Result{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := st.Deliver(ctx, &notify.Notification{Event: ev})
	if err == nil {
		t.Fatal("Deliver to a closed server succeeded")
	}
	if strings.Contains(err.Error(), hook) || strings.Contains(err.Error(), "/services/") {
		t.Errorf("error quotes the webhook URL: %v", err)
	}
	if c := notify.Classify(err); c.Permanent || c.Reason != "connection" {
		t.Errorf("classified %+v, want retryable connection", c)
	}
}

// afterFirst calls hook once, after the first Send returns, with its error.
func afterFirst(s notify.Sink, hook func(error)) notify.Sink {
	var once sync.Once
	return notifytest.WrapSend(s, func(ctx context.Context, key string, m notify.Message, p notify.Part) (notify.Receipt, error) {
		r, err := s.Send(ctx, key, m, p)
		once.Do(func() { hook(err) })
		return r, err
	})
}

// TestUnknownOutcomeIsTakenOverAtOnce: a process that could not tell whether its post
// went through (the response was lost) stops working on the event while it stays alive;
// another replica must take the event over at once, reading the channel back, not wait
// for the first process's lease to run out.
func TestUnknownOutcomeIsTakenOverAtOnce(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: 50 * time.Millisecond})
	cfg := testConfig(e.fake)
	ev := e.burst("wf-a", "Offboard", "Unknown", 1)
	e.answerLostThenTakenOver(cfg, ev)
	e.checkOnce(ev)
}

// answerLostThenTakenOver loses the answer to the first post of evs's delivery, stops that
// process while its lease still runs, and lets a second process take the events over.
func (e *env) answerLostThenTakenOver(cfg slack.Config, evs []*events.Event) {
	e.t.Helper()
	e.fake.FailNextPosts(1, httpfake.Fault{LoseResponse: true})
	failed := make(chan error, 1)
	oA := e.options(e.js, afterFirst(e.notifier(cfg), func(err error) { failed <- err }))
	oA.LeaseTTL = time.Hour // the first process's lease outlives the test
	stopA := notifytest.RunDispatcher(e.t, oA)
	e.publish(evs...)
	if err := <-failed; err == nil {
		e.t.Fatal("the first delivery succeeded despite the lost response")
	}
	stopA()

	_, js2 := e.srv.Connect(e.t)
	e.run(js2, e.notifier(cfg))
	notifytest.Eventually(e.t, "taken over by the other process", e.drained())
}

// TestShutdownHandsBackQueuedEvents stops a process while an event waits for the
// channel's pace longer than the shutdown grace: the event goes back to the stream and
// the next process posts it, once.
func TestShutdownHandsBackQueuedEvents(t *testing.T) {
	const interval = 2 * time.Second
	e := newEnv(t, slacktest.Options{Interval: interval})
	cfg := testConfig(e.fake)
	cfg.Interval = interval
	o := e.options(e.js, e.notifier(cfg))
	o.ShutdownGrace = 100 * time.Millisecond
	stop := notifytest.RunDispatcher(t, o)
	first, second := e.burst("wf-a", "Onboard", "Before", 1), e.burst("wf-b", "Onboard", "Queued", 1)
	e.publish(first...)
	notifytest.Eventually(t, "first posted", func() bool { return len(e.fake.Messages()) == 1 })
	e.publish(second...)
	time.Sleep(200 * time.Millisecond) // queued behind the pace
	stop()
	if n := len(e.fake.Messages()); n != 1 {
		t.Fatalf("%d messages after shutdown, want the queued event not posted", n)
	}

	_, js2 := e.srv.Connect(t)
	e.run(js2, e.notifier(cfg))
	notifytest.Eventually(t, "the queued event posted by the next process", e.drained())
	e.checkOnce(append(first, second...))
	e.checkPaced(interval)
}

// TestChannelByNameFirstAnswerLost: the channel is configured by name and the answer to
// the very first post to it is lost. The notifier looked the name up before posting, so
// the next process can read the channel's history and must not post again. Without the
// scopes to look names up it cannot, and it says so.
func TestChannelByNameFirstAnswerLost(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scopes   string
		want     int
		wantWarn bool
	}{
		{"looked up with channels:read", "", 1, false},
		{"no read scope: warned, may repeat", "chat:write,channels:history,groups:history", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, slacktest.Options{Interval: 50 * time.Millisecond, Scopes: tc.scopes})
			id := e.fake.ChannelID("alerts") // the workspace has the channel
			cfg := testConfig(e.fake)
			cfg.Channel = "#alerts"
			ev := e.burst("wf-a", "Offboard", "Named", 1)
			e.answerLostThenTakenOver(cfg, ev)
			if got := countByUser(e.fake)(ev[0]); got != tc.want {
				t.Errorf("posted %d times, want %d", got, tc.want)
			}
			for _, m := range e.fake.Messages() {
				if m.Channel != id {
					t.Errorf("posted to %s, want the channel's id %s", m.Channel, id)
				}
			}
			if warned := strings.Contains(e.logs.String(), "cannot find the destination's id of a key configured by name"); warned != tc.wantWarn {
				t.Errorf("warned = %v, want %v; logs:\n%s", warned, tc.wantWarn, e.logs.String())
			}
		})
	}
}

// TestErrorAfterPostIsReadBack: Slack documents internal_error and fatal_error as
// possibly partly done, and a 5xx can follow a post that was made. The message may be in
// the channel: the retry must read the channel back, not post again.
func TestErrorAfterPostIsReadBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault httpfake.Fault
	}{
		{"ok:false internal_error", httpfake.Fault{Error: "internal_error", Accepted: true}},
		{"ok:false fatal_error", httpfake.Fault{Error: "fatal_error", Accepted: true}},
		{"HTTP 503", httpfake.Fault{Status: 503, Accepted: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, slacktest.Options{Interval: testInterval})
			e.fake.FailNextPosts(1, tc.fault)
			e.run(e.js, e.notifier(testConfig(e.fake)))
			evs := e.burst("wf-a", "Offboard", "Partly", 1)
			e.publish(evs...)
			notifytest.Eventually(t, "settled", e.drained())
			e.checkOnce(evs)
		})
	}
}

// postFirst runs a notifier with cfg, paced at a second, and posts one event to the idle
// channel, so that the events published within the second that follows wait for it
// together and go as one digest. It returns that first event.
func (e *env) postFirst(cfg slack.Config) []*events.Event {
	e.t.Helper()
	cfg.Interval = time.Second
	e.run(e.js, e.notifier(cfg))
	first := e.burst("wf-a", "Offboard contractors", "First", 1)
	e.publish(first...)
	notifytest.Eventually(e.t, "the first event posted", func() bool { return len(e.fake.Messages()) == 1 })
	return first
}

// TestRefusedDigestCostsOnlyItsCulprit has Slack refuse any message showing one result's
// text: the results grouped with it are still posted, once each, and only that one is
// dead-lettered.
func TestRefusedDigestCostsOnlyItsCulprit(t *testing.T) {
	for _, webhook := range []bool{false, true} {
		t.Run(map[bool]string{false: "bot token", true: "incoming webhook"}[webhook], func(t *testing.T) {
			e := newEnv(t, slacktest.Options{Interval: -1, RefuseText: "Unpostable"})
			cfg := testConfig(e.fake)
			if webhook {
				cfg.Token, cfg.Channel, cfg.APIURL, cfg.WebhookURL = "", "", "", e.fake.WebhookURL()
			}
			first := e.postFirst(cfg)
			evs := e.burst("wf-b", "Offboard employees", "Employee", 8)
			culprit := evs[5]
			culprit.Data.User.DisplayName = "Unpostable 0006"
			e.publish(evs...)
			notifytest.Eventually(t, "settled", e.drained())

			dls, _ := notifytest.DeadLetters(t, e.js, stream, prefix, slack.Name)
			if len(dls) != 1 || dls[0].EventID != culprit.ID || dls[0].Reason == "" {
				t.Errorf("%d dead letters (%+v), want one, for %s", len(dls), dls, culprit.ID)
			}
			if !strings.Contains(e.logs.String(), "sending them in halves") {
				t.Error("no digest was refused: the test did not exercise what it is for")
			}
			// Halving 8 finds the culprit with one message per half left behind: 4, 2
			// and 1 good events.
			if n := len(e.fake.Messages()); n != 1+3 {
				t.Errorf("%d messages, want 4: the first event's, then 3 for the 7 events grouped with the culprit", n)
			}
			e.checkOnce(append(first, slices.Delete(slices.Clone(evs), 5, 6)...))
			e.checkPaced(time.Second)
		})
	}
}

// TestRefusingEverythingEndsTheHalving has Slack refuse every message whatever it holds
// (a 400 from an incoming webhook can be the workspace's, not the message's): the
// events are dead-lettered after a few refused posts, not after a post for every half
// of every half.
func TestRefusingEverythingEndsTheHalving(t *testing.T) {
	const interval = 100 * time.Millisecond
	e := newEnv(t, slacktest.Options{Interval: -1, RefuseText: "Offboard"})
	cfg := testConfig(e.fake)
	cfg.Interval = interval
	e.run(e.js, e.notifier(cfg))
	evs := e.burst("wf-a", "Offboard contractors", "Contractor", 64)
	e.publish(evs...)
	notifytest.Eventually(t, "settled", e.drained())

	dls, _ := notifytest.DeadLetters(t, e.js, stream, prefix, slack.Name)
	if len(dls) != len(evs) {
		t.Errorf("%d dead letters, want %d", len(dls), len(evs))
	}
	if n := len(e.fake.Messages()); n != 0 {
		t.Errorf("%d messages accepted, want 0", n)
	}
	// Halving 63 events to the last would take 125 posts; the budget is 2·6+2 splits,
	// each remaining part gets one post before it is dead-lettered, and rounds after a
	// halving that ran out get a budget of 2: about 30 posts when the events arrive in
	// two rounds, a few more for every further round a loaded machine splits them into.
	got := e.fake.Stats().Posts
	t.Logf("%d posts for %d events", got, len(evs))
	if got > 50 {
		t.Errorf("%d posts refused before giving up, want at most 50", got)
	}
}

// TestRefusedMessageLeavesTheMention: when Slack refuses the message that was to carry
// LCW_SLACK_MENTION, the next message it accepts carries it instead, so that the results
// of a group are not posted without paging anyone. The event Slack will not take is the
// first of a group: alone in a message of its own (too large for one), or with others
// in a digest that is posted again in halves.
func TestRefusedMessageLeavesTheMention(t *testing.T) {
	const mention = "<!subteam^S0123ABCD>"
	for _, huge := range []bool{false, true} {
		t.Run(map[bool]string{false: "in a digest", true: "in a message of its own"}[huge], func(t *testing.T) {
			e := newEnv(t, slacktest.Options{Interval: -1, RefuseText: "Unpostable"})
			cfg := testConfig(e.fake)
			cfg.Mention = mention
			first := e.postFirst(cfg)
			// The culprit queues first behind the pace, the others after it.
			evs := e.burst("wf-b", "Offboard employees", "Employee", 8)
			culprit := evs[0]
			culprit.Data.User.DisplayName = "Unpostable 0001"
			if huge {
				culprit.Data.TaskProcessingResults = []events.TaskResult{
					notifytest.FailedTask("Run a custom task extension", strings.Repeat("The extension failed. ", 3000))}
			}
			e.publish(culprit)
			notifytest.Eventually(t, "the culprit delivered", func() bool {
				return notifytest.ConsumerInfo(t, e.js, stream, slack.Name).NumAckPending == 1
			})
			// A moment for it, slower to decode than the others, to reach the queue first;
			// the round starts a second after the first post.
			time.Sleep(200 * time.Millisecond)
			e.publish(evs[1:]...)
			notifytest.Eventually(t, "settled", e.drained())

			dls, _ := notifytest.DeadLetters(t, e.js, stream, prefix, slack.Name)
			if len(dls) != 1 || dls[0].EventID != culprit.ID {
				t.Fatalf("%d dead letters (%+v), want one, for %s", len(dls), dls, culprit.ID)
			}
			e.checkOnce(append(first, evs[1:]...))
			msgs := e.fake.Messages()
			if len(msgs) < 2 {
				t.Fatalf("%d messages, want the first event's and the group's", len(msgs))
			}
			for k, m := range msgs {
				// The first event's message mentions, and the first of the group's.
				if got, want := strings.Contains(m.Text, mention), k <= 1; got != want {
					t.Errorf("message %d of %d mentions: %v, want %v (%q)", k+1, len(msgs), got, want, m.Text)
				}
			}
		})
	}
}

// TestSlackFailingMidHalvingPostsOnce: Slack takes the first half of a refused digest but
// answers 500, so the notifier cannot know it was posted. The halving stops, the half
// not yet tried is released, and the next attempt finds the first half in the channel's
// history: every result is posted once, and only the one Slack will not take is
// dead-lettered.
func TestSlackFailingMidHalvingPostsOnce(t *testing.T) {
	e := newEnv(t, slacktest.Options{Interval: -1, RefuseText: "Unpostable"})
	first := e.postFirst(testConfig(e.fake))
	evs := e.burst("wf-b", "Offboard employees", "Employee", 8)
	culprit := evs[7]
	culprit.Data.User.DisplayName = "Unpostable 0008"
	// The culprit queues last, so that the first half holds only results Slack takes.
	e.publish(evs[:7]...)
	notifytest.Eventually(t, "the others delivered", func() bool {
		return notifytest.ConsumerInfo(t, e.js, stream, slack.Name).NumAckPending == 7
	})
	e.publish(culprit)
	// The next post, a second after the refused one, is the first half's.
	notifytest.Eventually(t, "the digest refused", func() bool { return strings.Contains(e.logs.String(), "sending them in halves") })
	e.fake.FailNextPosts(1, httpfake.Fault{Status: 500, Accepted: true})
	notifytest.Eventually(t, "settled", e.drained())

	dls, _ := notifytest.DeadLetters(t, e.js, stream, prefix, slack.Name)
	if len(dls) != 1 || dls[0].EventID != culprit.ID {
		t.Errorf("%d dead letters (%+v), want one, for %s", len(dls), dls, culprit.ID)
	}
	if !strings.Contains(e.logs.String(), "found at the destination; not sending again") {
		t.Error("nothing was read back: the test did not exercise what it is for")
	}
	e.checkOnce(append(first, evs[:7]...))
	e.checkPaced(time.Second)
}
