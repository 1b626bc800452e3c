package watcher

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

func TestCrashBetweenPublishAndRecord(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 3)
	w := e.watcher()
	e.poll(w)
	r := e.run(wf, "r", time.Time{}, u...)
	e.poll(w)
	n := e.wantChanges(0, "r0: null → queued", "r1: null → queued", "r2: null → queued")
	before := e.mark(w, wf.ID)

	e.clock.advance(time.Minute)
	e.set(r[0], "failed", time.Time{})
	e.set(r[1], "inProgress", time.Time{})
	crash(w)
	if _, err := w.Poll(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("poll = %v, want the crash", err)
	}
	// The events are in the stream; nothing was recorded.
	e.wantChanges(n, "r0: queued → failed", "r1: queued → inProgress")
	if after := e.mark(w, wf.ID); !after.Watermark.Equal(before.Watermark) || after.rev != before.rev {
		t.Errorf("watermark moved from %v to %v although the poll died before recording", before.Watermark, after.Watermark)
	}

	// The process comes back: it publishes the same events again (absorbed), records them.
	e.clock.advance(time.Minute)
	again := e.watcher()
	st := e.poll(again)
	if st.Duplicates != 2 || st.Published != 0 {
		t.Errorf("after the crash: %d duplicates, %d published; want 2 and 0", st.Duplicates, st.Published)
	}
	e.wantChanges(n, "r0: queued → failed", "r1: queued → inProgress")
	e.noDuplicates()

	// Recorded now: the next change is announced from the right previous status.
	e.clock.advance(time.Minute)
	e.set(r[1], "completed", time.Time{})
	st = e.poll(again)
	if st.Duplicates != 0 || st.Published != 1 {
		t.Errorf("next poll: %+v", st)
	}
	e.wantChanges(n, "r0: queued → failed", "r1: queued → inProgress", "r1: inProgress → completed")
}

func TestShutdownMidPollRecordsWhatItPublished(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 2)
	w := e.watcher()
	e.poll(w)
	e.clock.advance(time.Minute)
	e.run(wf, "r", time.Time{}, u...)
	before := e.mark(w, wf.ID)
	ctx, cancel := context.WithCancel(context.Background())
	// SIGTERM arrives while the batch is being published.
	w.afterPublish = func(string) error { cancel(); return nil }
	_, _ = w.Poll(ctx)
	e.wantChanges(0, "r0: null → queued", "r1: null → queued")
	if after := e.mark(w, wf.ID); !after.Watermark.After(before.Watermark) {
		t.Errorf("watermark %v not advanced past %v: the poll had read and recorded everything", after.Watermark, before.Watermark)
	}
	// The next process has nothing to re-publish.
	e.clock.advance(time.Minute)
	if st := e.poll(e.watcher()); st.Duplicates != 0 || st.Published != 0 {
		t.Errorf("after a graceful shutdown: %+v, want nothing published again", st)
	}
}

func TestTwoWatchersConcurrently(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 8)
	a, b := e.watcher(), e.watcher()
	var want []string
	r := e.run(wf, "r", time.Time{}, u...)
	for i := range u {
		want = append(want, "r"+string(rune('0'+i))+": null → queued")
	}
	statuses := []string{"inProgress", "failed"}
	for round := range 3 {
		var wg sync.WaitGroup
		for _, w := range []*Watcher{a, b} {
			wg.Go(func() {
				// A poll may lose a compare-and-set race: it then fails, reloads and
				// re-diffs at the next poll. What matters is the stream.
				_, _ = w.Poll(context.Background())
			})
		}
		wg.Wait()
		if round < len(statuses) {
			e.clock.advance(time.Minute)
			prev := "queued"
			if round > 0 {
				prev = statuses[round-1]
			}
			for i, id := range r {
				e.set(id, statuses[round], time.Time{})
				want = append(want, "r"+string(rune('0'+i))+": "+prev+" → "+statuses[round])
			}
		}
	}
	// Polling one after the other, each sees that the other polled and reloads first.
	e.poll(a)
	e.poll(b)
	e.wantChanges(0, want...)
	e.noDuplicates()
}

func TestMalformedPageMidPoll(t *testing.T) {
	e := newEnv(t)
	wf1, u := e.workflow("One", 2)
	wf2, v := e.workflow("Two", 2)
	w := e.watcher(func(o *Options) { o.Concurrency = 1 })
	e.poll(w)
	e.clock.advance(time.Minute)
	r := e.run(wf1, "a", time.Time{}, u...)
	e.run(wf2, "b", time.Time{}, v...)
	before := e.mark(w, wf1.ID)

	// The third request of workflow One's poll (its runs) comes back as garbage, after
	// its two result lists succeeded.
	e.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListRuns,
		Path: "/identityGovernance/lifecycleWorkflows/workflows/" + wf1.ID + "/runs", Kind: graphsim.FaultMalformed})
	st, err := w.Poll(context.Background())
	if !errors.Is(err, graph.ErrMalformedResponse) {
		t.Fatalf("poll = %v, want a malformed response", err)
	}
	if st.FailedWorkflows != 1 || st.Workflows != 2 {
		t.Errorf("stats %+v: want workflow One failed, Two polled", st)
	}
	e.wantChanges(0, "b0: null → queued", "b1: null → queued")
	if after := e.mark(w, wf1.ID); after.rev != before.rev {
		t.Errorf("workflow One's watermark moved: %+v", after)
	}

	e.clock.advance(time.Minute)
	e.set(r[0], "failed", time.Time{})
	e.poll(w)
	e.wantChanges(0, "b0: null → queued", "b1: null → queued", "a0: null → failed", "a1: null → queued")
}

func TestMalformedSecondPage(t *testing.T) {
	e := newEnv(t) // 50 items a page
	wf, u := e.workflow("Big", 120)
	w := e.watcher()
	e.poll(w)
	e.clock.advance(time.Minute)
	r := e.run(wf, "r", time.Time{}, u...)
	for _, id := range r {
		e.set(id, "inProgress", time.Time{})
	}
	// The first page of the results not final comes back fine (a slow fault of no
	// delay consumes the first match), the second is garbage.
	path := "/identityGovernance/lifecycleWorkflows/workflows/" + wf.ID + "/userProcessingResults"
	e.sim.InjectFault(graphsim.Fault{Path: path, Kind: graphsim.FaultSlow})
	e.sim.InjectFault(graphsim.Fault{Path: path, Kind: graphsim.FaultMalformed})
	if _, err := w.Poll(context.Background()); !errors.Is(err, graph.ErrMalformedResponse) {
		t.Fatalf("poll = %v, want a malformed response", err)
	}
	if n := len(e.events()); n != 0 {
		t.Fatalf("%d events published from a poll whose second page was garbage", n)
	}
	e.clock.advance(time.Minute)
	st := e.poll(w)
	if st.Published != 120 {
		t.Errorf("next poll published %d, want all 120 first sightings", st.Published)
	}
	e.noDuplicates()
}

func TestGraphThrottling(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 1)
	w := e.watcher()
	e.poll(w)
	e.clock.advance(time.Minute)
	r := e.run(wf, "r", time.Time{}, u...)

	// One 429 with a fractional Retry-After: waited out within the poll.
	e.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListResults, Kind: graphsim.FaultThrottle, RetryAfter: 150 * time.Millisecond})
	e.sim.ResetStats()
	e.poll(w)
	e.wantChanges(0, "r0: null → queued")
	if got := e.sim.Stats().ByOp[graphsim.OpListResults]; got.Errors != 1 {
		t.Errorf("list results: %+v, want the 429 answered once", got)
	}

	// Throttled past the retry budget: the poll fails, nothing moves, the next succeeds.
	e.clock.advance(time.Minute)
	e.set(r[0], "failed", time.Time{})
	before := e.mark(w, wf.ID)
	e.sim.ThrottleFor(time.Hour)
	if _, err := w.Poll(context.Background()); !errors.Is(err, graph.ErrThrottled) {
		t.Fatalf("poll = %v, want throttled", err)
	}
	if after := e.mark(w, wf.ID); after.rev != before.rev {
		t.Error("watermark moved during a throttled poll")
	}
	e.wantChanges(0, "r0: null → queued")
	e.sim.ClearFaults()
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantChanges(0, "r0: null → queued", "r0: queued → failed")
}

const secretToken = "eyJ0eXAiOiJKV1QiLCJzZWNyZXQiOiJ0b2tlbiJ9.never-logged"

// flakyCredential hands out tokens until told to fail from a given call on. Each
// token expires as it is issued, so the client asks for one at every request, as it
// does when a token reaches its end mid-poll: a valid token is cached and reused.
type flakyCredential struct {
	calls, failFrom atomic.Int64 // failFrom 0: never
}

func (c *flakyCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := c.calls.Add(1)
	if f := c.failFrom.Load(); f > 0 && n >= f {
		return azcore.AccessToken{}, errors.New("AADSTS7000215: invalid client secret provided")
	}
	return azcore.AccessToken{Token: secretToken, ExpiresOn: time.Now()}, nil
}

func TestTokenFailureMidPoll(t *testing.T) {
	e := newEnv(t)
	cred := &flakyCredential{}
	client, err := graph.New(graph.Options{BaseURL: e.url, Credential: cred, TenantID: "tenant-1"})
	if err != nil {
		t.Fatal(err)
	}
	wf, u := e.workflow("Leaver", 1)
	var logs bytes.Buffer
	w := e.watcher(func(o *Options) {
		o.Graph = client
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	e.poll(w)
	e.clock.advance(time.Minute)
	r := e.run(wf, "r", time.Time{}, u...)
	e.set(r[0], "failed", time.Time{})
	before := e.mark(w, wf.ID)

	// The workflow list and the first result list get tokens; the second does not.
	cred.failFrom.Store(cred.calls.Load() + 3)
	if _, err := w.Poll(context.Background()); !errors.Is(err, graph.ErrCredential) {
		t.Fatalf("poll = %v, want a credential error", err)
	}
	if n := len(e.events()); n != 0 {
		t.Errorf("%d events published from a poll that lost its token half-way", n)
	}
	if after := e.mark(w, wf.ID); after.rev != before.rev {
		t.Error("watermark moved")
	}
	cred.failFrom.Store(0)
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantChanges(0, "r0: null → failed")

	for _, m := range e.messages() {
		if bytes.Contains(m.Data, []byte(secretToken)) {
			t.Error("the Graph token is in an event")
		}
	}
	if bytes.Contains(logs.Bytes(), []byte(secretToken)) || logs.Len() == 0 {
		t.Errorf("the Graph token is in the logs (or nothing was logged): %d bytes", logs.Len())
	}
}

func TestTransientGraphErrors(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 1)
	w := e.watcher()
	e.poll(w)
	e.clock.advance(time.Minute)
	e.run(wf, "r", time.Time{}, u...)
	e.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListRuns, Kind: graphsim.FaultUnavailable, RetryAfter: 50 * time.Millisecond})
	e.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListRuns, Kind: graphsim.FaultTruncated})
	e.poll(w) // retried by the client within the poll
	e.wantChanges(0, "r0: null → queued")
	if n := e.sim.PendingFaults(); n != 0 {
		t.Errorf("%d faults did not fire", n)
	}
}

func TestNATSRestartMidPoll(t *testing.T) {
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 4)
	w := e.watcher()
	e.poll(w)
	r := e.run(wf, "r", time.Time{}, u...)
	e.poll(w)
	n := len(e.events())

	// NATS restarts after the events were stored and before they are recorded.
	e.clock.advance(time.Minute)
	for _, id := range r {
		e.set(id, "failed", time.Time{})
	}
	restarted := false
	w.afterPublish = func(string) error {
		if !restarted {
			restarted = true
			e.srv.Restart()
		}
		return nil
	}
	if _, err := w.Poll(context.Background()); err != nil {
		t.Logf("poll across the restart: %v (retried at the next poll)", err)
	}
	w.afterPublish = nil
	e.reconnected()
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantChanges(n, "r0: queued → failed", "r1: queued → failed", "r2: queued → failed", "r3: queued → failed")
	e.noDuplicates()

	// NATS down for a whole poll: the poll fails and loses nothing.
	more := e.run(wf, "m", time.Time{}, u[0])
	e.clock.advance(time.Minute)
	e.set(more[0], "failed", time.Time{})
	e.srv.Stop()
	if _, err := w.Poll(context.Background()); err == nil {
		t.Fatal("poll succeeded with NATS down")
	}
	e.srv.StartAgain()
	e.reconnected()
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantChanges(n, "r0: queued → failed", "r1: queued → failed", "r2: queued → failed", "r3: queued → failed",
		"m0: null → failed")
	e.noDuplicates()
}

// TestMalformedPropertyStillAnnounced: Graph sends a failed result one of whose
// properties has a type it does not document. The client decodes the item leniently;
// the change must still be announced, with an event every consumer can decode.
func TestMalformedPropertyStillAnnounced(t *testing.T) {
	e := newEnv(t)
	// The results lists write failedTasksCount as 1.0 and startedDateTime as text, and
	// add a property of Graph's own.
	mangle := strings.NewReplacer(`"failedTasksCount":1,`, `"failedTasksCount":1.0,"futureProperty":{"a":1},`,
		`"startedDateTime":"`, `"startedDateTime":"sometime `)
	client := e.rewritten(func(r *http.Request, status int, body string) (int, string) {
		if strings.HasSuffix(r.URL.Path, "/userProcessingResults") {
			body = mangle.Replace(body)
		}
		return status, body
	})
	wf, u := e.workflow("Leaver", 1)
	w := e.watcher(func(o *Options) { o.Graph = client })
	e.poll(w)
	r := e.run(wf, "r", time.Time{}, u...)
	e.set(r[0], "inProgress", time.Time{})
	e.clock.advance(time.Minute)
	e.poll(w)
	e.clock.advance(time.Minute)
	e.sim.SetResultStatus(r[0], "failed", graphsim.TaskFailure{Task: wf.Tasks[0].DisplayName, Reason: "no manager"})
	st := e.poll(w)
	if st.Unbuildable != 0 {
		t.Errorf("%d results unbuildable", st.Unbuildable)
	}
	e.wantChanges(0, "r0: null → inProgress", "r0: inProgress → failed")
	for _, ev := range e.events() {
		res, err := ev.Data.Result()
		if err != nil {
			t.Fatalf("event %s: %v", ev.ID, err)
		}
		if res.ProcessingStatus != "failed" {
			continue
		}
		if res.FailedTasksCount != 1 || res.StartedDateTime != nil {
			t.Errorf("failed result carries failedTasksCount %d and startedDateTime %v; want the values the client repaired: 1 and none",
				res.FailedTasksCount, res.StartedDateTime)
		}
		if !strings.Contains(string(ev.Data.UserProcessingResult), `"futureProperty":{"a":1}`) {
			t.Errorf("a property lcwnotify does not read was not kept as received: %s", ev.Data.UserProcessingResult)
		}
	}
}

// TestTaskResultsRefused: Graph answers a result's task results with an error it will
// give again however often it is asked. The failure is announced without them, rather
// than holding back every change of its workflow for good; a passing failure to read
// them holds the poll back until it passes.
func TestTaskResultsRefused(t *testing.T) {
	for _, tt := range []struct {
		name      string
		status    int
		announced bool // in the poll that meets the error
	}{
		{"bad request", http.StatusBadRequest, true},
		{"gone", http.StatusGone, true},
		{"forbidden", http.StatusForbidden, true},
		// Malformed (a page cut short by a proxy, say): read again at the next poll.
		{"malformed", http.StatusOK, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var refuse atomic.Bool
			client := e.rewritten(func(r *http.Request, status int, body string) (int, string) {
				if refuse.Load() && strings.HasSuffix(r.URL.Path, "/taskProcessingResults") {
					if tt.status == http.StatusOK {
						return tt.status, body[:len(body)/2]
					}
					return tt.status, `{"error":{"code":"Refused","message":"not this one"}}`
				}
				return status, body
			})
			wf, u := e.workflow("Leaver", 2)
			w := e.watcher(func(o *Options) { o.Graph = client })
			e.poll(w)
			r := e.run(wf, "r", time.Time{}, u...)
			e.clock.advance(time.Minute)
			e.poll(w)
			n := len(e.events())

			e.clock.advance(time.Minute)
			e.sim.SetResultStatus(r[0], "failed")
			e.set(r[1], "inProgress", time.Time{})
			refuse.Store(true)
			_, err := w.Poll(context.Background())
			if tt.announced {
				if err != nil {
					t.Fatalf("poll = %v, want the failure announced without its task results", err)
				}
				e.wantChanges(n, "r0: queued → failed", "r1: queued → inProgress")
				for _, ev := range e.events()[n:] {
					if ev.Data.TaskProcessingResults != nil {
						t.Errorf("event %s carries task results Graph refused", ev.ID)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("poll succeeded although the task results could not be read")
			}
			e.wantChanges(n)
			refuse.Store(false)
			e.clock.advance(time.Minute)
			e.poll(w)
			e.wantChanges(n, "r0: queued → failed", "r1: queued → inProgress")
			if got := e.events()[n:]; len(got) == 2 && got[0].Data.TaskProcessingResults == nil && got[1].Data.TaskProcessingResults == nil {
				t.Error("the failure went without its task results once Graph gave them")
			}
		})
	}
}

// TestOneResultRefused: Graph refuses, for good, to read one tracked result alone or
// the results of one run. That item is left aside with a warning; the workflow's other
// changes are still announced, poll after poll.
func TestOneResultRefused(t *testing.T) {
	e := newEnv(t)
	var refuse atomic.Value // a path suffix answered 400
	refuse.Store("\x00")
	client := e.rewritten(func(r *http.Request, status int, body string) (int, string) {
		if strings.HasSuffix(r.URL.Path, refuse.Load().(string)) {
			return http.StatusBadRequest, `{"error":{"code":"BadRequest","message":"not this one"}}`
		}
		return status, body
	})
	wf, u := e.workflow("Leaver", 4)
	w := e.watcher(func(o *Options) { o.Graph = client })
	e.poll(w)
	r := e.run(wf, "r", time.Time{}, u[0])
	q := e.run(wf, "q", time.Time{}, u[1])
	e.set(r[0], "inProgress", time.Time{})
	e.set(q[0], "inProgress", time.Time{})
	e.clock.advance(time.Minute)
	e.poll(w)
	n := len(e.events())

	// r0 completes far behind the window, so it is read alone, and Graph refuses that.
	e.clock.advance(3 * time.Hour)
	e.poll(w)
	e.set(r[0], "failed", t0.Add(time.Hour))
	refuse.Store("/userProcessingResults/" + r[0])
	e.set(q[0], "failed", time.Time{})
	e.clock.advance(time.Minute)
	e.poll(w)
	n = e.wantChanges(n, "q0: inProgress → failed")

	// A new run whose results Graph will not list: its results still come through the
	// workflow's lists, without their run id. Graph reads r0 alone again: it was kept.
	s := e.run(wf, "s", time.Time{}, u[2:]...)
	res, _ := e.sim.Result(s[0])
	refuse.Store("/runs/" + res.RunID + "/userProcessingResults")
	e.set(s[0], "failed", time.Time{})
	e.clock.advance(time.Minute)
	e.poll(w)
	e.wantChanges(n, "s0: null → failed", "s1: null → queued", "r0: inProgress → failed")
	for _, ev := range e.events()[n:] {
		if ev.Subject == s[0] && ev.Data.RunID != "" {
			t.Errorf("s0 announced with run id %q, which Graph never listed", ev.Data.RunID)
		}
	}
}
