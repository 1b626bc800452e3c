package notify

import (
	"context"
	"errors"
	"testing"
)

// TestLedgerReader: another process reads what became of an event at a sink, and of its
// replays; a replay is sent once per name, apart from the first delivery; a sink that
// never ran has no ledger to read.
func TestLedgerReader(t *testing.T) {
	e := newStageEnv(t)
	sink := &memSink{}
	st, _ := e.stage(sink)
	ctx := context.Background()
	_, js := e.srv.Connect(t)
	if _, err := OpenLedgerReader(ctx, js, "LCW", "never-ran"); !errors.Is(err, ErrNoLedger) {
		t.Errorf("the ledger of a sink that never ran: %v, want ErrNoLedger", err)
	}
	n := note(t, "one")
	if err := st.Deliver(ctx, n); err != nil {
		t.Fatal(err)
	}
	r, err := OpenLedgerReader(ctx, js, "LCW", sink.Name())
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Delivery(ctx, n.ID())
	if err != nil || d == nil || d.State != DeliveryPosted || d.Key != "k" || d.Batch == "" || d.At.IsZero() {
		t.Fatalf("delivery = %+v, %v; want posted to k", d, err)
	}
	if d, err := r.Delivery(ctx, "lcw1-unknown"); d != nil || err != nil {
		t.Errorf("delivery of an event never sent = %+v, %v; want none", d, err)
	}
	if d, err := r.Replayed(ctx, "dlq/x", n.ID()); d != nil || err != nil {
		t.Errorf("a replay before it happened = %+v, %v", d, err)
	}

	for range 2 {
		if err := st.Replay(ctx, n, "dlq/x"); err != nil {
			t.Fatal(err)
		}
	}
	if got := sink.count(n.ID(), 0); got != 2 {
		t.Errorf("the event was sent %d times after two replays under one name, want 2 (the delivery and one replay)", got)
	}
	if d, err := r.Replayed(ctx, "dlq/x", n.ID()); err != nil || d == nil || d.State != DeliveryPosted {
		t.Errorf("the replay = %+v, %v; want posted", d, err)
	}
	if n.Replay != "" {
		t.Error("Replay changed the notification it was given")
	}
	if err := st.Replay(ctx, n, ""); err == nil {
		t.Error("a replay without a name was accepted")
	}
	if inc, err := r.Incident(ctx, "wf", "nobody"); inc != nil || err != nil {
		t.Errorf("incident of nobody = %+v, %v", inc, err)
	}
	if !st.ledger.markOpening(ctx, userTopic("wf", "pending"), "lcw1-pending", n) {
		t.Fatal("a failure on its way did not mark its topic")
	}
	if inc, err := r.Incident(ctx, "wf", "pending"); inc != nil || err != nil {
		t.Errorf("incident of a user whose failure is still on its way = %+v, %v; want none (nothing told yet)", inc, err)
	}
}
