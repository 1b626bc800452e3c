package status_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/status"
	"github.com/lcwnotify/lcwnotify/internal/status/statustest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// BenchmarkReport measures what a report of a week of 1,000 failures, all delivered to
// Slack, costs: gathered by a new Reader (the whole window read, the 200 listed settled
// from the ledger), and again by the same Reader with nothing new (what the live page
// pays every few seconds). The baseline is reading and decoding the same 1,000 events
// with an ordered consumer, nothing else.
//
//	go test ./status -run '^$' -bench Report -benchtime 20x
func BenchmarkReport(b *testing.B) {
	e := statustest.New(b)
	for _, wf := range []string{"wf-a", "wf-b"} {
		evs, err := notifytest.Burst(wf, "Offboard "+wf, "User "+wf, 500)
		if err != nil {
			b.Fatal(err)
		}
		e.Publish(evs...)
	}
	notifytest.Eventually(b, "all delivered", e.Drained())
	ctx := context.Background()
	newReader := func() *status.Reader {
		rd, err := status.NewReader(status.Options{JS: e.JS, Stream: statustest.Stream, Prefix: statustest.Prefix,
			Statuses: []string{"failed", "completedWithErrors"}, Links: statustest.Links{}})
		if err != nil {
			b.Fatal(err)
		}
		return rd
	}
	check := func(rep *status.Report, err error) {
		if err != nil || rep.Failures.Matching != 1000 || len(rep.Problems) > 0 || rep.Failures.Items[0].State != status.StateNotified {
			b.Fatalf("report: %v, %v", err, rep.Problems)
		}
	}

	b.Run("baseline: read and decode the events", func(b *testing.B) {
		for b.Loop() {
			cons, err := e.JS.OrderedConsumer(ctx, statustest.Stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{statustest.Prefix + ".result.>"}})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for n < 1000 {
				batch, err := cons.FetchNoWait(256)
				if err != nil {
					b.Fatal(err)
				}
				for msg := range batch.Messages() {
					if _, err := events.Decode(msg.Data()); err == nil {
						n++
					}
				}
			}
		}
	})
	b.Run("first report", func(b *testing.B) {
		for b.Loop() {
			check(newReader().Report(ctx, status.Filter{}))
		}
	})
	b.Run("refresh, nothing new", func(b *testing.B) {
		rd := newReader()
		check(rd.Report(ctx, status.Filter{}))
		for b.Loop() {
			check(rd.Report(ctx, status.Filter{}))
		}
	})
	b.Run("refresh, filtered by state", func(b *testing.B) {
		rd := newReader()
		check(rd.Report(ctx, status.Filter{}))
		for b.Loop() {
			if _, err := rd.Report(ctx, status.Filter{State: status.StateResolved}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
