package watcher

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// dayModes are the polling configurations the simulated day compares.
var dayModes = []struct {
	name         string
	idle, active time.Duration
}{
	{"fixed-60s", time.Minute, time.Minute},
	{"fixed-5s", 5 * time.Second, 5 * time.Second},
	{"adaptive-60s-5s", time.Minute, 5 * time.Second},
}

// BenchmarkSimulatedDay plays one simulated day of a tenant with 10 workflows on the
// 3-hour schedule (runs of 1–300 users lasting 1–20 minutes, 5 % of results failed and
// 2 % completedWithErrors) and two on-demand runs started in the portal at random
// times, against the watcher under Run on a simulated clock — the real Graph client
// over HTTP, the simulator, a real nats-server — once per polling configuration: fixed
// 60 s, fixed 5 s and adaptive (60 s idle, 5 s active). It reports Graph requests per
// hour and the time from a failure first being served by Graph (its completedDateTime:
// the simulator has no reporting lag) to the watcher publishing it, for failures in
// scheduled and in on-demand runs. Every configuration sees the same day (same seeds).
// The run takes minutes of real time, most of it the fixed-5s day's 600 000 requests.
//
//	go test ./watcher -run '^$' -bench SimulatedDay -benchtime 1x -timeout 30m
func BenchmarkSimulatedDay(b *testing.B) {
	for _, m := range dayModes {
		b.Run(m.name, func(b *testing.B) {
			var d dayResult
			for b.Loop() {
				d = playDay(b, m.idle, m.active, 24*time.Hour)
			}
			b.ReportMetric(d.requestsPerHour, "req/h")
			b.ReportMetric(d.scheduled.percentile(50).Seconds(), "p50-s")
			b.ReportMetric(d.scheduled.percentile(99).Seconds(), "p99-s")
			b.ReportMetric(d.onDemand.percentile(50).Seconds(), "ondemand-p50-s")
			b.ReportMetric(d.onDemand.percentile(99).Seconds(), "ondemand-p99-s")
			b.Logf("%s: %.0f requests/h; failures in scheduled runs: %s; in on-demand runs: %s; %d results, %d events",
				m.name, d.requestsPerHour, d.scheduled, d.onDemand, d.results, d.events)
		})
	}
}

// dayResult is what one simulated day measured.
type dayResult struct {
	requestsPerHour     float64
	scheduled, onDemand latencies
	results, events     int
}

// latencies are sorted durations.
type latencies []time.Duration

// percentile returns the p-th percentile by nearest rank, 0 without samples.
func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(float64(len(l))*p/100+0.999999) - 1
	return l[min(max(i, 0), len(l)-1)]
}

func (l latencies) String() string {
	if len(l) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d, p50 %v, p99 %v, max %v", len(l), l.percentile(50).Round(10*time.Millisecond),
		l.percentile(99).Round(10*time.Millisecond), l[len(l)-1].Round(10*time.Millisecond))
}

// playDay plays the day for a watcher polling every idle interval, and every active
// interval while a workflow is active.
func playDay(b *testing.B, idle, active, length time.Duration) dayResult {
	start := t0
	sc := newSimClock(start)
	e := newEnvOn(b, nil, graphsim.Options{Now: sc.Now, Seed: 1})
	var wfs []string
	for i := range 10 {
		wf := e.sim.AddWorkflow(graphsim.Workflow{DisplayName: fmt.Sprintf("Workflow %d", i),
			Category: graphsim.CategoryLeaver, ScheduleOffset: time.Duration(i)*17*time.Minute + 5*time.Minute})
		wfs = append(wfs, wf.ID)
	}
	e.sim.SetScheduleHook(graphsim.RandomRuns(7, graphsim.RandomRunsOptions{FailedRate: 0.05, ErrorsRate: 0.02}))
	portalUsers := e.sim.AddUsers(20)
	rng := mrand.New(mrand.NewPCG(11, 13))
	e.sim.SetActivationOutcome(func(_ graphsim.Activation, _ string) graphsim.Outcome {
		o := graphsim.Outcome{StartAfter: time.Duration(10+rng.IntN(50)) * time.Second,
			Duration: time.Duration(60+rng.IntN(540)) * time.Second}
		if rng.Float64() < 0.3 {
			o.Status = events.StatusFailed
		}
		return o
	})
	// Two runs started in the portal at random times: lcwnotify hears nothing of them.
	var portal []time.Time
	for range 2 {
		portal = append(portal, start.Add(time.Hour+time.Duration(rng.Int64N(int64(length-2*time.Hour)))))
	}
	slices.SortFunc(portal, func(a, b time.Time) int { return a.Compare(b) })
	next := 0

	w := e.watcher(func(o *Options) {
		o.Clock, o.PollInterval, o.ActiveInterval, o.Instance = sc, idle, active, "bench"
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	eventually(b, "the first poll", func() bool { return !w.LastSuccess().IsZero() })
	sc.runUntil(b, 2, start.Add(length), portal, func(time.Time) {
		users := make([]string, 0, 10)
		for _, u := range portalUsers[next*10 : next*10+10] {
			users = append(users, u.ID)
		}
		if err := e.graph.Activate(context.Background(), wfs[rng.IntN(len(wfs))], users); err != nil {
			b.Fatalf("start a run in the portal: %v", err)
		}
		next++
	})
	requests := e.sim.Stats().Requests
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}

	d := dayResult{requestsPerHour: float64(requests) / length.Hours()}
	for _, id := range wfs {
		for _, run := range e.sim.Runs(id) {
			d.results += len(run.Results)
		}
	}
	for _, m := range streamMessages(b, e.js) {
		d.events++
		ev, err := events.Decode(m.Data())
		if err != nil {
			b.Fatal(err)
		}
		r, _ := ev.Data.Result()
		if r.CompletedDateTime == nil || (r.ProcessingStatus != events.StatusFailed && r.ProcessingStatus != events.StatusCompletedWithErrors) {
			continue
		}
		l := ev.Time.Sub(*r.CompletedDateTime)
		if r.WorkflowExecutionType == graphsim.ExecutionScheduled {
			d.scheduled = append(d.scheduled, l)
		} else {
			d.onDemand = append(d.onDemand, l)
		}
	}
	slices.Sort(d.scheduled)
	slices.Sort(d.onDemand)
	return d
}

// streamMessages reads every message of the stream with an ordered consumer (one
// request per message would take longer than the day).
func streamMessages(b *testing.B, js jetstream.JetStream) []jetstream.Msg {
	ctx := context.Background()
	s, err := js.Stream(ctx, "LCW")
	if err != nil {
		b.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.AllResults("lcw")}})
	if err != nil {
		b.Fatal(err)
	}
	var out []jetstream.Msg
	for uint64(len(out)) < info.State.Msgs {
		batch, err := c.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		n := len(out)
		for m := range batch.Messages() {
			out = append(out, m)
		}
		if len(out) == n {
			b.Fatalf("read %d of %d messages of the stream", n, info.State.Msgs)
		}
	}
	return out
}
