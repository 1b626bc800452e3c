package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

var observed = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func workflowEvent(t *testing.T, change, episode string) *events.WorkflowEvent {
	t.Helper()
	ev, err := events.NewWorkflowEvent("https://graph.example/wf-1", observed, episode, events.WorkflowData{
		Workflow: events.Workflow{ID: "wf-1", DisplayName: "Offboard", Category: "leaver"},
		Change:   change,
		State: events.WorkflowState{IsEnabled: true, QuarantineDetails: json.RawMessage(
			`{"quarantinedDateTime":"2026-12-03T08:59:00Z","quarantineReason":"412 users in scope","quarantineType":"someTypeAddedLater"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func actionEvent(t *testing.T, kind string) *events.ActionEvent {
	t.Helper()
	ev, err := events.NewActionEvent("https://graph.example/wf-1", observed, events.ActionData{
		Workflow: events.Workflow{ID: "wf-1"}, ActionID: "act-1", Kind: kind, Action: events.RerunFailedTasks,
		Target: events.ActionTarget{ResultID: "upr-1", RunID: "run-1", EventID: "lcw1-x"},
		Actor:  events.Actor{Via: "slack", ID: "U0123", Name: "alex"}, At: observed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func digestEvent(t *testing.T) *events.DigestEvent {
	t.Helper()
	ev, err := events.NewDigestEvent("https://graph.example", observed, events.DigestData{
		Period:  events.Period{Start: observed.Add(-24 * time.Hour), End: observed, Schedule: "daily@09:00", TimeZone: "UTC"},
		Partial: true,
		Workflows: []events.WorkflowDigest{{Workflow: events.Workflow{ID: "wf-1"}, Users: events.UserCounts{Processed: 3, Failed: 1},
			ReasonSample: events.ReasonSample{Read: 1, Of: 1}, Missing: "run summary: graph: 503"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestKindsRoundTrip: each kind of event decodes to what was encoded, keeps Graph's
// unknown enum values, goes on its documented subject, and has an id of its own.
func TestKindsRoundTrip(t *testing.T) {
	wf := workflowEvent(t, events.ChangeQuarantined, "2026-12-03T08:59:00Z")
	b, _ := wf.Marshal()
	back, err := events.DecodeWorkflowEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	q, err := back.Data.State.Quarantine()
	if err != nil || q.QuarantineType != "someTypeAddedLater" || q.QuarantinedDateTime == nil {
		t.Errorf("quarantine = %+v, %v; want the unknown type kept", q, err)
	}
	if back.Data.Episode != "2026-12-03T08:59:00Z" {
		t.Errorf("episode = %q, want the one the id was made from", back.Data.Episode)
	}
	if got := wf.SubjectFor("lcw"); got != "lcw.workflow.wf-1.quarantined" {
		t.Errorf("workflow subject = %q", got)
	}

	act := actionEvent(t, events.ActionAccepted)
	b, _ = act.Marshal()
	if a, err := events.DecodeActionEvent(b); err != nil || a.Data.Actor.ID != "U0123" || a.Subject != "upr-1" {
		t.Errorf("action decodes to %+v, %v", a, err)
	}
	if got := act.SubjectFor("lcw"); got != "lcw.action.wf-1.accepted" {
		t.Errorf("action subject = %q", got)
	}

	dg := digestEvent(t)
	b, _ = dg.Marshal()
	if d, err := events.DecodeDigestEvent(b); err != nil || d.Data.Workflows[0].Users.Failed != 1 ||
		!d.Data.Partial || d.Data.Workflows[0].Missing == "" || d.Data.Workflows[0].ReasonSample.Of != 1 {
		t.Errorf("digest decodes to %+v, %v", d, err)
	}
	if got := dg.SubjectFor("lcw"); got != "lcw.digest.report" {
		t.Errorf("digest subject = %q", got)
	}

	ids := map[string]string{}
	for name, id := range map[string]string{
		"quarantined":             wf.ID,
		"quarantined again later": workflowEvent(t, events.ChangeQuarantined, "2026-12-04T08:00:00Z").ID,
		"released":                workflowEvent(t, events.ChangeReleased, "2026-12-03T08:59:00Z").ID,
		"accepted":                act.ID,
		"failed":                  actionEvent(t, events.ActionFailed).ID,
		"digest":                  dg.ID,
	} {
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s share the id %s", name, other, id)
		}
		ids[id] = name
	}
	if workflowEvent(t, events.ChangeQuarantined, "2026-12-03T08:59:00Z").ID != wf.ID || actionEvent(t, events.ActionAccepted).ID != act.ID || digestEvent(t).ID != dg.ID {
		t.Error("the same change, record or period gives another id")
	}
}

// TestActionRequestIDs: the records of one request share nothing but their action with
// another request's, so every click is stored; the same request recorded twice is
// stored once, and a record without a request keeps the id it always had.
func TestActionRequestIDs(t *testing.T) {
	withRequest := func(kind, request string) string {
		ev, err := events.NewActionEvent("https://graph.example/wf-1", observed, events.ActionData{
			Workflow: events.Workflow{ID: "wf-1"}, ActionID: "act-1", Kind: kind, Action: events.RerunFailedTasks,
			Target: events.ActionTarget{ResultID: "upr-1"}, Actor: events.Actor{Via: "slack", ID: "U0123"},
			At: observed, Request: request,
		})
		if err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	tests := []struct {
		name      string
		a, b      string
		wantEqual bool
	}{
		{"same request and kind", withRequest(events.ActionRefused, "click-1"), withRequest(events.ActionRefused, "click-1"), true},
		{"two clicks refused", withRequest(events.ActionRefused, "click-1"), withRequest(events.ActionRefused, "click-2"), false},
		{"one click, two kinds", withRequest(events.ActionRequested, "click-1"), withRequest(events.ActionAccepted, "click-1"), false},
		{"no request keeps ActionEventID", withRequest(events.ActionAccepted, ""), events.ActionEventID("act-1", events.ActionAccepted), true},
		{"a request differs from none", withRequest(events.ActionAccepted, "click-1"), withRequest(events.ActionAccepted, ""), false},
		{"ActionRequestEventID is the event's id", withRequest(events.ActionRefused, "click-9"), events.ActionRequestEventID("act-1", events.ActionRefused, "click-9"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a == tt.b; got != tt.wantEqual {
				t.Errorf("ids %s and %s equal = %v, want %v", tt.a, tt.b, got, tt.wantEqual)
			}
		})
	}
}

func TestKindsRefuseMalformed(t *testing.T) {
	for name, raw := range map[string]string{
		"workflow of another type":     `{"specversion":"1.0","id":"x","source":"s","type":"lcwnotify.userProcessingResult.statusChanged","subject":"wf","data":{"workflow":{"id":"wf"},"change":"quarantined"}}`,
		"workflow subject not its id":  `{"specversion":"1.0","id":"x","source":"s","type":"lcwnotify.workflow.stateChanged","subject":"other","data":{"workflow":{"id":"wf"},"change":"quarantined"}}`,
		"workflow quarantine not JSON": `{"specversion":"1.0","id":"x","source":"s","type":"lcwnotify.workflow.stateChanged","subject":"wf","data":{"workflow":{"id":"wf"},"change":"quarantined","state":{"quarantineDetails":"oops"}}}`,
	} {
		if _, err := events.DecodeWorkflowEvent([]byte(raw)); !errors.Is(err, events.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	for name, raw := range map[string]string{
		"action without a target": `{"specversion":"1.0","id":"x","source":"s","type":"lcwnotify.action.recorded","subject":"r","data":{"workflow":{"id":"wf"},"actionId":"a","kind":"requested","action":"rerunWorkflow","target":{}}}`,
		"action without an id":    `{"specversion":"1.0","id":"x","source":"s","type":"lcwnotify.action.recorded","subject":"r","data":{"workflow":{"id":"wf"},"kind":"requested","action":"rerunWorkflow","target":{"resultId":"r"}}}`,
	} {
		if _, err := events.DecodeActionEvent([]byte(raw)); !errors.Is(err, events.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := events.DecodeDigestEvent([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"lcwnotify.digest.report","subject":"p","data":{"period":{"start":"2026-12-03T00:00:00Z","end":"2026-12-02T00:00:00Z"}}}`)); !errors.Is(err, events.ErrMalformed) {
		t.Errorf("a digest that ends before it starts: err = %v, want ErrMalformed", err)
	}
}

// TestPublishMessage: every kind goes into the stream on its subject, once however often
// it is published.
func TestPublishMessage(t *testing.T) {
	_, _, s, p := setup(t)
	ctx := context.Background()
	for range 2 {
		for _, m := range []struct {
			id  string
			msg events.Message
		}{
			{workflowEvent(t, events.ChangeQuarantined, "e1").ID, workflowEvent(t, events.ChangeQuarantined, "e1")},
			{actionEvent(t, events.ActionRequested).ID, actionEvent(t, events.ActionRequested)},
			{digestEvent(t).ID, digestEvent(t)},
		} {
			if a := p.PublishMessage(ctx, m.id, m.msg); a.Err != nil {
				t.Fatal(a.Err)
			}
		}
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("lcw.>"))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Errorf("%d messages stored, want 3", info.State.Msgs)
	}
	for _, subj := range []string{"lcw.workflow.wf-1.quarantined", "lcw.action.wf-1.requested", "lcw.digest.report"} {
		if n := info.State.Subjects[subj]; n != 1 {
			t.Errorf("%d messages on %s, want 1", n, subj)
		}
	}
}
