package watcher

import (
	"context"
	"testing"
)

// TestReadState: another process reads who holds the lease and how far each workflow
// got, as the watcher itself recorded it; a stream whose watcher never ran reads empty.
func TestReadState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if st, err := ReadState(ctx, e.js, "NEVER"); err != nil || st.Holder != "" || len(st.Workflows) != 0 {
		t.Fatalf("state of a stream without a watcher = %+v, %v; want empty", st, err)
	}
	wf, _ := e.workflow("Onboard new hires", 1)
	r := e.start("replica-a")
	eventually(t, "a poll", func() bool { return !r.w.LastSuccess().IsZero() })

	st, err := ReadState(ctx, e.js, e.options().Stream)
	if err != nil {
		t.Fatal(err)
	}
	if st.Holder != "replica-a" || st.Renewed.IsZero() {
		t.Errorf("lease holder %q renewed %v, want replica-a", st.Holder, st.Renewed)
	}
	if len(st.Workflows) != 1 || st.Workflows[0].ID != wf.ID || st.Workflows[0].LastPoll.IsZero() {
		t.Errorf("workflows = %+v, want %s with its last poll", st.Workflows, wf.ID)
	}
	if got, want := st.Workflows[0].LastPoll, e.mark(r.w, wf.ID).Watermark; !got.Equal(want) {
		t.Errorf("last poll %v, want the workflow's watermark %v", got, want)
	}

	r.stop(t)
	if st, err := ReadState(ctx, e.js, e.options().Stream); err != nil || st.Holder != "" {
		t.Errorf("after the watcher stopped (released its lease): holder %q, %v; want none", st.Holder, err)
	}
}
