package watcher

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/digest"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// digests decodes every digest in the stream.
func (e *env) digests() []*events.DigestEvent {
	e.t.Helper()
	var out []*events.DigestEvent
	for _, m := range e.messages() {
		if m.Subject != events.DigestSubject("lcw") {
			continue
		}
		ev, err := events.DecodeDigestEvent(m.Data)
		if err != nil {
			e.t.Fatalf("digest: %v", err)
		}
		if m.Header.Get("Nats-Msg-Id") != ev.ID {
			e.t.Errorf("digest %s sent as %q", ev.ID, m.Header.Get("Nats-Msg-Id"))
		}
		out = append(out, ev)
	}
	return out
}

func digestSchedule(t *testing.T, spec, zone string) *digest.Schedule {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	s, err := digest.Parse(spec, loc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) checkDigest(w *Watcher, want DigestOutcome) {
	e.t.Helper()
	got, err := w.CheckDigest(context.Background())
	if got != want {
		e.t.Fatalf("CheckDigest = %s (%v), want %s", got, err, want)
	}
}

// TestDigestOncePerPeriod: the first start records the period that just ended; each
// period after is published once, with the figures of the results the test made,
// whatever restarts, replicas and kills between publishing and recording; of periods
// missed while nothing ran, the latest is sent.
func TestDigestOncePerPeriod(t *testing.T) {
	e := newEnv(t) // t0 is Monday 2025-03-10 12:00 UTC
	wf, u := e.workflow("Offboard", 4)
	sched := digestSchedule(t, "daily@09:00", "UTC")
	reg := prometheus.NewRegistry()
	withDigest := func(o *Options) { o.Digest, o.Metrics = sched, NewMetrics(nil) }
	w := e.watcher(withDigest, func(o *Options) { o.Metrics = NewMetrics(reg) })
	e.checkDigest(w, DigestFirst)
	e.checkDigest(w, DigestNotDue)

	// The period 2025-03-10 09:00 to 2025-03-11 09:00: two completed, one failed, one
	// completed with errors.
	e.clock.advance(time.Hour)
	for i, st := range []string{events.StatusCompleted, events.StatusCompleted, events.StatusFailed, events.StatusCompletedWithErrors} {
		e.sim.StartRunWith(wf.ID, graphsim.RunSpec{Users: u[i : i+1], Status: st})
	}
	e.clock.advance(20*time.Hour + 30*time.Second) // 2025-03-11 09:00:30
	e.checkDigest(w, DigestPublished)
	e.checkDigest(w, DigestNotDue)
	e.checkDigest(e.watcher(withDigest), DigestNotDue) // a restart, or the other replica
	ds := e.digests()
	if len(ds) != 1 {
		t.Fatalf("%d digests, want 1", len(ds))
	}
	d := ds[0].Data
	wantPeriod := events.Period{Start: time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC), End: time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC),
		Schedule: "daily@09:00", TimeZone: "UTC"}
	if !d.Period.Start.Equal(wantPeriod.Start) || !d.Period.End.Equal(wantPeriod.End) || d.Period.Schedule != wantPeriod.Schedule || d.Partial {
		t.Errorf("period = %+v (partial %v), want %+v", d.Period, d.Partial, wantPeriod)
	}
	if len(d.Workflows) != 1 || d.Workflows[0].Users != (events.UserCounts{Processed: 4, Succeeded: 2, Failed: 1, CompletedWithErrors: 1}) ||
		d.Workflows[0].UnresolvedTotal != 2 || ds[0].ID != events.DigestID(d.Period) {
		t.Errorf("digest = %+v", d)
	}
	if got := testutil.ToFloat64(w.metrics.digests.WithLabelValues("published")); got != 1 {
		t.Errorf("digests{published} = %v", got)
	}

	// Killed between publishing the next one and recording it: the next process
	// publishes it again, absorbed, and records it.
	e.clock.advance(24 * time.Hour)
	crash(w)
	if _, err := w.CheckDigest(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("CheckDigest = %v, want the crash", err)
	}
	again := e.watcher(withDigest)
	e.checkDigest(again, DigestDuplicate)
	e.checkDigest(again, DigestNotDue)
	if n := len(e.digests()); n != 2 {
		t.Fatalf("%d digests after the crash, want 2", n)
	}

	// Down for three periods: only the latest is sent.
	e.clock.advance(3 * 24 * time.Hour)
	e.checkDigest(again, DigestPublished)
	ds = e.digests()
	if last := ds[len(ds)-1].Data.Period; len(ds) != 3 || !last.End.Equal(sched.Latest(e.clock.now()).End) {
		t.Errorf("%d digests, the last for %+v: want 3, the last for the latest period", len(ds), last)
	}
	e.noDuplicates()

	// Another schedule starts over: nothing is sent for the period that just ended.
	weekly := e.watcher(func(o *Options) { o.Digest = digestSchedule(t, "weekly@mon 09:00", "UTC") })
	e.checkDigest(weekly, DigestFirst)
	e.checkDigest(weekly, DigestNotDue)
}

// TestDigestAcrossDaylightSaving: in Europe/Berlin the period ending on the last Sunday
// of October at 09:00 lasts 25 hours and ends at 08:00 UTC.
func TestDigestAcrossDaylightSaving(t *testing.T) {
	e := newEnv(t)
	e.clock.t = time.Date(2025, 10, 25, 10, 0, 0, 0, time.UTC) // Saturday, 12:00 in Berlin
	e.workflow("Offboard", 0)
	w := e.watcher(func(o *Options) { o.Digest = digestSchedule(t, "daily@09:00", "Europe/Berlin") })
	e.checkDigest(w, DigestFirst)
	e.clock.t = time.Date(2025, 10, 26, 7, 59, 0, 0, time.UTC) // 08:59 CET
	e.checkDigest(w, DigestNotDue)
	e.clock.t = time.Date(2025, 10, 26, 8, 0, 30, 0, time.UTC) // 09:00:30 CET
	e.checkDigest(w, DigestPublished)
	p := e.digests()[0].Data.Period
	if !p.Start.Equal(time.Date(2025, 10, 25, 7, 0, 0, 0, time.UTC)) || !p.End.Equal(time.Date(2025, 10, 26, 8, 0, 0, 0, time.UTC)) ||
		p.TimeZone != "Europe/Berlin" {
		t.Errorf("period %+v, want 2025-10-25 07:00Z to 2025-10-26 08:00Z in Europe/Berlin", p)
	}
}

// TestDigestRetriedThenMarkedPartial: a digest Graph does not answer whole is retried
// with backoff; past the patience it is published marked partial, never as whole.
func TestDigestRetriedThenMarkedPartial(t *testing.T) {
	e := newEnv(t)
	e.workflow("Offboard", 0)
	// A client that gives up on a 503 quickly: the digest's own retries are under test.
	impatient, err := graph.New(graph.Options{BaseURL: e.url, Credential: graph.NewStaticCredential("test-token"),
		TenantID: "tenant-1", MaxRetryTime: 50 * time.Millisecond, Logger: e.log})
	if err != nil {
		t.Fatal(err)
	}
	w := e.watcher(func(o *Options) {
		o.Graph, o.Digest, o.DigestPatience = impatient, digestSchedule(t, "daily@09:00", "UTC"), 30*time.Minute
	})
	e.checkDigest(w, DigestFirst)
	e.clock.advance(21 * time.Hour) // past 09:00
	e.sim.InjectFault(graphsim.Fault{Op: graphsim.OpRunSummary, Kind: graphsim.FaultUnavailable, Times: 1000})
	if _, err := w.CheckDigest(context.Background()); err == nil || !strings.Contains(err.Error(), "run summary") {
		t.Fatalf("CheckDigest = %v, want a retry naming the run summary", err)
	}
	e.checkDigest(w, DigestWaiting) // backoff
	e.clock.advance(time.Minute)
	e.checkDigest(w, DigestRetry)
	if n := len(e.digests()); n != 0 {
		t.Fatalf("%d digests published while retrying", n)
	}
	e.clock.advance(40 * time.Minute)
	e.checkDigest(w, DigestPartial)
	d := e.digests()[0].Data
	if !d.Partial || !strings.Contains(d.Workflows[0].Missing, "run summary") {
		t.Errorf("digest = %+v, want partial and saying what is missing", d)
	}

	// Graph answers again: the next period is whole.
	e.sim.ClearFaults()
	e.clock.advance(24 * time.Hour)
	e.checkDigest(w, DigestPublished)
	if d := e.digests()[1].Data; d.Partial {
		t.Errorf("next digest partial: %+v", d)
	}
}

// TestDigestTwoReplicas: two replicas under Run, the leader stopped mid-period: each
// period's digest is published once, by whichever holds the lease.
func TestDigestTwoReplicas(t *testing.T) {
	e := newEnv(t)
	e.workflow("Offboard", 0)
	sched := digestSchedule(t, "daily@09:00", "UTC")
	withDigest := func(o *Options) { o.Digest = sched }
	a := e.start("a", withDigest)
	eventually(t, "a leading", a.w.Leader)
	b := e.start("b", withDigest)
	eventually(t, "the schedule recorded", func() bool {
		_, err := a.w.state.kv.Get(context.Background(), digestKey)
		return err == nil
	})
	e.clock.advance(21 * time.Hour) // the period ends
	eventually(t, "the first digest", func() bool { return len(e.digests()) == 1 })

	a.stop(t) // mid-period
	eventually(t, "b leading", b.w.Leader)
	e.clock.advance(24 * time.Hour)
	eventually(t, "the second digest", func() bool { return len(e.digests()) == 2 })
	b.stop(t)
	ds := e.digests()
	if len(ds) != 2 || ds[0].ID == ds[1].ID || !ds[1].Data.Period.Start.Equal(ds[0].Data.Period.End) {
		t.Errorf("digests %+v, want two consecutive periods", ds)
	}
}
