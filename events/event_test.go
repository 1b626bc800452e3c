package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func sampleData(status string, prev *string) Data {
	reason := "The user's manager is not set."
	info := "The user was already a member of every group."
	return Data{
		TenantID: "5f5c0a1e-0000-4000-8000-000000000001",
		Workflow: Workflow{ID: "wf-1", DisplayName: "Onboard new hires", Category: "joiner", Version: 3},
		RunID:    "run-9",
		UserProcessingResult: json.RawMessage(`{"id":"upr-1","processingStatus":"` + status +
			`","completedDateTime":"2024-05-01T10:00:01.1234567Z","failedTasksCount":1,"totalTasksCount":3,` +
			`"totalUnprocessedTasksCount":0,"workflowExecutionType":"scheduled","workflowVersion":3,` +
			`"scheduledDateTime":"2024-05-01T09:59:00Z","startedDateTime":null,"subject":{"id":"user-1"}}`),
		PreviousProcessingStatus: prev,
		TaskProcessingResults: []TaskResult{{
			ID: "tpr-0", ProcessingStatus: "completed", ProcessingInfo: &info,
			Task: Task{DisplayName: "Add user to groups", Category: "joiner", ExecutionSequence: 1},
		}, {
			ID: "tpr-1", ProcessingStatus: "failed", FailureReason: &reason,
			Task: Task{DisplayName: "Send welcome email to new hire manager", Category: "joiner", ExecutionSequence: 2},
		}},
		User: User{ID: "user-1", DisplayName: "Adele Vance", UserPrincipalName: "adele@contoso.example"},
	}
}

func TestNewGolden(t *testing.T) {
	prev := "inProgress"
	ev, err := New("https://graph.microsoft.com/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf-1",
		time.Date(2024, 5, 1, 10, 0, 5, 0, time.FixedZone("CEST", 2*3600)), sampleData("failed", &prev))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "event.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("event JSON differs from %s (run with -update if intended):\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
	back, err := Decode(got)
	if err != nil {
		t.Fatalf("Decode(golden) = %v", err)
	}
	if back.ID != ev.ID || back.Data.PreviousProcessingStatus == nil || *back.Data.PreviousProcessingStatus != "inProgress" {
		t.Errorf("round trip lost fields: got %+v", back)
	}
	if back.Time.Location() != time.UTC || !back.Time.Equal(ev.Time) {
		t.Errorf("time = %v, want %v in UTC", back.Time, ev.Time)
	}
}

func TestFirstSightingHasNullPrevious(t *testing.T) {
	ev, err := New("src", time.Now(), sampleData("failed", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ev.Marshal()
	if !bytes.Contains(b, []byte(`"previousProcessingStatus":null`)) {
		t.Errorf("first sighting must carry previousProcessingStatus null; got %s", b)
	}
}

func TestUnknownEnumValuesKeptAsReceived(t *testing.T) {
	d := sampleData("quarantined", nil)
	d.UserProcessingResult = json.RawMessage(strings.Replace(string(d.UserProcessingResult),
		`"scheduled"`, `"activatedWithScope"`, 1))
	ev, err := New("src", time.Now(), d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ev.Marshal()
	for _, want := range []string{`"processingStatus":"quarantined"`, `"workflowExecutionType":"activatedWithScope"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("event lost %s: %s", want, b)
		}
	}
	if ev.ID != ID("wf-1", "upr-1", "quarantined") {
		t.Errorf("id %s not derived from the unknown status", ev.ID)
	}
}

func TestIDDeterministic(t *testing.T) {
	a := ID("wf", "r", "failed")
	if a != ID("wf", "r", "failed") {
		t.Fatal("same inputs gave different ids")
	}
	for _, other := range []string{ID("wf", "r", "completed"), ID("wf", "r2", "failed"), ID("wf2", "r", "failed"),
		ID("wfr", "", "failed"), ID("w", "fr", "failed")} {
		if other == a {
			t.Errorf("distinct inputs share id %s", a)
		}
	}
	if !strings.HasPrefix(a, "lcw1-") || len(a) != len("lcw1-")+32 {
		t.Errorf("id %q: want lcw1- and 32 hex digits", a)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := New("src", time.Now(), sampleData("failed", nil))
	mutate := func(f func(*Event)) []byte {
		ev := *good
		f(&ev)
		b, _ := json.Marshal(&ev)
		return b
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"not json", []byte("<html>")},
		{"truncated", []byte(`{"specversion":"1.0","id":"x"`)},
		{"wrong specversion", mutate(func(e *Event) { e.SpecVersion = "0.3" })},
		{"wrong type", mutate(func(e *Event) { e.Type = "other" })},
		{"no id", mutate(func(e *Event) { e.ID = "" })},
		{"no source", mutate(func(e *Event) { e.Source = "" })},
		{"no workflow", mutate(func(e *Event) { e.Data.Workflow.ID = "" })},
		{"result not an object", mutate(func(e *Event) { e.Data.UserProcessingResult = json.RawMessage(`"x"`) })},
		{"result without status", mutate(func(e *Event) { e.Data.UserProcessingResult = json.RawMessage(`{"id":"upr-1"}`) })},
		{"subject differs from result", mutate(func(e *Event) { e.Subject = "other" })},
		{"null data", []byte(`{"specversion":"1.0","id":"x","source":"s","type":"` + Type + `","subject":"s","data":null}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Decode = %v, want an error wrapping ErrMalformed", err)
			}
		})
	}
}
