package pagerduty_test

import (
	"context"
	"flag"
	"log/slog"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/pagerdutytest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/pagerduty"
)

// benchScale divides PagerDuty's pace and the fake's window: at its real limit of 120
// events a minute the burst takes three minutes a run. Times scale with it; the counts
// of events and 429s do not. -scale 1 runs at PagerDuty's real pace.
var benchScale = flag.Float64("scale", 50, "divide PagerDuty's rate window and lcwnotify's pace by this in BenchmarkBurst")

// BenchmarkBurst delivers 350 failures published at once (300 from one run of one
// workflow, 50 from another) to one routing key under PagerDuty's limit, enforced by the
// fake: paced as lcwnotify paces (a token bucket of 10, refilled 110 a minute); the
// one-event-per-failure baseline, which for PagerDuty is the same thing (each user is an
// alert of their own); and unpaced, every event sent at once and the 429s waited out.
func BenchmarkBurst(b *testing.B) {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / *benchScale) }
	for _, bc := range []struct {
		name          string
		interval      time.Duration
		burst         int
		maxPerMessage int
	}{
		{"paced", scale(pagerduty.DefaultInterval), pagerduty.DefaultBurst, 0},
		{"one-per-failure", scale(pagerduty.DefaultInterval), pagerduty.DefaultBurst, 1},
		{"unpaced", time.Nanosecond, 1000, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var events, limited float64
			for range b.N {
				st := burst(b, bc.interval, bc.burst, bc.maxPerMessage, scale)
				events += float64(st.Requests)
				limited += float64(st.RateLimited)
			}
			b.ReportMetric(events/float64(b.N), "requests/burst")
			b.ReportMetric(limited/float64(b.N), "429s/burst")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/burst")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)**benchScale, "real-pace-s/burst")
		})
	}
}

// burst runs one burst and returns what the fake counted.
func burst(b *testing.B, interval time.Duration, bucket, maxPerMessage int, scale func(time.Duration) time.Duration) pagerdutytest.Stats {
	b.StopTimer()
	fake := pagerdutytest.New(pagerdutytest.Options{Window: scale(pagerdutytest.DefaultWindow)})
	defer fake.Close()
	srv := eventstest.Start(b)
	_, js := srv.Connect(b)
	ctx := context.Background()
	if _, err := events.EnsureStream(ctx, js, events.StreamOptions{Name: stream, Prefix: prefix}); err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	n := newNotifier(b, pagerduty.Config{RoutingKey: keyOncall, URL: fake.URL(), Interval: interval, Burst: bucket,
		DefaultRetryAfter: scale(pagerduty.DefaultRetryAfter)}, quiet)
	o := notifytest.DispatcherOptions(js, stream, prefix, n)
	o.Logger, o.MaxPerMessage = quiet, maxPerMessage
	stop := notifytest.RunDispatcher(b, o)
	defer stop()
	evs, err := notifytest.OffboardingBurst()
	if err != nil {
		b.Fatal(err)
	}
	p := events.NewPublisher(js, stream, prefix)

	b.StartTimer()
	for _, a := range p.PublishAll(ctx, evs) {
		if a.Err != nil {
			b.Fatal(a.Err)
		}
	}
	deadline := time.Now().Add(10 * time.Minute)
	for len(fake.Alerts()) < len(evs) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d alerts by the deadline", len(fake.Alerts()), len(evs))
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	return fake.Stats()
}
