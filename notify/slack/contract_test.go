package slack_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/slack"
)

// testInterval is the per-channel pace in tests: Slack's, scaled down.
const testInterval = 50 * time.Millisecond

func testConfig(fake *slacktest.Slack) slack.Config {
	return slack.Config{
		Token:    fake.Token(),
		Channel:  "C0ALERTS01",
		APIURL:   fake.APIURL(),
		Interval: testInterval,
	}
}

// newSink returns the bot-token notifier or, for a webhook URL, the incoming webhook.
func newSink(t testing.TB, cfg slack.Config, log *slog.Logger) notify.Sink {
	t.Helper()
	var s notify.Sink
	var err error
	if cfg.WebhookURL != "" {
		s, err = slack.NewWebhook(cfg, log)
	} else {
		s, err = slack.New(cfg, log)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countByUser counts the messages that name ev's user.
func countByUser(fake *slacktest.Slack) func(ev *events.Event) int {
	return func(ev *events.Event) int {
		n := 0
		for _, m := range fake.Messages() {
			if strings.Contains(m.BlockText(), "*"+ev.Data.User.DisplayName+"*") {
				n++
			}
		}
		return n
	}
}

func harness(t *testing.T, fake *slacktest.Slack, cfg func() slack.Config) *notifytest.Harness {
	return &notifytest.Harness{
		NewSink: func(t *testing.T, js jetstream.JetStream, stream string, log *slog.Logger) notify.Sink {
			return newSink(t, cfg(), log)
		},
		Count: countByUser(fake),
		Outage: func(on bool) {
			if on {
				fake.FailFor(time.Hour, httpfake.Fault{Status: 503})
			} else {
				fake.FailFor(0, httpfake.Fault{})
			}
		},
		LoseNextResponse: func() { fake.FailNextPosts(1, httpfake.Fault{LoseResponse: true}) },
		Secrets:          []string{fake.Token(), fake.WebhookURL(), strings.TrimPrefix(fake.WebhookURL(), fake.APIURL())},
	}
}

func TestContractBotToken(t *testing.T) {
	notifytest.TestSink(t, func(t *testing.T) *notifytest.Harness {
		fake := slacktest.New(slacktest.Options{Interval: testInterval})
		t.Cleanup(fake.Close)
		h := harness(t, fake, func() slack.Config { return testConfig(fake) })
		h.ExactlyOnce = true
		h.Reject = func(on bool) {
			if on {
				fake.FailFor(time.Hour, httpfake.Fault{Error: "invalid_auth"})
			} else {
				fake.FailFor(0, httpfake.Fault{})
			}
		}
		return h
	})
}

func TestContractIncomingWebhook(t *testing.T) {
	notifytest.TestSink(t, func(t *testing.T) *notifytest.Harness {
		fake := slacktest.New(slacktest.Options{Interval: testInterval})
		t.Cleanup(fake.Close)
		h := harness(t, fake, func() slack.Config {
			return slack.Config{WebhookURL: fake.WebhookURL(), Interval: testInterval}
		})
		h.Reject = func(on bool) {
			if on {
				fake.FailFor(time.Hour, httpfake.Fault{Status: 404, Error: "no_service"})
			} else {
				fake.FailFor(0, httpfake.Fault{})
			}
		}
		return h
	})
}
