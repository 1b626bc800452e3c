package main

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
)

// burstResult is the time from a burst of failures in Graph to the last of them in
// Slack, for lcwnotify and for one message per failure.
type burstResult struct {
	runs     []int
	failures int

	// lcwnotify, at Slack's real limit of 1 msg/s per channel: when its first and last
	// messages arrived after the burst, and how many it posted.
	first, last time.Duration
	messages    int
	cpu         time.Duration
	peakRSS     int64

	// One message per failure against a limit of 1/interval messages per second: when
	// its first and last messages arrived, as measured, and the last scaled to 1 msg/s.
	interval            time.Duration
	baseFirst, baseLast time.Duration
	baseLastScaled      time.Duration
	baseMessages        int
}

// token marks each user of the burst and latency tenants ("b0042"), so that a Slack
// line names its result.
var token = regexp.MustCompile(`\*(b\d{4}) `)

// burstUsers adds n users whose names start with a token, from b0001 on.
func burstUsers(sim *graphsim.Sim, n int) []string {
	ids := make([]string, n)
	for i, u := range sim.AddUsers(n) {
		u.DisplayName = fmt.Sprintf("b%04d %s", i+1, u.DisplayName)
		ids[i] = sim.AddUser(u).ID
	}
	return ids
}

// listed returns, per token, the time Slack accepted the first message that listed it.
func listed(msgs []slacktest.Message) map[string]time.Time {
	out := map[string]time.Time{}
	for _, m := range msgs {
		for _, t := range token.FindAllStringSubmatch(m.BlockText(), -1) {
			if _, ok := out[t[1]]; !ok {
				out[t[1]] = m.Received
			}
		}
	}
	return out
}

// burst queues the results of the burst's runs, lets lcwnotify see them, then fails
// them all at once and waits for lcwnotify and the one-message-per-failure notifier to
// deliver every one.
func (b *bench) burst(ctx context.Context) (*burstResult, error) {
	r := &burstResult{runs: b.o.burst, interval: b.o.baselineInterval()}
	for _, n := range r.runs {
		r.failures += n
	}
	var results []string
	s, err := b.newStack(ctx, "burst", func(w *harness.World) {
		wfs := []string{
			w.Sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner}).ID,
			w.Sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard leavers", Category: graphsim.CategoryLeaver}).ID,
		}
		users := burstUsers(w.Sim, r.failures)
		for i, n := range r.runs {
			results = append(results, w.Sim.StartRun(wfs[i%len(wfs)], users[:n]...).Results...)
			users = users[n:]
		}
	})
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.proc.WaitPolls(ctx, 2); err != nil {
		return nil, err
	}
	base := slacktest.New(slacktest.Options{Token: harness.SlackToken, Interval: r.interval})
	defer base.Close()
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := startOnePerFailure(bctx, s.js, base.APIURL(), r.interval); err != nil {
		return nil, err
	}

	u0, err := s.usage()
	if err != nil {
		return nil, err
	}
	b.progress.printf("burst: %d failures (runs of %v) at once", r.failures, r.runs)
	t0 := time.Now()
	for _, id := range results {
		s.world.Sim.SetResultStatus(id, events.StatusFailed)
	}
	err = b.waitDelivered(ctx, "lcwnotify", 2*time.Minute, r.failures, func() int { return len(listed(s.world.Slack.Messages())) })
	if err != nil {
		return nil, err
	}
	msgs := s.world.Slack.Messages()
	r.messages = len(msgs)
	r.first, r.last = msgs[0].Received.Sub(t0), latest(listed(msgs)).Sub(t0)
	u1, err := s.usage()
	if err != nil {
		return nil, err
	}
	r.cpu, r.peakRSS = u1.CPU-u0.CPU, u1.PeakRSS
	b.progress.printf("burst: lcwnotify delivered all %d in %s, in %d messages", r.failures, r.last.Round(10*time.Millisecond), r.messages)

	limit := time.Duration(float64(r.failures)*1.5)*r.interval + 2*time.Minute
	if err := b.waitDelivered(ctx, "one message per failure", limit, r.failures, func() int { return len(base.Messages()) }); err != nil {
		return nil, err
	}
	bm := base.Messages()
	r.baseMessages = len(bm)
	r.baseFirst, r.baseLast = bm[0].Received.Sub(t0), bm[len(bm)-1].Received.Sub(t0)
	// The time to the first post (the watcher's) is not scaled; the posting span is.
	r.baseLastScaled = r.baseFirst + time.Duration(float64(r.baseLast-r.baseFirst)*b.o.timeScale)
	b.progress.printf("burst: one message per failure delivered all %d in %s at %.3g msg/s (%s at 1 msg/s)",
		r.failures, r.baseLast.Round(10*time.Millisecond), 1/r.interval.Seconds(), r.baseLastScaled.Round(time.Second))
	return r, nil
}

// waitDelivered waits until count reports n, printing progress every ten seconds.
func (b *bench) waitDelivered(ctx context.Context, who string, limit time.Duration, n int, count func() int) error {
	next := time.Now().Add(10 * time.Second)
	return waitFor(ctx, limit, fmt.Sprintf("%s to deliver %d failures", who, n), func() (bool, error) {
		got := count()
		if time.Now().After(next) {
			b.progress.printf("waiting for %s: %d of %d delivered", who, got, n)
			next = time.Now().Add(10 * time.Second)
		}
		return got >= n, nil
	})
}

func latest(m map[string]time.Time) time.Time {
	var t time.Time
	for _, v := range m {
		if v.After(t) {
			t = v
		}
	}
	return t
}
