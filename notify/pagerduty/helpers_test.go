package pagerduty_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/pagerdutytest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/pagerduty"
)

const (
	stream = "LCW"
	prefix = "lcw"
)

// Routing keys of the tests' services.
var (
	keyOncall  = pagerdutytest.RoutingKey("oncall")
	keyLeavers = pagerdutytest.RoutingKey("leavers")
)

// testConfig is a notifier of the fake, its pace scaled down.
func testConfig(fake *pagerdutytest.Server) pagerduty.Config {
	return pagerduty.Config{
		RoutingKey:        keyOncall,
		URL:               fake.URL(),
		Interval:          5 * time.Millisecond,
		Burst:             10,
		DefaultRetryAfter: 100 * time.Millisecond,
		Timeout:           time.Second,
	}
}

func newNotifier(t testing.TB, cfg pagerduty.Config, log *slog.Logger) *pagerduty.Notifier {
	t.Helper()
	n, err := pagerduty.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// triggersOf counts the triggers the fake took for ev.
func triggersOf(fake *pagerdutytest.Server, ev *events.Event) int {
	n := 0
	for _, e := range fake.Events() {
		if e.Action == "trigger" && e.Payload != nil && e.Payload.CustomDetails["eventId"] == ev.ID {
			n++
		}
	}
	return n
}

// env is a fake PagerDuty, a real NATS server and captured logs.
type env struct {
	t    *testing.T
	fake *pagerdutytest.Server
	js   jetstream.JetStream
	logs *notifytest.Buffer
	log  *slog.Logger
}

func newEnv(t *testing.T, opts pagerdutytest.Options) *env {
	t.Parallel()
	fake := pagerdutytest.New(opts)
	t.Cleanup(fake.Close)
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	logs := &notifytest.Buffer{}
	e := &env{t: t, fake: fake, js: js, logs: logs, log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	t.Cleanup(func() {
		for _, key := range []string{keyOncall, keyLeavers} {
			if strings.Contains(logs.String(), key) {
				t.Error("logs contain a routing key")
			}
		}
	})
	return e
}

func (e *env) run(cfg pagerduty.Config) *pagerduty.Notifier {
	e.t.Helper()
	n := newNotifier(e.t, cfg, e.log)
	o := notifytest.DispatcherOptions(e.js, stream, prefix, n)
	o.Logger = e.log
	notifytest.RunDispatcher(e.t, o)
	return n
}

func (e *env) publish(evs ...*events.Event) {
	e.t.Helper()
	if err := notifytest.Publish(context.Background(), e.js, stream, prefix, evs...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) publishKinded(msgs ...notifytest.Kinded) {
	e.t.Helper()
	if err := notifytest.PublishMessage(context.Background(), e.js, stream, prefix, msgs...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) result(r notifytest.Result) *events.Event { return notifytest.MustEvent(e.t, r) }

func (e *env) drained() func() bool { return notifytest.Drained(e.t, e.js, stream, pagerduty.Name) }

func (e *env) deadLetters() []notify.DeadLetter {
	dls, raws := notifytest.DeadLetters(e.t, e.js, stream, prefix, pagerduty.Name)
	for _, raw := range raws {
		for _, key := range []string{keyOncall, keyLeavers} {
			if strings.Contains(string(raw), key) {
				e.t.Error("a dead letter quotes a routing key")
			}
		}
	}
	return dls
}

// completed is a result of the user's that completes the workflow.
func completed(resultID, userID string) notifytest.Result {
	return notifytest.Result{ResultID: resultID, UserID: userID, UserName: "Alex Wilber", Status: "completed",
		Tasks: []events.TaskResult{notifytest.CompletedTask("Add user to groups")}}
}
