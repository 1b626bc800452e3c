package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// TestNATSRestartedDuringTraffic: the NATS server goes away twice for a few seconds and
// is restarted once more at once, while `lcwnotify watch` and `lcwnotify notify` run as
// separate processes and results keep changing. Both reconnect by themselves; nothing is
// lost or doubled.
func TestNATSRestartedDuringTraffic(t *testing.T) {
	t.Parallel()
	seed := randomSeed(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	s := newStack(t, stackOptions{})
	tn := newTenant(s.world.Sim)
	wfs := []graphsim.Workflow{
		tn.workflow("Onboard new hires", graphsim.CategoryJoiner),
		tn.workflow("Offboard leavers", graphsim.CategoryLeaver),
	}
	env := s.env()
	w := s.startReady(withEnv(env, "LCW_INSTANCE", "watcher-1"), "watch")
	n := s.startReady(withEnv(env, "LCW_INSTANCE", "notifier-1"), "notify")

	tr := newTraffic(tn, wfs, seed, busyTenant, scaled(400), 8)
	done := tr.start()
	for i := 1; i <= 3; i++ {
		time.Sleep(time.Duration(1000+rng.IntN(2000)) * time.Millisecond)
		if i < 3 {
			s.nats.Stop()
			time.Sleep(time.Duration(1000+rng.IntN(3000)) * time.Millisecond) // NATS is down
			s.nats.StartAgain()
		} else {
			s.nats.Restart() // down for an instant
		}
		s.waitFor(time.Minute, fmt.Sprintf("both processes back on NATS after outage %d", i), reconnected([]*proc{w, n}, i))
	}
	tr.finish()
	<-done
	s.settle(tn, w, 3*time.Minute, false)
	s.stop(n)
	s.stop(w)
}

// TestSlackOutagesAndRateLimits: while failures keep coming, Slack accepts posts but
// the answers are lost (and its history fails once), then answers HTTP 500 to every post
// for a while, then ok:false internal_error, then a storm of 429s with Retry-After.
// Every failure is posted once; nothing is posted to a channel inside a Retry-After
// window (the fake counts violations, and the stack fails the test on any).
func TestSlackOutagesAndRateLimits(t *testing.T) {
	t.Parallel()
	seed := randomSeed(t)
	s := newStack(t, stackOptions{})
	tn := newTenant(s.world.Sim)
	wfs := []graphsim.Workflow{
		tn.workflow("Onboard new hires", graphsim.CategoryJoiner),
		tn.workflow("Offboard leavers", graphsim.CategoryLeaver),
	}
	p := s.startReady(s.env(), "run")
	slack := s.world.Slack
	tr := newTraffic(tn, wfs, seed, failingTenant, scaled(600), 5)
	done := tr.start()

	phases := []struct {
		name  string
		start func()
		// lasts is how long the outage lasts; zero means until posts consumed the faults.
		lasts time.Duration
		posts int
	}{
		{"answers lost after posting, history failing once", func() {
			slack.FailNextPosts(3, httpfake.Fault{LoseResponse: true})
			slack.FailNextHistory(1, httpfake.Fault{Status: 500})
		}, 0, 4},
		{"HTTP 500 on every post", func() { slack.FailPostsFor(8*time.Second, httpfake.Fault{Status: 500}) }, 8 * time.Second, 0},
		{"ok:false internal_error on every post", func() { slack.FailPostsFor(6*time.Second, httpfake.Fault{Error: "internal_error"}) }, 6 * time.Second, 0},
		{"429 with Retry-After 3 on every post", func() { slack.FailPostsFor(8*time.Second, httpfake.Fault{Status: 429, RetryAfter: "3"}) }, 8 * time.Second, 0},
	}
	for _, ph := range phases {
		// Each outage begins with nothing owed, so that posts are attempted during it
		// rather than backed off from the one before.
		caught := tn.all()
		s.waitFor(2*time.Minute, "the failures so far in Slack before: "+ph.name, func() (bool, string) {
			listed, want := notifiedCount(caught, tn.readSlack(slack.Messages()))
			return listed == want, fmt.Sprintf("%d of %d", listed, want)
		})
		before, accepted := slack.Stats(), len(slack.Messages())
		ph.start()
		if ph.lasts > 0 {
			time.Sleep(ph.lasts) // the outage lasts this long; the traffic goes on
		} else {
			s.waitFor(2*time.Minute, ph.name, func() (bool, string) {
				n := slack.Stats().Posts - before.Posts
				return n >= ph.posts, fmt.Sprintf("%d posts", n)
			})
		}
		after := slack.Stats()
		attempts := after.Posts - before.Posts
		t.Logf("%s: %d posts attempted, %d accepted, %d rate limited", ph.name, attempts, len(slack.Messages())-accepted, after.RateLimited-before.RateLimited)
		if attempts == 0 {
			t.Errorf("%s: lcwnotify attempted no post, so the phase tested nothing", ph.name)
		}
	}
	tr.finish()
	<-done
	s.settle(tn, p, 3*time.Minute, false)
	if got := metric(t, p, "lcwnotify_slack_rate_limited_seconds_total"); got < 3 {
		t.Errorf("lcwnotify_slack_rate_limited_seconds_total = %v, want at least 3 after a storm of Retry-After 3", got)
	}
	s.stop(p)
}

// reconnected returns a condition that holds when each process has re-established its
// NATS connection at least times times.
func reconnected(ps []*proc, times int) func() (bool, string) {
	return func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, p := range ps {
			m, err := p.Metrics(ctx)
			if err != nil {
				return false, err.Error()
			}
			if got := m.Sum("lcwnotify_nats_reconnects_total"); got < float64(times) || m.Sum("lcwnotify_nats_connected") != 1 {
				return false, fmt.Sprintf("%s: %v reconnections, connected %v", p.Name, got, m.Sum("lcwnotify_nats_connected"))
			}
		}
		return true, ""
	}
}

// metric scrapes p's /metrics and returns the sum of the series called name whose
// labels include the given pairs.
func metric(t *testing.T, p *proc, name string, labels ...string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := p.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m.Sum(name, labels...)
}
