package interact

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
)

// dying starts a handler that stops dead at point, as a process killed there would:
// nothing after it is done, and its lease is left to expire.
func (tn *tenant) dying(t *testing.T, point string) *running {
	t.Helper()
	h, err := New(t.Context(), tn.options())
	if err != nil {
		t.Fatal(err)
	}
	h.crash = func(p string) bool { return p == point }
	return runHandler(t, h)
}

// claimOf waits for the claim of the tenant's action to be written, and returns it.
func (tn *tenant) claimOf(t *testing.T, h *Handler, actionID string) *claim {
	t.Helper()
	var cl *claim
	waitFor(t, "the claim", func() bool {
		cl, _, _ = h.claims.get(t.Context(), actionID)
		return cl != nil
	})
	return cl
}

// waitLeaseGone waits until the server has expired owner's lease.
func waitLeaseGone(t *testing.T, h *Handler, owner string) {
	t.Helper()
	waitFor(t, "the dead process's lease to expire", func() bool {
		alive, err := h.claims.alive(context.Background(), owner)
		return err == nil && !alive
	})
}

func actionOf(tn *tenant, buttonID string) string {
	action, _ := lcwslack.ActionOf(buttonID)
	target := tn.failed
	if action == events.RerunFailedUsers {
		target = tn.run.ID
	}
	return actionID(action, tn.wf.ID, target)
}

// TestKilledBetweenClaimAndCall: the activation is neither lost nor doubled. The
// claim names a process whose lease the server expires; another replica's sweep finds
// no run for it, waits out the grace, and makes the activation, once.
func TestKilledBetweenClaimAndCall(t *testing.T) {
	for _, button := range []string{lcwslack.ActionIDRerunFailedTasks, lcwslack.ActionIDRerunWorkflow, lcwslack.ActionIDRerunFailedUsers} {
		t.Run(button, func(t *testing.T) {
			t.Parallel() // each waits for a lease to expire
			tn := newTenant(t, graphsim.Options{}, "")
			a := tn.dying(t, "claimed")
			c := tn.click(t, allowedUser, button)
			a.post(t, c)
			cl := tn.claimOf(t, a.Handler, actionOf(tn, button))
			waitFor(t, "the claim's owner to stop", func() bool { return strings.Contains(tn.logs.String(), "Re-running") || len(tn.slack.Ephemerals()) > 0 })
			a.stop()
			if cl.State != stateCalling || cl.Owner == "" {
				t.Fatalf("claim %+v, want calling with an owner", cl)
			}
			if n := len(tn.activations()); n != 0 {
				t.Fatalf("%d activations before the call", n)
			}

			b := tn.start(t, func(o *Options) { o.SweepInterval = 100 * time.Millisecond })
			recs := tn.waitRecords(t, events.ActionRequested, events.ActionAccepted)
			if n := len(tn.activations()); n != 1 {
				t.Errorf("%d activations after the takeover, want 1", n)
			}
			for _, r := range recs {
				if r.Data.Request != recs[0].Data.Request || r.Data.Actor.ID != allowedUser {
					t.Errorf("record %s of request %s by %s, want the killed click's", r.Data.Kind, r.Data.Request, r.Data.Actor.ID)
				}
			}
			done, _, _ := b.claims.get(t.Context(), cl.Data.ActionID)
			if done.State != stateAccepted || done.Calls != 2 || !done.Published {
				t.Errorf("claim after the takeover %+v", done)
			}
		})
	}
}

// TestKilledBetweenCallAndRecord: Graph ran the workflow but the process died before
// it recorded so. The run, which names the claim's target, settles it as accepted when
// the next click comes: no second activation, and the click is told who asked.
func TestKilledBetweenCallAndRecord(t *testing.T) {
	for _, button := range []string{lcwslack.ActionIDRerunFailedTasks, lcwslack.ActionIDRerunWorkflow, lcwslack.ActionIDRerunFailedUsers} {
		t.Run(button, func(t *testing.T) {
			t.Parallel() // each waits for a lease to expire
			tn := newTenant(t, graphsim.Options{}, "")
			a := tn.dying(t, "called")
			a.post(t, tn.click(t, allowedUser, button))
			waitFor(t, "the activation", func() bool { return len(tn.activations()) == 1 })
			cl := tn.claimOf(t, a.Handler, actionOf(tn, button))
			a.stop()

			b := tn.start(t, nil)
			waitLeaseGone(t, b.Handler, cl.Owner)
			b.post(t, tn.click(t, otherUser, button))
			recs := tn.waitRecords(t, events.ActionRequested, events.ActionAccepted, events.ActionRefused)
			if n := len(tn.activations()); n != 1 {
				t.Errorf("%d activations, want 1", n)
			}
			for _, r := range recs {
				wantActor := allowedUser
				if r.Data.Kind == events.ActionRefused {
					wantActor = otherUser
				}
				if r.Data.Actor.ID != wantActor {
					t.Errorf("%s record by %s, want %s", r.Data.Kind, r.Data.Actor.ID, wantActor)
				}
			}
			if texts := tn.ephemeralTexts(); !containsText(texts, "already requested by <@"+allowedUser+">") {
				t.Errorf("replies %q, want the second click told who asked", texts)
			}
		})
	}
}

// TestUnsettledClaimWaitsOutTheGrace: a claim whose owner is gone but whose run might
// not be listed yet is left alone until the grace has passed.
func TestUnsettledClaimWaitsOutTheGrace(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	a := tn.dying(t, "claimed")
	a.post(t, tn.click(t, allowedUser, lcwslack.ActionIDRerunFailedTasks))
	cl := tn.claimOf(t, a.Handler, actionOf(tn, lcwslack.ActionIDRerunFailedTasks))
	a.stop()
	b := tn.start(t, func(o *Options) { o.SweepInterval = 50 * time.Millisecond; o.Grace = time.Hour })
	waitLeaseGone(t, b.Handler, cl.Owner)
	waitFor(t, "two sweeps that wait", func() bool {
		return strings.Count(tn.logs.String(), "waiting for it to show in Graph") >= 2
	})
	if n := len(tn.activations()); n != 0 {
		t.Errorf("%d activations within the grace, want 0", n)
	}
	// A click meanwhile is told the action is under way, and acts on nothing.
	b.post(t, tn.click(t, otherUser, lcwslack.ActionIDRerunFailedTasks))
	recs := tn.waitRecords(t, events.ActionRefused)
	if !strings.Contains(recs[len(recs)-1].Data.Reason, "already being requested") || len(tn.activations()) != 0 {
		t.Errorf("refused because %q with %d activations", recs[len(recs)-1].Data.Reason, len(tn.activations()))
	}
}

// TestLostAnswers: an answer lost before Graph acted (a 504) is made again after the
// grace, once; one lost after Graph acted (the connection dropped after the 204) is
// found in the runs; answers lost every time end in a failed record.
func TestLostAnswers(t *testing.T) {
	tests := []struct {
		name            string
		fault           graphsim.Fault
		wantActivations int
		wantKind        string
	}{
		{"a 504 before Graph acted", graphsim.Fault{Op: graphsim.OpActivateWithScope, Kind: graphsim.FaultGatewayTimeout}, 1, events.ActionAccepted},
		{"the answer dropped after Graph acted", graphsim.Fault{Op: graphsim.OpActivateWithScope, Kind: graphsim.FaultTruncated}, 1, events.ActionAccepted},
		{"a 504 every time", graphsim.Fault{Op: graphsim.OpActivateWithScope, Kind: graphsim.FaultGatewayTimeout, Times: 100}, 0, events.ActionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, graphsim.Options{}, "")
			tn.sim.InjectFault(tt.fault)
			h := tn.start(t, func(o *Options) { o.SweepInterval = 50 * time.Millisecond })
			h.post(t, tn.click(t, allowedUser, lcwslack.ActionIDRerunFailedTasks))
			recs := tn.waitRecords(t, events.ActionRequested, tt.wantKind)
			if n := len(tn.activations()); n != tt.wantActivations {
				t.Errorf("%d activations, want %d", n, tt.wantActivations)
			}
			if got := kinds(recs); strings.Join(got, ",") != "requested,"+tt.wantKind {
				t.Errorf("records %v, want requested, %s", got, tt.wantKind)
			}
			if tt.wantKind == events.ActionFailed && !strings.Contains(recs[1].Data.Reason, "lost 3 times") {
				t.Errorf("reason %q", recs[1].Data.Reason)
			}
			if texts := tn.ephemeralTexts(); !containsText(texts, "answer was lost") {
				t.Errorf("replies %q, want the clicker told the answer was lost", texts)
			}
		})
	}
}
