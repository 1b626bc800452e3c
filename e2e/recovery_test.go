package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
)

// recoveryBound is how soon after a crash mid-post the next process must have settled
// the post: found it in the channel or posted it, once. The design gives about seven
// seconds (the lease, and the acknowledgement deadline after which the stream hands the
// event over); the bound leaves room for a loaded CI machine, and still fails the
// minute and a half the first release took.
const recoveryBound = 15 * time.Second

// killOnPost arms a tap to kill the process when Slack accepts its n-th post, before
// the answer reaches it, and reports when it did.
func killOnPost(t *testing.T, s *stack, n int32) (*harness.Tap, func(p *proc), <-chan time.Time) {
	t.Helper()
	tap, err := harness.NewTap(strings.TrimSuffix(s.world.Slack.APIURL(), "/api/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tap.Close)
	var target atomic.Pointer[proc]
	var posts atomic.Int32
	killed := make(chan time.Time, 1)
	tap.OnResponse(func(req *http.Request, status int, body []byte) {
		if !strings.HasSuffix(req.URL.Path, "/chat.postMessage") || status != http.StatusOK || !bytes.Contains(body, []byte(`"ok":true`)) {
			return
		}
		if posts.Add(1) == n {
			if p := target.Swap(nil); p != nil {
				s.kill(p)
				killed <- time.Now()
			}
		}
	})
	return tap, func(p *proc) { target.Store(p) }, killed
}

// TestPostInFlightRecoveredWithinSeconds: the process dies while Slack takes its post;
// the next one settles the event, without posting it twice, within seconds of the crash.
func TestPostInFlightRecoveredWithinSeconds(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{slack: slacktest.Options{Interval: 50 * time.Millisecond}})
	tn := newTenant(s.world.Sim)
	wf := tn.workflow("Onboard new hires", graphsim.CategoryJoiner)
	tap, arm, killed := killOnPost(t, s, 1)
	env := withEnv(s.env(), "LCW_SLACK_API_URL", tap.URL()+"/api/")
	p := s.startReady(env, "run")
	arm(p)
	id := tn.startRun(wf, runSpec{users: 1, status: events.StatusFailed,
		failures: []graphsim.TaskFailure{{Task: "Add user to groups", Reason: "The group does not exist."}}})[0]
	var crash time.Time
	select {
	case crash = <-killed:
	case <-time.After(time.Minute):
		t.Fatal("nothing was posted")
	}
	p = s.start(env, "run")
	s.waitFor(time.Minute, "the event settled by the next process", func() (bool, string) { return s.drained("slack") })
	took := time.Since(crash)
	t.Logf("settled %v after the crash", took.Round(100*time.Millisecond))
	if took > recoveryBound {
		t.Errorf("settled %v after the crash, want within %v", took.Round(time.Second), recoveryBound)
	}
	if n := countNaming(s.world.Slack.Messages(), tn.get(id).UserName); n != 1 {
		t.Errorf("the failure is in %d messages, want 1", n)
	}
	s.stop(p)
}

// TestMultipartPostNeverRepeatsAPart: a failure whose reasons need several messages; the
// process dies as Slack takes the second. The next process posts the rest only: every
// part once.
func TestMultipartPostNeverRepeatsAPart(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{slack: slacktest.Options{Interval: 50 * time.Millisecond}})
	tn := newTenant(s.world.Sim)
	var tasks []graphsim.Task
	for k := range 12 {
		tasks = append(tasks, graphsim.Task{DisplayName: "Run custom task extension " + string(rune('A'+k)), ContinueOnError: true})
	}
	wf := tn.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Run custom extensions", Category: graphsim.CategoryJoiner, Tasks: tasks})
	tap, arm, killed := killOnPost(t, s, 2)
	env := withEnv(s.env(), "LCW_SLACK_API_URL", tap.URL()+"/api/")
	p := s.startReady(env, "run")
	arm(p)
	var failures []graphsim.TaskFailure
	for k := range 12 {
		failures = append(failures, graphsim.TaskFailure{Task: "Run custom task extension " + string(rune('A'+k)),
			Reason: strings.Repeat("The Logic App callback timed out after 300 seconds. ", 200)})
	}
	tn.startRun(wf, runSpec{users: 1, status: events.StatusFailed, failures: failures})
	select {
	case <-killed:
	case <-time.After(time.Minute):
		t.Fatal("the second part was never posted")
	}
	p = s.start(env, "run")
	s.waitFor(time.Minute, "the event settled by the next process", func() (bool, string) { return s.drained("slack") })
	parts := map[int]int{}
	var batches []string
	total := 0
	for _, m := range s.world.Slack.Messages() {
		b, part, n := m.Batch()
		if b == "" {
			continue
		}
		parts[part]++
		total = n
		if !contains(batches, b) {
			batches = append(batches, b)
		}
	}
	if total < 3 {
		t.Fatalf("the failure took %d messages, want at least 3 for the test to mean anything", total)
	}
	for k := 1; k <= total; k++ {
		if parts[k] != 1 {
			t.Errorf("part %d of %d posted %d times, want 1 (parts: %v)", k, total, parts[k], parts)
		}
	}
	if len(batches) != 1 {
		t.Errorf("parts of %d batches, want the one batch resumed", len(batches))
	}
	s.stop(p)
}

func countNaming(msgs []slacktest.Message, name string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m.BlockText(), name) {
			n++
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
