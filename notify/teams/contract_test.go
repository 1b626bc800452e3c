package teams_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

func TestContract(t *testing.T) {
	notifytest.TestSink(t, func(t *testing.T) *notifytest.Harness {
		fake := testFake()
		t.Cleanup(fake.Close)
		hook := fake.Webhook("default")
		t.Cleanup(func() {
			if st := fake.Stats(); st.Refused > 0 || st.TooLarge > 0 || st.Violations > 0 {
				t.Errorf("the fake saw %+v: want no refused card and no request inside a Retry-After", st)
			}
		})
		return &notifytest.Harness{
			NewSink: func(t *testing.T, _ jetstream.JetStream, _ string, log *slog.Logger) notify.Sink {
				return newNotifier(t, testConfig(hook), log)
			},
			Count: countUser(fake),
			Outage: func(on bool) {
				if on {
					fake.FailFor(time.Hour, httpfake.Fault{Status: 502})
				} else {
					fake.FailFor(0, httpfake.Fault{})
				}
			},
			Reject: func(on bool) {
				if on {
					fake.FailFor(time.Hour, httpfake.Fault{Status: 404, Error: "The workflow could not be found."})
				} else {
					fake.FailFor(0, httpfake.Fault{})
				}
			},
			LoseNextResponse: func() { fake.FailNext(1, httpfake.Fault{LoseResponse: true}) },
			Secrets:          []string{hook, fake.Signature("default")},
		}
	})
}
