package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// TestKilledAtRandomMoments: `lcwnotify run` is killed with SIGKILL again and again
// while a few hundred transitions happen, and restarted each time — sometimes under the
// same instance name (a restarted container), sometimes under a new one (a rescheduled
// pod). Kills land during start-up, at random moments of its work (mid-poll,
// mid-publish, mid-ledger write), and at the moment Slack accepted a post: before the
// answer reaches the process, or a few milliseconds after, before or while it records
// the post in its ledger. No failure is lost or notified twice, and no change event is
// stored twice.
func TestKilledAtRandomMoments(t *testing.T) {
	t.Parallel()
	results, rate := scaled(150), 10.0
	seed := randomSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))

	s := newStack(t, stackOptions{})
	tn := newTenant(s.world.Sim)
	wfs := []graphsim.Workflow{
		tn.workflow("Onboard new hires", graphsim.CategoryJoiner),
		tn.workflow("Offboard leavers", graphsim.CategoryLeaver),
		tn.workflow("Department change", graphsim.CategoryMover),
	}
	tap, err := harness.NewTap(strings.TrimSuffix(s.world.Slack.APIURL(), "/api/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tap.Close)
	var armed atomic.Pointer[postKill]
	tap.OnResponse(func(req *http.Request, status int, body []byte) {
		if !strings.HasSuffix(req.URL.Path, "/chat.postMessage") || status != http.StatusOK || !bytes.Contains(body, []byte(`"ok":true`)) {
			return
		}
		if k := armed.Swap(nil); k != nil {
			k.fire(s)
		}
	})
	env := withEnv(s.env(), "LCW_INSTANCE", "lcw-0", "LCW_SLACK_API_URL", tap.URL()+"/api/")
	p := s.startReady(env, "run")

	tr := newTraffic(tn, wfs, seed, busyTenant, results, rate)
	done := tr.start()
	var kills, atStart, atPost, names int
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		switch mode := killMode(kills, rng); mode {
		case killAtStart:
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
			s.kill(p)
			atStart++
		case killBeforeAnswer, killAfterAnswer:
			k := &postKill{p: p, before: mode == killBeforeAnswer, after: time.Duration(rng.IntN(5000)) * time.Microsecond, done: make(chan struct{})}
			armed.Store(k)
			select {
			case <-k.done:
				atPost++
			case <-time.After(8 * time.Second): // nothing to post: kill it anyway
				if armed.CompareAndSwap(k, nil) {
					s.kill(p)
				} else {
					<-k.done
					atPost++
				}
			}
		default: // at a random moment once it works
			s.waitPolls(p, 1)
			time.Sleep(time.Duration(rng.IntN(2500)) * time.Millisecond)
			s.kill(p)
		}
		kills++
		time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond) // down for a moment
		if rng.IntN(3) == 0 {
			names++
			env = withEnv(env, "LCW_INSTANCE", fmt.Sprintf("lcw-%d", names))
		}
		p = s.start(env, "run")
	}
	s.ready(p)
	t.Logf("%d kills during %d actions (%d during start-up, %d as Slack accepted a post); %d instance names",
		kills, tr.actions.Load(), atStart, atPost, names+1)
	s.settle(tn, p, 4*time.Minute, false)
	s.stop(p)
}

// Where a kill lands.
const (
	killAtStart      = iota // during start-up
	killBeforeAnswer        // Slack accepted a post; the process never hears of it
	killAfterAnswer         // a few milliseconds after the answer: racing the ledger write
	killAnytime             // at a random moment once the process has polled
)

// killMode returns where the k-th kill lands: the first three try each targeted moment
// once, so that every run covers them; then one kill in five lands during start-up, one
// in four at a Slack post, the rest anywhere.
func killMode(k int, rng *rand.Rand) int {
	if k < 3 {
		return []int{killBeforeAnswer, killAfterAnswer, killAtStart}[k]
	}
	switch n := rng.IntN(20); {
	case n < 4:
		return killAtStart
	case n < 7:
		return killBeforeAnswer
	case n < 9:
		return killAfterAnswer
	}
	return killAnytime
}

// postKill is a kill armed to fire when Slack accepts the next post: before the answer
// is relayed to the process, or after a few milliseconds, racing its ledger write.
type postKill struct {
	p      *proc
	before bool
	after  time.Duration
	done   chan struct{}
}

func (k *postKill) fire(s *stack) {
	if k.before {
		s.kill(k.p)
		close(k.done)
		return
	}
	go func() {
		time.Sleep(k.after)
		s.kill(k.p)
		close(k.done)
	}()
}
