package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestSinceFlag(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"7d", 7 * 24 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"30d", 30 * 24 * time.Hour, false},
		{"31d", 0, true},
		{"0d", 0, true},
		{"-1h", 0, true},
		{"a week", 0, true},
		{"d", 0, true},
	} {
		var s sinceFlag
		err := s.Set(tt.in)
		if (err != nil) != tt.bad || !tt.bad && time.Duration(s) != tt.want {
			t.Errorf("Set(%q) = %v, %v; want %v (refused: %v)", tt.in, time.Duration(s), err, tt.want, tt.bad)
		}
	}
}

// TestDigestText: the text report, aligned, in the digest's time zone, with Graph's text
// unable to reach the terminal as control characters.
func TestDigestText(t *testing.T) {
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	d := events.DigestData{
		TenantID: "5f5c0a1e-0000-4000-8000-000000000001",
		Period: events.Period{Start: *at("2026-10-24T07:00:00Z"), End: *at("2026-10-25T08:00:00Z"),
			Schedule: "daily@09:00", TimeZone: "Europe/Berlin"},
		Partial: true,
		Workflows: []events.WorkflowDigest{
			{
				Workflow: events.Workflow{ID: "wf-1", DisplayName: "Onboard new hires", Category: "joiner"},
				State:    events.WorkflowState{IsEnabled: true, IsSchedulingEnabled: true, QuarantineDetails: json.RawMessage(`{"quarantineType":"notQuarantined"}`)},
				Users:    events.UserCounts{Processed: 120, Succeeded: 112, Failed: 6, CompletedWithErrors: 2},
				Runs:     events.RunCounts{Total: 8, Succeeded: 6, Failed: 2},
				TopReasons: []events.ReasonCount{
					{Task: "Enable user account", Reason: "Insufficient privileges to complete the operation.", Count: 4},
					{Task: "Assign licenses", Reason: "No licenses available.\x1b[2J", Count: 2},
				},
				ReasonSample:    events.ReasonSample{Read: 6, Of: 8},
				Unresolved:      []events.Unresolved{{ResultID: "upr-9", User: events.User{ID: "u-9", DisplayName: "Adele Vance", UserPrincipalName: "adele@contoso.example"}, Status: "failed", CompletedAt: at("2026-10-25T07:30:00Z")}},
				UnresolvedTotal: 3,
			},
			{
				Workflow: events.Workflow{ID: "wf-2", DisplayName: "Offboard leavers", Category: "leaver"},
				State: events.WorkflowState{IsEnabled: true, IsSchedulingEnabled: true, QuarantineDetails: json.RawMessage(
					`{"quarantinedDateTime":"2026-10-25T02:30:00Z","quarantineReason":"The run would process 412 users, more than the limit of 100 users.","quarantineType":"countBasedThresholdExceeded"}`)},
			},
			{
				Workflow: events.Workflow{ID: "wf-3", DisplayName: "Real-time mover", Category: "mover"},
				State:    events.WorkflowState{QuarantineDetails: json.RawMessage(`{"quarantineType":"notQuarantined"}`)},
				Users:    events.UserCounts{Processed: 2, Succeeded: 2},
				Missing:  "run summary: graph: 503 ServiceUnavailable",
			},
			{
				Workflow: events.Workflow{ID: "wf-gone"},
				Missing:  "LCW_WORKFLOWS names it, but Graph does not know this workflow",
			},
		},
	}
	var b bytes.Buffer
	loc, _ := time.LoadLocation("Europe/Berlin")
	if err := writeDigestText(&b, d, loc); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "digest.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("text report:\n%s\nwant (go test -run DigestText -update to accept):\n%s", got, want)
	}
	if bytes.ContainsRune(b.Bytes(), 0x1b) {
		t.Error("an escape character from Graph reached the report")
	}
}

// TestDigestCommand: `lcwnotify digest` reads the simulator through the real token
// authority and prints what the test made, as JSON and as text; it needs no NATS and
// touches no data directory.
func TestDigestCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	wf := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard leavers", Category: graphsim.CategoryLeaver})
	users := w.sim.AddUsers(3)
	for i, st := range []string{events.StatusCompleted, events.StatusFailed, events.StatusCompletedWithErrors} {
		w.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: time.Now().Add(-time.Hour), Users: []string{users[i].ID}, Status: st})
	}
	stopped := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard", Category: graphsim.CategoryJoiner})
	w.sim.Quarantine(stopped.ID, graphsim.QuarantineCount, "412 users")
	w.env["LCW_DIGEST_TZ"] = "Europe/Berlin"
	w.env["LCW_NATS_URL"] = "nats://127.0.0.1:1" // never reached

	code, out, errOut := runBinary(t, w.env, "digest", "--since", "1d", "--json")
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errOut)
	}
	var d events.DigestData
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("stdout is not a digest: %v\n%s", err, out)
	}
	if len(d.Workflows) != 2 || d.Partial || d.Period.End.Sub(d.Period.Start) != 24*time.Hour {
		t.Fatalf("digest = %+v", d)
	}
	if got, want := d.Workflows[0].Users, (events.UserCounts{Processed: 3, Succeeded: 1, Failed: 1, CompletedWithErrors: 1}); got != want {
		t.Errorf("users = %+v, want %+v", got, want)
	}
	noSecrets(t, "digest output", out+errOut)

	code, out, errOut = runBinary(t, w.env, "digest")
	if code != 0 {
		t.Fatalf("text: exit %d; stderr: %s", code, errOut)
	}
	for _, want := range []string{"(Europe/Berlin)", "Offboard leavers", "QUARANTINED", "412 users", "Failures with no later success (2"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errOut, "reading Graph") {
		t.Errorf("progress drawn into a pipe: %q", errOut)
	}
	if entries, _ := os.ReadDir(w.env["LCW_DATA_DIR"]); len(entries) > 0 {
		t.Error("digest touched the data directory")
	}

	// A summary Graph answers with garbage: the report says it is partial, exit 1.
	w.sim.InjectFault(graphsim.Fault{Op: graphsim.OpRunSummary, Kind: graphsim.FaultMalformed, Times: 100})
	code, out, errOut = runBinary(t, w.env, "digest", "--since", "2h")
	if code != 1 || !strings.Contains(out, "PARTIAL") || !strings.Contains(errOut, "partial") {
		t.Errorf("with the run summary failing: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
