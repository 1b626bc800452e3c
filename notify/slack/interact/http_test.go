package interact

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
)

// TestSignedClickRerunsFailedTasksOnce: an allowed user's signed click re-runs the
// failed tasks of the result once, is told so at once and then told the outcome, and
// leaves requested and accepted records saying who, when and what.
func TestSignedClickRerunsFailedTasksOnce(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	h := tn.start(t, nil)
	c := tn.click(t, allowedUser, lcwslack.ActionIDRerunFailedTasks)
	before := time.Now()
	if got := h.post(t, c); got != http.StatusOK {
		t.Fatalf("status %d, want 200", got)
	}
	recs := tn.waitRecords(t, events.ActionRequested, events.ActionAccepted)

	acts := tn.activations()
	if len(acts) != 1 {
		t.Fatalf("%d activations, want 1: %+v", len(acts), acts)
	}
	a := acts[0]
	if a.Action != "activateWithScope" || a.Scope != graphsim.ScopeProcessingResults || len(a.ProcessingResults) != 1 ||
		a.ProcessingResults[0] != tn.failed || a.TaskScope != graphsim.TaskScopeFailed || a.WorkflowID != tn.wf.ID {
		t.Errorf("activation = %+v, want the failed tasks of %s", a, tn.failed)
	}
	if got := kinds(recs); strings.Join(got, ",") != "requested,accepted" {
		t.Fatalf("records %v, want requested, accepted", got)
	}
	for _, r := range recs {
		d := r.Data
		if d.Actor != (events.Actor{Via: "slack", ID: allowedUser, Name: strings.ToLower(allowedUser), Team: "T0FAKE000"}) {
			t.Errorf("%s actor = %+v", d.Kind, d.Actor)
		}
		if d.Action != events.RerunFailedTasks || d.Workflow.ID != tn.wf.ID || d.Workflow.DisplayName != tn.wf.DisplayName ||
			d.Target.ResultID != tn.failed || d.Target.User == nil || d.Target.User.ID != tn.users[0].ID ||
			d.Target.User.DisplayName != tn.users[0].DisplayName || d.Target.EventID != events.ID(tn.wf.ID, tn.failed, events.StatusFailed) {
			t.Errorf("%s says what = %+v", d.Kind, d)
		}
		if d.Message == nil || *d.Message != (events.MessageRef{Sink: "slack", Key: testChannel, ID: testTS}) {
			t.Errorf("%s message = %+v, want the button's message", d.Kind, d.Message)
		}
		if d.At.Before(before.Add(-time.Second)) || d.At.After(time.Now()) || d.TenantID != "tenant-1" || d.Request == "" || d.Request != recs[0].Data.Request {
			t.Errorf("%s when/request = %v %q", d.Kind, d.At, d.Request)
		}
		if r.Source != tn.graph.WorkflowURL(tn.wf.ID) || r.Subject != tn.failed {
			t.Errorf("%s source %s subject %s", d.Kind, r.Source, r.Subject)
		}
	}
	if g := recs[1].Data.Graph; g == nil || g.Status != http.StatusNoContent {
		t.Errorf("accepted graph answer = %+v, want 204", g)
	}

	eph, err := tn.slack.WaitEphemerals(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(eph) != 2 || !strings.HasPrefix(eph[0].Text, "Re-running the failed tasks of *"+tn.users[0].DisplayName+"* in *Onboard new hires*") ||
		!strings.HasPrefix(eph[1].Text, "Graph accepted") {
		t.Errorf("ephemerals = %q", []string{eph[0].Text, eph[len(eph)-1].Text})
	}
	for _, e := range eph {
		if e.Via != "response_url" || e.ResponseURL != c.ResponseURL || e.ResponseType != "ephemeral" || e.ReplaceOriginal == nil || *e.ReplaceOriginal {
			t.Errorf("ephemeral %+v: want an ephemeral through the response_url that leaves the message alone", e)
		}
	}
}

// TestOtherActions: the workflow for the user runs through activate, the failed users
// of a run through a run scope.
func TestOtherActions(t *testing.T) {
	tests := []struct {
		actionID string
		check    func(tn *tenant, a graphsim.Activation) bool
	}{
		{lcwslack.ActionIDRerunWorkflow, func(tn *tenant, a graphsim.Activation) bool {
			return a.Action == "activate" && len(a.Users) == 1 && a.Users[0] == tn.users[0].ID
		}},
		{lcwslack.ActionIDRerunFailedUsers, func(tn *tenant, a graphsim.Activation) bool {
			return a.Scope == graphsim.ScopeRun && a.ScopeRunID == tn.run.ID && a.UserScope == graphsim.UserScopeFailed &&
				a.TaskScope == graphsim.TaskScopeFailed && len(a.Users) == 1 && a.Users[0] == tn.users[0].ID
		}},
	}
	for _, tt := range tests {
		t.Run(tt.actionID, func(t *testing.T) {
			tn := newTenant(t, graphsim.Options{}, "")
			h := tn.start(t, nil)
			if got := h.post(t, tn.click(t, allowedUser, tt.actionID)); got != http.StatusOK {
				t.Fatalf("status %d", got)
			}
			recs := tn.waitRecords(t, events.ActionAccepted)
			acts := tn.activations()
			if len(acts) != 1 || !tt.check(tn, acts[0]) {
				t.Errorf("activations = %+v", acts)
			}
			if tt.actionID == lcwslack.ActionIDRerunFailedUsers && (recs[0].Subject != tn.run.ID || recs[0].Data.Target.ResultID != "") {
				t.Errorf("the run's record is about %s (result %q), want the run", recs[0].Subject, recs[0].Data.Target.ResultID)
			}
		})
	}
}

// TestHTTPRefusesUnverifiedRequests: nothing Slack did not sign recently, and nothing
// unreadable, is acted on; the refusal comes before anything is done.
func TestHTTPRefusesUnverifiedRequests(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	h := tn.start(t, nil)
	payload := tn.click(t, allowedUser, lcwslack.ActionIDRerunFailedTasks).Payload()
	body := slacktest.Form(payload)
	req := func(method string, body []byte, header http.Header) *http.Request {
		r, err := http.NewRequest(method, h.srv.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if header != nil {
			r.Header = header
		}
		return r
	}
	signedBody := func(b []byte) *http.Request {
		return req(http.MethodPost, b, slacktest.Sign(testSecret, time.Now(), b))
	}
	forged := slacktest.Sign(testSecret, time.Now(), body)
	forged.Set("X-Slack-Signature", "v0="+strings.Repeat("ab", 32))
	tampered := slacktest.Sign(testSecret, time.Now(), body)
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"no signature", req(http.MethodPost, body, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}), 401},
		{"signed with another secret", req(http.MethodPost, body, slacktest.Sign("another-secret", time.Now(), body)), 401},
		{"forged signature", req(http.MethodPost, body, forged), 401},
		{"body changed after signing", req(http.MethodPost, slacktest.Form(bytes.Replace(payload, []byte(allowedUser), []byte(strangers), 1)), tampered), 401},
		{"stale by six minutes", req(http.MethodPost, body, slacktest.Sign(testSecret, time.Now().Add(-6*time.Minute), body)), 401},
		{"from the future", req(http.MethodPost, body, slacktest.Sign(testSecret, time.Now().Add(6*time.Minute), body)), 401},
		{"malformed JSON after a valid signature", signedBody(slacktest.Form([]byte(`{"type":"block_actions","user":`))), 400},
		{"no payload after a valid signature", signedBody([]byte("foo=bar")), 400},
		{"no user after a valid signature", signedBody(slacktest.Form([]byte(`{"type":"block_actions","actions":[]}`))), 400},
		{"too large", req(http.MethodPost, bytes.Repeat([]byte("a"), maxBody+1), nil), 413},
		{"GET", req(http.MethodGet, nil, nil), 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := do(t, tt.req); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
	if n := len(tn.activations()); n != 0 {
		t.Errorf("%d activations from refused requests", n)
	}
	if recs := tn.records(t); len(recs) != 0 {
		t.Errorf("records from refused requests: %v", kinds(recs))
	}
	if eph := tn.slack.Ephemerals(); len(eph) != 0 {
		t.Errorf("replies to refused requests: %+v", eph)
	}
	if h.queue == nil || len(h.queue) != 0 {
		t.Error("refused requests were queued")
	}
	// The valid request still works afterwards.
	if got := do(t, signedBody(body)); got != http.StatusOK {
		t.Errorf("the signed request: status %d", got)
	}
	tn.waitRecords(t, events.ActionAccepted)
}

// TestReplayAndRetryAreHandledOnce: the same signed request sent again (a replay within
// the five minutes, Slack's retry with X-Slack-Retry-Num) is the same click: one
// activation, one pair of records, one pair of replies.
func TestReplayAndRetryAreHandledOnce(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	h := tn.start(t, nil)
	payload := tn.click(t, allowedUser, lcwslack.ActionIDRerunFailedTasks).Payload()
	at := time.Now()
	if got := do(t, signed(t, h.srv.URL, payload, at, testSecret)); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	tn.waitRecords(t, events.ActionAccepted)
	for i := range 2 {
		req := signed(t, h.srv.URL, payload, at, testSecret)
		if i == 1 {
			req.Header.Set("X-Slack-Retry-Num", "1")
			req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
		}
		if got := do(t, req); got != http.StatusOK {
			t.Fatalf("repeat %d: status %d", i, got)
		}
	}
	waitFor(t, "both repeats to be handled", func() bool {
		return strings.Count(tn.logs.String(), "the same click delivered again") == 2
	})
	if n := len(tn.activations()); n != 1 {
		t.Errorf("%d activations, want 1", n)
	}
	if got := kinds(tn.records(t)); strings.Join(got, ",") != "requested,accepted" {
		t.Errorf("records %v, want requested, accepted only", got)
	}
	if n := len(tn.slack.Ephemerals()); n != 2 {
		t.Errorf("%d replies, want the first click's two", n)
	}
}
