package slack_test

import (
	"context"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/slack"
)

// benchInterval is the per-channel limit the fake Slack enforces and the notifier paces
// to. Slack's is one second; the default scales it down 50 times so that the baseline,
// which needs one interval per failure, takes seconds instead of six minutes. The ratio
// between grouped and baseline does not depend on the scale; run with -interval=1s for
// Slack's real pace.
var benchInterval = flag.Duration("interval", 20*time.Millisecond, "per-channel Slack limit in BenchmarkBurst")

// BenchmarkBurst delivers 350 failures published in one burst (300 from one run of one
// workflow, 50 from another) to one Slack channel under the per-channel limit: grouped,
// as lcwnotify does, and one message per failure, the baseline.
func BenchmarkBurst(b *testing.B) {
	for _, bc := range []struct {
		name          string
		maxPerMessage int
	}{
		{"grouped", 0},
		{"one-per-failure", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var msgs, worst float64
			for range b.N {
				m, w := burst(b, *benchInterval, bc.maxPerMessage)
				msgs += float64(m)
				worst = max(worst, w.Seconds())
			}
			b.ReportMetric(msgs/float64(b.N), "messages/burst")
			b.ReportMetric(worst, "worst-latency-s")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/burst")
		})
	}
}

// burst runs one burst and returns the messages it took and the longest time from a
// failure's observation to the message that carried it.
func burst(b *testing.B, interval time.Duration, maxPerMessage int) (int, time.Duration) {
	b.StopTimer()
	fake := slacktest.New(slacktest.Options{Interval: interval})
	defer fake.Close()
	srv := eventstest.Start(b)
	_, js := srv.Connect(b)
	ctx := context.Background()
	if _, err := events.EnsureStream(ctx, js, events.StreamOptions{Name: "LCW", Prefix: "lcw"}); err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	n, err := slack.New(slack.Config{Token: fake.Token(), Channel: "C0ALERTS01", APIURL: fake.APIURL(), Interval: interval}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	o := notifytest.DispatcherOptions(js, "LCW", "lcw", n)
	o.Logger, o.MaxPerMessage = quiet, maxPerMessage
	stop := notifytest.RunDispatcher(b, o)
	defer stop()
	contractors, err := notifytest.Burst("wf-contractors", "Offboard contractors", "Contractor", 300)
	if err != nil {
		b.Fatal(err)
	}
	employees, err := notifytest.Burst("wf-employees", "Offboard employees", "Employee", 50)
	if err != nil {
		b.Fatal(err)
	}
	evs := append(contractors, employees...)
	now := time.Now()
	for _, ev := range evs {
		ev.Time = now
	}
	p := events.NewPublisher(js, "LCW", "lcw")

	b.StartTimer()
	for _, a := range p.PublishAll(ctx, evs) {
		if a.Err != nil {
			b.Fatal(a.Err)
		}
	}
	var worst time.Duration
	seen := map[string]bool{}
	deadline := time.Now().Add(time.Duration(len(evs)+30) * max(interval, 50*time.Millisecond) * 2)
	for len(seen) < len(evs) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d failures delivered by the deadline", len(seen), len(evs))
		}
		time.Sleep(time.Millisecond)
		for _, m := range fake.Messages() {
			text := m.BlockText()
			for _, ev := range evs {
				if !seen[ev.ID] && strings.Contains(text, "*"+ev.Data.User.DisplayName+"*") {
					seen[ev.ID] = true
					worst = max(worst, m.Received.Sub(now))
				}
			}
		}
	}
	b.StopTimer()
	if st := fake.Stats(); st.Violations > 0 || len(fake.Messages()) != st.Posts-st.RateLimited {
		b.Errorf("fake Slack saw %+v for %d messages", st, len(fake.Messages()))
	}
	return len(fake.Messages()), worst
}
