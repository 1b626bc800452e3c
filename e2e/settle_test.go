package e2e

import (
	"fmt"
	"strings"
	"time"
)

// settle waits until everything the tenant did has gone through — the stream holds
// every result's final status, Slack lists every failure, the Slack consumer holds
// nothing more to deliver — and the watcher of w has polled twice more, then checks
// that every failure was notified exactly once and the stream against the truth (exact:
// see streamProblems). limit bounds each wait.
func (s *stack) settle(tn *tenant, w *proc, limit time.Duration, exact bool) {
	s.t.Helper()
	rs := tn.all()
	s.waitFor(limit, "every change in the stream", func() (bool, string) {
		return caughtUp(rs, tn.readStream(s.events()))
	})
	s.waitFor(limit, "every failure in Slack", func() (bool, string) {
		v := tn.readSlack(s.world.Slack.Messages())
		listed, want := notifiedCount(rs, v)
		if listed == want {
			return true, ""
		}
		var missing []string
		for _, r := range rs {
			if r.notifiable() && len(v.byResult[r.ID]) == 0 && len(missing) < 5 {
				missing = append(missing, fmt.Sprintf("%s (user %q)", r.ID, r.UserName))
			}
		}
		return false, fmt.Sprintf("%d of %d failures in Slack (%d messages); missing e.g. %s",
			listed, want, v.messages, strings.Join(missing, ", "))
	})
	s.waitFor(limit, "the Slack notifier to hold nothing more", func() (bool, string) { return s.drained("slack") })
	s.waitPolls(w, 2)
	s.waitFor(limit, "the Slack notifier to hold nothing more after two more polls", func() (bool, string) { return s.drained("slack") })

	v := tn.readSlack(s.world.Slack.Messages())
	report(s.t, "Slack", slackProblems(rs, v, s.defaultChannel()))
	report(s.t, "stream", streamProblems(rs, tn.readStream(s.events()), exact))
	listed, want := notifiedCount(rs, v)
	s.t.Logf("settled: %s; %d of %d failures notified, in %d Slack messages", counts(rs), listed, want, v.messages)
}
