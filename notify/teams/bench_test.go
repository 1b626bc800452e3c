package teams_test

import (
	"context"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/teamstest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/teams"
)

// benchScale divides the webhook's pace (one card per 500 ms) and Teams' throttling
// window (four requests a second): the one-card-per-failure baseline takes three
// minutes at the real pace. Times scale with it; counts do not. -scale 1 is real time.
var benchScale = flag.Float64("scale", 25, "divide the Teams pace and throttling window by this in BenchmarkBurst")

// BenchmarkBurst delivers 350 failures published at once (300 from one run of one
// workflow, 50 from another) to one Teams webhook under its throttling, enforced by the
// fake: grouped as lcwnotify groups them, and one card per failure, the baseline.
func BenchmarkBurst(b *testing.B) {
	for _, bc := range []struct {
		name          string
		maxPerMessage int
	}{
		{"grouped", 0},
		{"one-per-failure", 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var cards, worst, bytes float64
			for range b.N {
				c, w, by := burst(b, bc.maxPerMessage)
				cards += float64(c)
				worst = max(worst, w.Seconds())
				bytes = max(bytes, float64(by))
			}
			b.ReportMetric(cards/float64(b.N), "cards/burst")
			b.ReportMetric(worst, "worst-latency-s")
			b.ReportMetric(bytes, "largest-card-bytes")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/burst")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)**benchScale, "real-pace-s/burst")
		})
	}
}

// burst runs one burst and returns the cards it took, the longest time from the
// publication to the card listing a failure, and the largest card.
func burst(b *testing.B, maxPerMessage int) (int, time.Duration, int) {
	b.StopTimer()
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / *benchScale) }
	fake := teamstest.New(teamstest.Options{Window: scale(teamstest.DefaultWindow)})
	defer fake.Close()
	srv := eventstest.Start(b)
	_, js := srv.Connect(b)
	ctx := context.Background()
	if _, err := events.EnsureStream(ctx, js, events.StreamOptions{Name: stream, Prefix: prefix}); err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	n := newNotifier(b, teams.Config{WebhookURL: fake.Webhook("default"), Interval: scale(teams.DefaultInterval)}, quiet)
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
	start := time.Now()
	for _, a := range p.PublishAll(ctx, evs) {
		if a.Err != nil {
			b.Fatal(a.Err)
		}
	}
	var worst time.Duration
	largest := 0
	seen := map[string]bool{}
	deadline := time.Now().Add(10 * time.Minute)
	for len(seen) < len(evs) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d failures delivered by the deadline", len(seen), len(evs))
		}
		time.Sleep(time.Millisecond)
		for _, c := range fake.Cards() {
			text := c.Text()
			largest = max(largest, c.Bytes)
			for _, ev := range evs {
				if !seen[ev.ID] && strings.Contains(text, "**"+ev.Data.User.DisplayName+"**") {
					seen[ev.ID] = true
					worst = max(worst, c.Received.Sub(start))
				}
			}
		}
	}
	b.StopTimer()
	if st := fake.Stats(); st.Violations > 0 || st.Refused > 0 || st.TooLarge > 0 {
		b.Errorf("fake Teams saw %+v", st)
	}
	return len(fake.Cards()), worst, largest
}
