package watcher

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events/eventstest"
)

func newBucket(t *testing.T) (jetstream.JetStream, jetstream.KeyValue) {
	t.Helper()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	kv, err := ensureBucket(context.Background(), js, "LCW", 1)
	if err != nil {
		t.Fatal(err)
	}
	return js, kv
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func loaded(t *testing.T, kv jetstream.KeyValue) *state {
	t.Helper()
	s := newState(kv, quietLog())
	if err := s.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnsureBucketIdempotent(t *testing.T) {
	js, _ := newBucket(t)
	kv, err := ensureBucket(context.Background(), js, "LCW", 1)
	if err != nil {
		t.Fatalf("second ensureBucket: %v", err)
	}
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Bucket() != "LCW-watcher" || st.History() != 1 || st.LimitMarkerTTL() != markerTTL {
		t.Errorf("bucket %s, history %d, marker TTL %v", st.Bucket(), st.History(), st.LimitMarkerTTL())
	}
}

func TestStateRoundTrip(t *testing.T) {
	_, kv := newBucket(t)
	ctx := context.Background()
	s := loaded(t, kv)
	// Opaque ids with characters that are not valid in keys.
	wfID, resID := "wf.1 */>", "wf.1_3_run 9_user/1"
	f := s.flow(wfID)
	m := &mark{WorkflowID: wfID, Floor: t0, Watermark: t0.Add(time.Minute), Runs: map[string]time.Time{"run 9": t0}}
	if err := s.saveMark(ctx, f, m); err != nil {
		t.Fatal(err)
	}
	rec := &record{ID: resID, WorkflowID: wfID, RunID: "run 9", Status: "failed", FinalAt: t0, Seen: t0}
	if err := s.saveResult(ctx, f, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.saveGlobal(ctx, &global{Started: t0, Listed: t0}); err != nil {
		t.Fatal(err)
	}

	back := loaded(t, kv)
	bf := back.flows[wfID]
	if bf == nil || bf.mark == nil {
		t.Fatalf("workflow %q not loaded: %+v", wfID, back.flows)
	}
	if got := bf.mark; !got.Floor.Equal(t0) || !got.Watermark.Equal(m.Watermark) || got.rev != m.rev || !got.Runs["run 9"].Equal(t0) {
		t.Errorf("mark = %+v, want %+v", got, m)
	}
	got := bf.results[resID]
	if got == nil || got.Status != "failed" || got.RunID != "run 9" || !got.FinalAt.Equal(t0) || got.rev != rec.rev {
		t.Errorf("record = %+v, want %+v", got, rec)
	}
	if back.global == nil || !back.global.Listed.Equal(t0) {
		t.Errorf("global = %+v", back.global)
	}
	if back.tracked() != 1 {
		t.Errorf("tracked = %d, want 1", back.tracked())
	}
}

func TestSaveResultConflict(t *testing.T) {
	_, kv := newBucket(t)
	ctx := context.Background()
	a, b := loaded(t, kv), loaded(t, kv)
	fa, fb := a.flow("wf"), b.flow("wf")

	// Both see the result for the first time; a records it first.
	if err := a.saveResult(ctx, fa, &record{ID: "r", WorkflowID: "wf", Status: "inProgress"}); err != nil {
		t.Fatal(err)
	}
	// b recorded the same change: adopted, no error.
	if err := b.saveResult(ctx, fb, &record{ID: "r", WorkflowID: "wf", Status: "inProgress"}); err != nil {
		t.Fatalf("same status after a conflict: %v, want it adopted", err)
	}
	if got := fb.get("r"); got == nil || got.rev != fa.get("r").rev {
		t.Errorf("b did not adopt a's record: %+v", got)
	}
	if stale, _ := b.needsLoad(ctx); !stale {
		t.Error("a conflict must make the next poll reload the state")
	}

	// a moves on; b, still at the old revision, must not overwrite it.
	if err := a.saveResult(ctx, fa, &record{ID: "r", WorkflowID: "wf", Status: "failed", rev: fa.get("r").rev}); err != nil {
		t.Fatal(err)
	}
	err := b.saveResult(ctx, fb, &record{ID: "r", WorkflowID: "wf", Status: "completed", rev: fb.get("r").rev})
	if !errors.Is(err, errConflict) {
		t.Fatalf("stale write = %v, want errConflict", err)
	}
	if got := fb.get("r"); got.Status != "failed" || got.rev != fa.get("r").rev {
		t.Errorf("after a conflict b must hold what a wrote; got %+v", got)
	}
	e, _ := kv.Get(ctx, resultKey("wf", "r"))
	if e.Revision() != fa.get("r").rev {
		t.Errorf("the bucket holds revision %d, want a's %d", e.Revision(), fa.get("r").rev)
	}
}

func TestMarkConflict(t *testing.T) {
	_, kv := newBucket(t)
	ctx := context.Background()
	a, b := loaded(t, kv), loaded(t, kv)
	if err := a.saveMark(ctx, a.flow("wf"), &mark{Floor: t0}); err != nil {
		t.Fatal(err)
	}
	if err := b.saveMark(ctx, b.flow("wf"), &mark{Floor: t0.Add(time.Hour)}); !errors.Is(err, errConflict) {
		t.Fatalf("second create = %v, want errConflict", err)
	}
	if err := a.saveGlobal(ctx, &global{Listed: t0}); err != nil {
		t.Fatal(err)
	}
	if err := b.saveGlobal(ctx, &global{Listed: t0}); !errors.Is(err, errConflict) {
		t.Fatalf("second global = %v, want errConflict", err)
	}
}

func TestDropResultLeavesAnExpiringMarker(t *testing.T) {
	js, kv := newBucket(t)
	ctx := context.Background()
	s := loaded(t, kv)
	f := s.flow("wf")
	rec := &record{ID: "r", WorkflowID: "wf", Status: "failed", FinalAt: t0}
	if err := s.saveResult(ctx, f, rec); err != nil {
		t.Fatal(err)
	}
	stale := *rec
	if err := s.dropResult(ctx, f, rec); err != nil {
		t.Fatal(err)
	}
	if f.get("r") != nil {
		t.Error("dropped record still in memory")
	}
	// The purge marker must carry a TTL, or the bucket would keep one per result forever.
	str, err := js.Stream(ctx, "KV_LCW-watcher")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := str.GetLastMsgForSubject(ctx, "$KV.LCW-watcher."+resultKey("wf", "r"))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Nats-TTL"); got == "" {
		t.Errorf("purge marker has no Nats-TTL header: %v", msg.Header)
	}
	if loaded(t, kv).tracked() != 0 {
		t.Error("a purged record was loaded")
	}
	// A stale writer cannot resurrect it with the old revision.
	if err := s.saveResult(ctx, f, &stale); !errors.Is(err, errConflict) {
		t.Errorf("update of a purged key at its old revision = %v, want errConflict", err)
	}
}

func TestLoadUnreadableEntries(t *testing.T) {
	_, kv := newBucket(t)
	ctx := context.Background()
	for _, k := range []string{resultKey("wf", "r"), markKey("wf"), globalKey, "r.=x=.y", "r.nodot", "unrelated"} {
		if _, err := kv.Put(ctx, k, []byte("{not json")); err != nil {
			t.Fatal(err)
		}
	}
	s := loaded(t, kv)
	f := s.flows["wf"]
	if f == nil || f.mark == nil || f.hasMark() {
		t.Fatalf("an unreadable mark must load as present but unusable: %+v", f)
	}
	r := f.results["r"]
	if r == nil || r.Status != "" || r.rev == 0 {
		t.Fatalf("an unreadable record must load with its revision and no status: %+v", r)
	}
	// It is overwritten, not fought over.
	if err := s.saveResult(ctx, f, &record{ID: "r", WorkflowID: "wf", Status: "queued", rev: r.rev}); err != nil {
		t.Errorf("overwrite unreadable record: %v", err)
	}
	if err := s.saveGlobal(ctx, &global{Listed: t0, rev: s.global.rev}); err != nil {
		t.Errorf("overwrite unreadable global: %v", err)
	}
}
