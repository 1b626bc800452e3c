package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/e2e/harness"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/watcher/graphsim"
)

// TestChannelByNameFirstAnswerLost: with LCW_SLACK_CHANNEL given as a name (which the
// contract allows), Slack accepts the very first post but its answer is lost. The
// notifier never learned the channel's id, so it cannot read the history back and posts
// again: the failure is notified twice. A known defect of notify/slack, reported; the
// test runs with LCW_E2E_KNOWN_DEFECTS=1 and is to run always once it is fixed.
func TestChannelByNameFirstAnswerLost(t *testing.T) {
	if os.Getenv("LCW_E2E_KNOWN_DEFECTS") != "1" {
		t.Skip("known defect: a channel configured by name whose first post lost its answer is posted to twice (set LCW_E2E_KNOWN_DEFECTS=1 to run)")
	}
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.channel = harness.DefaultChannel
	tn := newTenant(s.world.Sim)
	joiner := tn.workflow("Onboard new hires", graphsim.CategoryJoiner)
	p := s.startReady(s.env(), "run")
	s.world.Slack.FailNextPosts(1, notifytest.Fault{LoseResponse: true})
	tn.startRun(joiner, runSpec{users: 1, status: "failed"})
	s.settle(tn, p, 2*time.Minute, false)
	s.stop(p)
}
