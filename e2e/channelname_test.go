package e2e

import (
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// TestChannelByNameFirstAnswerLost: with LCW_SLACK_CHANNEL given as a name (which the
// contract allows), Slack accepts the very first post but its answer is lost. The
// notifier looked the channel's id up before posting, so it reads the history back and
// does not post again: the failure is notified once.
func TestChannelByNameFirstAnswerLost(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.channel = harness.DefaultChannel
	tn := newTenant(s.world.Sim)
	joiner := tn.workflow("Onboard new hires", graphsim.CategoryJoiner)
	p := s.startReady(s.env(), "run")
	s.world.Slack.FailNextPosts(1, httpfake.Fault{LoseResponse: true})
	tn.startRun(joiner, runSpec{users: 1, status: "failed"})
	s.settle(tn, p, 2*time.Minute, false)
	s.stop(p)
}
