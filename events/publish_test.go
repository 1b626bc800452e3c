package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
)

func event(t testing.TB, wf, id, status string) *events.Event {
	t.Helper()
	ev, err := events.New("https://graph.example/workflows/"+wf, time.Now(), events.Data{
		Workflow:             events.Workflow{ID: wf, Category: "leaver"},
		UserProcessingResult: json.RawMessage(fmt.Sprintf(`{"id":%q,"processingStatus":%q,"subject":{"id":"u"}}`, id, status)),
		User:                 events.User{ID: "u"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func setup(t *testing.T) (*eventstest.Server, jetstream.JetStream, jetstream.Stream, *events.Publisher) {
	t.Helper()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	ctx := context.Background()
	opts := events.StreamOptions{Name: "LCW", Prefix: "lcw"}
	s, err := events.EnsureStream(ctx, js, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.EnsureStream(ctx, js, opts); err != nil {
		t.Fatalf("EnsureStream is not idempotent: %v", err)
	}
	return srv, js, s, events.NewPublisher(js, "LCW", "lcw")
}

func TestPublishDeduplicates(t *testing.T) {
	_, js, s, p := setup(t)
	ctx := context.Background()
	ev := event(t, "wf-1", "upr-1", "failed")

	first := p.Publish(ctx, ev)
	if first.Err != nil || first.Duplicate {
		t.Fatalf("first Publish = %+v, want stored", first)
	}
	again := p.Publish(ctx, event(t, "wf-1", "upr-1", "failed"))
	if again.Err != nil || !again.Duplicate {
		t.Fatalf("second Publish = %+v, want Duplicate", again)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}

	msg, err := s.GetLastMsgForSubject(ctx, "lcw.result.wf-1.failed")
	if err != nil {
		t.Fatalf("event not on its subject: %v", err)
	}
	if got := msg.Header.Get("Nats-Msg-Id"); got != ev.ID {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, ev.ID)
	}
	if got := msg.Header.Get("Content-Type"); got != events.ContentType {
		t.Errorf("Content-Type = %q, want %q", got, events.ContentType)
	}
	back, err := events.Decode(msg.Data)
	if err != nil || back.ID != ev.ID {
		t.Errorf("stored event decodes to %v, %v", back, err)
	}
	_ = js
}

func TestPublishAll(t *testing.T) {
	_, _, s, p := setup(t)
	ctx := context.Background()
	var evs []*events.Event
	for i := range 200 {
		evs = append(evs, event(t, "wf-2", fmt.Sprintf("upr-%d", i), "completed"))
	}
	evs = append(evs, evs[0]) // the same event twice in one batch
	acks := p.PublishAll(ctx, evs)
	dups := 0
	for i, a := range acks {
		if a.Err != nil {
			t.Fatalf("ack %d: %v", i, a.Err)
		}
		if a.Duplicate {
			dups++
		}
	}
	if dups != 1 {
		t.Errorf("%d duplicates reported, want 1", dups)
	}
	info, _ := s.Info(ctx)
	if info.State.Msgs != 200 {
		t.Errorf("stream holds %d messages, want 200", info.State.Msgs)
	}
}

func TestPublishWhileNATSDownFailsThenRecovers(t *testing.T) {
	srv, _, s, p := setup(t)
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	ev := event(t, "wf-3", "upr-1", "failed")
	if a := p.Publish(ctx, ev); a.Err == nil {
		t.Fatal("Publish succeeded with NATS down")
	}
	if acks := p.PublishAll(ctx, []*events.Event{ev}); acks[0].Err == nil {
		t.Fatal("PublishAll succeeded with NATS down")
	}
	srv.StartAgain()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		a := p.Publish(ctx, ev)
		cancel()
		if a.Err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish after restart: %v", a.Err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages after the outage, want 1", info.State.Msgs)
	}
}

func TestStreamConfigRejectsBadNames(t *testing.T) {
	for _, o := range []events.StreamOptions{
		{Name: "a.b", Prefix: "lcw"},
		{Name: "LCW", Prefix: "lcw.>"},
		{Name: "LCW", Prefix: "lcw", Replicas: 7},
	} {
		if _, err := events.StreamConfig(o); err == nil {
			t.Errorf("StreamConfig(%+v) accepted", o)
		}
	}
}

func BenchmarkPublish(b *testing.B) {
	srv := eventstest.Start(b)
	_, js := srv.Connect(b)
	ctx := context.Background()
	if _, err := events.EnsureStream(ctx, js, events.StreamOptions{Name: "LCW", Prefix: "lcw"}); err != nil {
		b.Fatal(err)
	}
	p := events.NewPublisher(js, "LCW", "lcw")
	b.Run("sync", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if a := p.Publish(ctx, event(b, "wf", fmt.Sprintf("s-%d", i), "failed")); a.Err != nil {
				b.Fatal(a.Err)
			}
		}
	})
	b.Run("batch100", func(b *testing.B) {
		batch := make([]*events.Event, 100)
		n := 0
		for b.Loop() {
			for j := range batch {
				batch[j] = event(b, "wf", fmt.Sprintf("b-%d", n), "failed")
				n++
			}
			for _, a := range p.PublishAll(ctx, batch) {
				if a.Err != nil {
					b.Fatal(a.Err)
				}
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	})
}
