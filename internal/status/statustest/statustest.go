// Package statustest runs what a status report reads, for tests: a real NATS server, a
// fake Slack, and a Dispatcher of the Slack sink delivering from the stream to it.
package statustest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/internal/status"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/slack"
)

// Names of the test deployment.
const (
	Stream  = "LCWT"
	Prefix  = "lcwt"
	Channel = "C0ALERTS01"
	// Workspace is the workspace address the fake Slack's auth.test answers with.
	Workspace = "https://fake.slack.example/"
)

// Env is a deployment under test.
type Env struct {
	T testing.TB
	// URL is the NATS server's.
	URL    string
	JS     jetstream.JetStream
	Slack  *slacktest.Slack
	D      *notify.Dispatcher
	Reader *status.Reader
}

// New starts the server, the fake and the Dispatcher, stopped when the test ends, and a
// Reader of the stream that knows the Dispatcher and links to the fake's messages.
func New(t testing.TB) *Env {
	t.Helper()
	fake := slacktest.New(slacktest.Options{Interval: -1})
	t.Cleanup(fake.Close)
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	sink, err := slack.New(slack.Config{Token: fake.Token(), Channel: Channel, APIURL: fake.APIURL(), Interval: 50 * time.Millisecond},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	o := notifytest.DispatcherOptions(js, Stream, Prefix, sink)
	o.Logger = slog.New(slog.DiscardHandler)
	d, err := notify.NewDispatcher(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	notifytest.Eventually(t, "dispatcher ready", d.Ready)
	rd, err := status.NewReader(status.Options{JS: js, Stream: Stream, Prefix: Prefix, Statuses: o.Statuses, Links: Links{}})
	if err != nil {
		t.Fatal(err)
	}
	rd.AddDestination(d)
	return &Env{T: t, URL: srv.URL(), JS: js, Slack: fake, D: d, Reader: rd}
}

// Links links to the fake Slack's messages.
type Links struct{}

// Link implements status.Linker.
func (Links) Link(_ context.Context, _, key, id string) string {
	return slack.Permalink(Workspace, key, id)
}

// Replayer replays through one Dispatcher.
type Replayer struct{ D *notify.Dispatcher }

// Sinks implements status.Replayer.
func (r Replayer) Sinks() []string { return []string{r.D.Name()} }

// Replay implements status.Replayer.
func (r Replayer) Replay(ctx context.Context, _ string, n *notify.Notification, id string) error {
	return r.D.Replay(ctx, n, id)
}

// Publish stores evs on the stream.
func (e *Env) Publish(evs ...*events.Event) {
	e.T.Helper()
	if err := notifytest.Publish(context.Background(), e.JS, Stream, Prefix, evs...); err != nil {
		e.T.Fatal(err)
	}
}

// Event builds the change event r describes.
func (e *Env) Event(r notifytest.Result) *events.Event {
	e.T.Helper()
	ev, err := notifytest.Event(r)
	if err != nil {
		e.T.Fatal(err)
	}
	return ev
}

// Drained holds once the Slack sink delivered everything published.
func (e *Env) Drained() func() bool { return notifytest.Drained(e.T, e.JS, Stream, slack.Name) }
