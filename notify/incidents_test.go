package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// resultNote is a notification of user's result of workflow wf-1 entering status, at
// stream sequence seq.
func resultNote(t *testing.T, user, status string, seq uint64) *Notification {
	t.Helper()
	upr, err := json.Marshal(map[string]any{"id": fmt.Sprintf("upr-%s-%s-%d", user, status, seq),
		"processingStatus": status, "subject": map[string]any{"id": user}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.New("https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf-1", time.Now(),
		events.Data{TenantID: "00000000-0000-4000-8000-000000000001", Workflow: events.Workflow{ID: "wf-1", DisplayName: "Onboard new hires", Category: "joiner", Version: 1},
			UserProcessingResult: upr, User: events.User{ID: user, DisplayName: "User " + user}})
	if err != nil {
		t.Fatal(err)
	}
	return &Notification{Event: ev, Seq: seq}
}

// TestCrashAfterGroupedMessageKeepsItGrouped: a process dies after the destination took
// a message that told several users' failures, before it recorded them. The next
// process finds the message and records each failure's incident as part of a group, so
// that a user's later success is told beside the message, not by re-rendering the
// others' message as that user's alone.
func TestCrashAfterGroupedMessageKeepsItGrouped(t *testing.T) {
	mem := &memSink{rate: Rate{Interval: time.Second, Burst: 1}}
	sink := memFinder{mem}
	e := newStageEnv(t)
	result := func(user, status string) *Notification { return resultNote(t, user, status, 0) }
	stA, ncA := e.stage(sink)
	if err := stA.Deliver(context.Background(), result("u-0", events.StatusFailed)); err != nil {
		t.Fatal(err) // the key's first message: alone; the pace holds the next ones together
	}
	mem.withHook(func(memMessage) error {
		mem.withHook(nil)
		ncA.Close()
		return errTaken
	})
	failures := []*Notification{result("u-1", events.StatusFailed), result("u-2", events.StatusFailed), result("u-3", events.StatusFailed)}
	var wg sync.WaitGroup
	for _, n := range failures {
		wg.Go(func() { _ = stA.Deliver(context.Background(), n) })
	}
	wg.Wait()
	if got := mem.count(failures[0].ID(), 0); got != 1 {
		t.Fatalf("the grouped message was sent %d times before the crash, want 1", got)
	}

	stB, _ := e.stage(sink)
	for _, n := range failures {
		if err := deliverEventually(t, stB, n); err != nil {
			t.Fatalf("the next process: %v", err)
		}
		if got := mem.count(n.ID(), 0); got != 1 {
			t.Errorf("%s told %d times, want 1 (found at the destination)", n.ID(), got)
		}
	}
	done := result("u-2", events.StatusCompleted)
	if err := deliverEventually(t, stB, done); err != nil {
		t.Fatal(err)
	}
	switch inc := mem.followed(done.ID()); {
	case inc == nil:
		t.Fatal("the success followed no incident")
	case !inc.Grouped:
		t.Errorf("the success follows %+v: not grouped, so a sink would re-render the whole message as u-2's", inc)
	case inc.EventID != failures[1].ID():
		t.Errorf("the success follows %s, want u-2's failure %s", inc.EventID, failures[1].ID())
	}
}

// TestSuccessWaitsForTheFailureItResolves: a user's success comes while the failure it
// resolves waits for the destination's pace. It is deferred, not dropped, and told as
// the failure's resolution once the failure is delivered. A success older than the
// failure (delivered out of order) resolves nothing.
func TestSuccessWaitsForTheFailureItResolves(t *testing.T) {
	sink := &memSink{rate: Rate{Interval: 3 * time.Second, Burst: 1}}
	st, _ := newStageEnv(t).stage(memFinder{sink})
	if err := st.Deliver(context.Background(), resultNote(t, "u-0", events.StatusFailed, 1)); err != nil {
		t.Fatal(err) // the key's first message: the next one waits three seconds
	}
	failure := resultNote(t, "u-1", events.StatusFailed, 2)
	stale := resultNote(t, "u-1", events.StatusCompleted, 1)
	success := resultNote(t, "u-1", events.StatusCompleted, 3)
	delivered := make(chan error, 1)
	go func() { delivered <- st.Deliver(context.Background(), failure) }()

	// While the failure is queued (three seconds): the success is deferred, not dropped,
	// and the older success not told.
	var err error
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		err = st.Deliver(context.Background(), success)
		if Classify(err).Deferred {
			break
		}
		if err == nil {
			t.Fatal("the success was told before the failure it resolves")
		}
	}
	if c := Classify(err); !c.Deferred || c.Reason != "awaiting_opening" {
		t.Fatalf("the success while its failure is queued: %v, want it deferred, not dropped", err)
	}
	if err := st.Deliver(context.Background(), stale); !errors.Is(err, ErrNotTaken) {
		t.Errorf("a success older than the failure: %v, want it not told", err)
	}
	if err := <-delivered; err != nil {
		t.Fatalf("the failure: %v", err)
	}
	if err := deliverEventually(t, st, success); err != nil {
		t.Fatalf("the success once the failure is told: %v", err)
	}
	if inc := sink.followed(success.ID()); inc == nil || inc.EventID != failure.ID() {
		t.Fatalf("the success follows %+v, want the failure %s", inc, failure.ID())
	}
	if err := st.Deliver(context.Background(), stale); !errors.Is(err, ErrNotTaken) {
		t.Errorf("a success older than the failure, after it: %v, want it not told", err)
	}
	if got := sink.count(stale.ID(), 0); got != 0 {
		t.Errorf("the older success was sent %d times", got)
	}
}

// TestRefusedFailureHoldsNoSuccessBack: a failure the destination refuses for good
// (dead-lettered) opens nothing, and the user's success that comes after is not held
// back waiting for it.
func TestRefusedFailureHoldsNoSuccessBack(t *testing.T) {
	sink := &memSink{}
	st, _ := newStageEnv(t).stage(memFinder{sink})
	sink.withHook(func(memMessage) error { return Permanent(errors.New("refused for the test"), "refused") })
	if err := st.Deliver(context.Background(), resultNote(t, "u-1", events.StatusFailed, 1)); !Classify(err).Permanent {
		t.Fatalf("the refused failure: %v, want a permanent error", err)
	}
	sink.withHook(nil)
	if err := st.Deliver(context.Background(), resultNote(t, "u-1", events.StatusCompleted, 2)); !errors.Is(err, ErrNotTaken) {
		t.Errorf("the success after a refused failure: %v, want it not told (nothing open), not deferred", err)
	}
}
