package pagerduty_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/pagerdutytest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

func TestContract(t *testing.T) {
	notifytest.TestSink(t, func(t *testing.T) *notifytest.Harness {
		fake := pagerdutytest.New(pagerdutytest.Options{Keys: []string{keyOncall}})
		t.Cleanup(fake.Close)
		t.Cleanup(func() {
			// However often an event was sent, PagerDuty holds one alert per user.
			seen := map[string]bool{}
			for _, a := range fake.Alerts() {
				if seen[a.DedupKey] {
					t.Errorf("two alerts for dedup_key %s", a.DedupKey)
				}
				seen[a.DedupKey] = true
			}
		})
		return &notifytest.Harness{
			NewSink: func(t *testing.T, _ jetstream.JetStream, _ string, log *slog.Logger) notify.Sink {
				return newNotifier(t, testConfig(fake), log)
			},
			Count: func(ev *events.Event) int { return triggersOf(fake, ev) },
			Outage: func(on bool) {
				if on {
					fake.FailFor(time.Hour, httpfake.Fault{Status: 503})
				} else {
					fake.FailFor(0, httpfake.Fault{})
				}
			},
			Reject: func(on bool) {
				if on {
					fake.FailFor(time.Hour, httpfake.Fault{Status: 400, Error: "'payload.severity' is invalid"})
				} else {
					fake.FailFor(0, httpfake.Fault{})
				}
			},
			LoseNextResponse: func() { fake.FailNext(1, httpfake.Fault{LoseResponse: true}) },
			Secrets:          []string{keyOncall},
		}
	})
}
