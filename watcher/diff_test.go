package watcher

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time {
	t := t0.Add(d)
	return &t
}

// result returns a userProcessingResult as the Graph client decodes it, Raw included.
func result(id, status string, scheduled, started, completed *time.Time) graph.UserProcessingResult {
	r := graph.UserProcessingResult{
		ID: id, ProcessingStatus: status, WorkflowExecutionType: "scheduled", WorkflowVersion: 2,
		TotalTasksCount: 3, ScheduledDateTime: scheduled, StartedDateTime: started, CompletedDateTime: completed,
		SubjectID: "user-" + id,
	}
	r.Raw = rawOf(r)
	return r
}

func TestObservationsMerge(t *testing.T) {
	obs := make(observations)
	obs.add(result("a", "inProgress", at(0), at(0), nil), "", t0)
	obs.add(result("a", "failed", at(0), at(0), at(time.Minute)), "", t0.Add(time.Second))
	obs.add(result("a", "inProgress", at(0), at(0), nil), "run-1", t0.Add(2*time.Second))
	got := obs["a"]
	if got.res.ProcessingStatus != "failed" || got.runID != "run-1" || !got.at.Equal(t0.Add(time.Second)) {
		t.Errorf("a final status must survive a later non-final read while the run id is kept; got %s, run %q, at %v",
			got.res.ProcessingStatus, got.runID, got.at)
	}
	obs.add(result("b", "queued", at(0), nil, nil), "run-2", t0)
	obs.add(result("b", "inProgress", at(0), at(0), nil), "", t0.Add(time.Second))
	if got := obs["b"]; got.res.ProcessingStatus != "inProgress" || got.runID != "run-2" {
		t.Errorf("the later read must win and keep the run id; got %s, run %q", got.res.ProcessingStatus, got.runID)
	}
}

func TestDiff(t *testing.T) {
	cutoff := t0.Add(-10 * time.Minute)
	old, recent := at(-time.Hour), at(-time.Minute)
	tests := []struct {
		name     string
		rec      *record
		obs      graph.UserProcessingResult
		runID    string
		announce bool
		change   bool // a record is written
		prev     string
		history  int
		stale    int
		finalAt  time.Time
	}{
		{name: "first sighting, queued", obs: result("r", "queued", recent, nil, nil),
			announce: true, change: true},
		{name: "first sighting, already failed", obs: result("r", "failed", recent, recent, recent),
			announce: true, change: true, finalAt: *recent},
		{name: "first sighting, unknown status", obs: result("r", "someFutureStatus", old, old, nil),
			announce: true, change: true},
		{name: "untracked, final before the cutoff: history", obs: result("r", "failed", old, old, old), history: 1},
		{name: "untracked, final without completedDateTime, started recently",
			obs: result("r", "canceled", old, recent, nil), announce: true, change: true, finalAt: *recent},
		{name: "untracked, final without completedDateTime, started long ago",
			obs: result("r", "canceled", old, old, nil), history: 1},
		{name: "untracked, final without any timestamp: announced as of now",
			obs: result("r", "failed", nil, nil, nil), announce: true, change: true, finalAt: t0},
		{name: "queued to inProgress", rec: &record{Status: "queued", rev: 4},
			obs: result("r", "inProgress", old, recent, nil), announce: true, change: true, prev: "queued"},
		{name: "inProgress to failed, even before the cutoff", rec: &record{Status: "inProgress", rev: 4},
			obs: result("r", "failed", old, old, old), announce: true, change: true, prev: "inProgress", finalAt: *old},
		{name: "unknown status to completed", rec: &record{Status: "someFutureStatus", rev: 4},
			obs: result("r", "completed", old, old, recent), announce: true, change: true, prev: "someFutureStatus", finalAt: *recent},
		{name: "failed to completed", rec: &record{Status: "failed", rev: 4, FinalAt: *recent},
			obs: result("r", "completed", old, old, recent), announce: true, change: true, prev: "failed", finalAt: *recent},
		{name: "unchanged", rec: &record{Status: "inProgress", RunID: "run-1", rev: 4},
			obs: result("r", "inProgress", old, recent, nil), runID: "run-1"},
		{name: "unchanged, run id learned", rec: &record{Status: "inProgress", rev: 4},
			obs: result("r", "inProgress", old, recent, nil), runID: "run-1", change: true, prev: "inProgress"},
		{name: "final read back as not final: stale", rec: &record{Status: "failed", rev: 4},
			obs: result("r", "inProgress", old, recent, nil), stale: 1},
		{name: "unreadable record, final before the cutoff: replaced silently", rec: &record{rev: 4},
			obs: result("r", "failed", old, old, old), change: true, history: 1, finalAt: *old},
		{name: "unreadable record, not final: announced as a first sighting", rec: &record{rev: 4},
			obs: result("r", "inProgress", old, recent, nil), announce: true, change: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow("wf")
			if tt.rec != nil {
				tt.rec.ID, tt.rec.WorkflowID = "r", "wf"
				f.set(tt.rec)
			}
			d := diff(f, observations{"r": {res: tt.obs, runID: tt.runID, at: t0}}, cutoff)
			if d.history != tt.history || d.stale != tt.stale {
				t.Errorf("history, stale = %d, %d; want %d, %d", d.history, d.stale, tt.history, tt.stale)
			}
			if !tt.change {
				if len(d.changes) != 0 {
					t.Fatalf("got changes %+v, want none", d.changes)
				}
				return
			}
			if len(d.changes) != 1 {
				t.Fatalf("got %d changes, want 1", len(d.changes))
			}
			c := d.changes[0]
			if c.announce != tt.announce {
				t.Errorf("announce = %v, want %v", c.announce, tt.announce)
			}
			prev := ""
			if p := c.previous(); p != nil {
				prev = *p
			}
			if prev != tt.prev {
				t.Errorf("previous = %q, want %q", prev, tt.prev)
			}
			n := c.next
			if n.Status != tt.obs.ProcessingStatus || n.ID != "r" || n.WorkflowID != "wf" {
				t.Errorf("next record = %+v, want status %s of r in wf", n, tt.obs.ProcessingStatus)
			}
			if tt.rec != nil && n.rev != tt.rec.rev {
				t.Errorf("next record replaces revision %d, want %d", n.rev, tt.rec.rev)
			}
			if !n.FinalAt.Equal(tt.finalAt) {
				t.Errorf("FinalAt = %v, want %v", n.FinalAt, tt.finalAt)
			}
			if tt.runID != "" && n.RunID != tt.runID {
				t.Errorf("RunID = %q, want %q", n.RunID, tt.runID)
			}
		})
	}
}

func TestDiffKeepsKnownRunID(t *testing.T) {
	f := newFlow("wf")
	f.set(&record{ID: "r", WorkflowID: "wf", Status: "inProgress", RunID: "run-1", rev: 2})
	d := diff(f, observations{"r": {res: result("r", "failed", at(0), at(0), at(0)), at: t0}}, t0.Add(-time.Hour))
	if len(d.changes) != 1 || d.changes[0].next.RunID != "run-1" {
		t.Fatalf("changes = %+v, want one keeping run-1", d.changes)
	}
}

func TestExpired(t *testing.T) {
	from := t0
	tests := []struct {
		rec  record
		want bool
	}{
		{record{Status: "failed", FinalAt: t0.Add(-time.Second)}, true},
		{record{Status: "failed", FinalAt: t0}, false},
		{record{Status: "completed", FinalAt: t0.Add(time.Second)}, false},
		{record{Status: "inProgress"}, false},
		{record{Status: "someFutureStatus"}, false},
		{record{Status: ""}, false},
	}
	for _, tt := range tests {
		if got := expired(&tt.rec, from); got != tt.want {
			t.Errorf("expired(%+v) = %v, want %v", tt.rec, got, tt.want)
		}
	}
}

func BenchmarkDiff(b *testing.B) {
	for _, n := range []int{1000, 30000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := newFlow("wf")
			obs := make(observations, n)
			for i := range n {
				id := fmt.Sprintf("wf_3_run_%08d", i)
				status := "inProgress"
				if i%10 == 0 {
					status = "failed" // a tenth changed since the last poll
				}
				f.set(&record{ID: id, WorkflowID: "wf", Status: "inProgress", rev: uint64(i + 1)})
				obs[id] = &observation{res: result(id, status, at(0), at(0), at(time.Minute)), at: t0}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				d := diff(f, obs, t0.Add(-time.Hour))
				if len(d.changes) != n/10 {
					b.Fatalf("%d changes", len(d.changes))
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "results/s")
		})
	}
}

func TestRawOf(t *testing.T) {
	r := result("r", "quarantined", at(0), nil, nil)
	var got map[string]any
	if err := json.Unmarshal(rawOf(r), &got); err != nil {
		t.Fatal(err)
	}
	if got["id"] != "r" || got["processingStatus"] != "quarantined" || got["startedDateTime"] != nil ||
		got["subject"].(map[string]any)["id"] != "user-r" {
		t.Errorf("rawOf = %v", got)
	}
}
