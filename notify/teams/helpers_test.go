package teams_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/teamstest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/teams"
)

const (
	stream = "LCW"
	prefix = "lcw"
)

// testInterval is a webhook's pace in tests, Teams' scaled down; the fake allows four
// requests per testWindow.
const (
	testInterval = 20 * time.Millisecond
	testWindow   = 50 * time.Millisecond
)

func testFake() *teamstest.Server {
	return teamstest.New(teamstest.Options{Window: testWindow, RetryAfter: "1"})
}

func testConfig(hook string) teams.Config {
	return teams.Config{WebhookURL: hook, Interval: testInterval, DefaultRetryAfter: 100 * time.Millisecond, Timeout: time.Second}
}

func newNotifier(t testing.TB, cfg teams.Config, log *slog.Logger) *teams.Notifier {
	t.Helper()
	n, err := teams.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// countUser counts the cards that list ev's user.
func countUser(fake *teamstest.Server) func(ev *events.Event) int {
	return func(ev *events.Event) int {
		n := 0
		for _, c := range fake.Cards() {
			if strings.Contains(c.Text(), "**"+ev.Data.User.DisplayName+"**") {
				n++
			}
		}
		return n
	}
}

// env is a fake Teams, a real NATS server and captured logs.
type env struct {
	t    *testing.T
	fake *teamstest.Server
	js   jetstream.JetStream
	logs *notifytest.Buffer
	log  *slog.Logger
}

func newEnv(t *testing.T, fake *teamstest.Server) *env {
	t.Parallel()
	t.Cleanup(fake.Close)
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	logs := &notifytest.Buffer{}
	e := &env{t: t, fake: fake, js: js, logs: logs, log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	t.Cleanup(func() {
		for _, name := range []string{"default", "leavers"} {
			if sig := fake.Signature(name); sig != "" && strings.Contains(logs.String(), sig) {
				t.Error("logs contain a webhook's signature")
			}
		}
	})
	return e
}

func (e *env) run(cfg teams.Config) {
	e.t.Helper()
	n := newNotifier(e.t, cfg, e.log)
	o := notifytest.DispatcherOptions(e.js, stream, prefix, n)
	o.Logger = e.log
	notifytest.RunDispatcher(e.t, o)
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

func (e *env) drained() func() bool { return notifytest.Drained(e.t, e.js, stream, teams.Name) }
