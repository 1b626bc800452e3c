package interact

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// TestWhoMayAct: named users and members of a named group may act; anyone else, and
// everyone while a group cannot be read, gets an ephemeral "may not" and a refused
// record, and Graph is not called.
func TestWhoMayAct(t *testing.T) {
	tests := []struct {
		name       string
		user       string
		groupFault *httpfake.Fault
		groups     []string // LCW_ACTIONS_ALLOWED's groups, default onCallGroup
		wantActed  bool
		wantReason string
	}{
		{"a named user", allowedUser, nil, nil, true, ""},
		{"a member of a named group", groupUser, nil, nil, true, ""},
		{"a stranger", strangers, nil, nil, false, "may not re-run workflows"},
		{"a member while the group cannot be read", groupUser, &httpfake.Fault{Error: "missing_scope"}, nil, false, "usergroups:read"},
		{"a member while Slack fails", groupUser, &httpfake.Fault{Status: 500}, nil, false, "could not check"},
		{"a group that does not exist", groupUser, nil, []string{"S0NOSUCH01"}, false, "no_such_subteam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, graphsim.Options{}, "")
			if tt.groupFault != nil {
				tn.slack.FailNextUserGroups(1, *tt.groupFault)
			}
			h := tn.start(t, func(o *Options) {
				if tt.groups != nil {
					o.Allowed = append([]string{allowedUser}, tt.groups...)
				}
			})
			if got := h.post(t, tn.click(t, tt.user, lcwslack.ActionIDRerunFailedTasks)); got != http.StatusOK {
				t.Fatalf("status %d", got)
			}
			if tt.wantActed {
				tn.waitRecords(t, events.ActionAccepted)
				if n := len(tn.activations()); n != 1 {
					t.Errorf("%d activations, want 1", n)
				}
				return
			}
			recs := tn.waitRecords(t, events.ActionRefused)
			if len(recs) != 1 || !strings.Contains(recs[0].Data.Reason, tt.wantReason) || recs[0].Data.Actor.ID != tt.user {
				t.Errorf("records %+v, want one refused for %s saying %q", recs, tt.user, tt.wantReason)
			}
			if n := len(tn.activations()); n != 0 {
				t.Errorf("%d activations for someone who may not act", n)
			}
			eph, _ := tn.slack.WaitEphemerals(t.Context(), 1)
			if len(eph) != 1 || !strings.HasPrefix(eph[0].Text, "Nothing was done") || eph[0].ResponseType != "ephemeral" {
				t.Errorf("replies %+v, want one ephemeral saying nothing was done", eph)
			}
		})
	}
}

// TestGroupMembersAreReadAgain: group members are read once per TTL, and a failure to
// read them again forgets them rather than trusting the old list.
func TestGroupMembersAreReadAgain(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	api := slack.New(tn.slack.Token(), slack.OptionAPIURL(tn.slack.APIURL()))
	a, err := newAllowList([]string{onCallGroup}, api, DefaultGroupTTL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	before := tn.slack.Stats().Requests
	for range 3 {
		if ok, err := a.allows(ctx, groupUser); !ok || err != nil {
			t.Fatalf("member refused: %v", err)
		}
	}
	if n := tn.slack.Stats().Requests - before; n != 1 {
		t.Errorf("%d reads within the TTL, want 1", n)
	}
	a.ttl = 0 // every read is stale
	tn.slack.FailNextUserGroups(1, httpfake.Fault{Status: 500})
	if ok, err := a.allows(ctx, groupUser); ok || err == nil {
		t.Errorf("a failed read allowed the member (err %v)", err)
	}
	tn.slack.SetUserGroup(onCallGroup, "U0SOMEONE1") // removed from the group
	if ok, _ := a.allows(ctx, groupUser); ok {
		t.Error("a member removed from the group may still act")
	}
	if _, err := newAllowList([]string{"C0CHANNEL1"}, api, 0); err == nil {
		t.Error("a channel id was accepted as someone allowed")
	}
}

// TestDoubleClickActivatesOnce: two people clicking the same button at once, and one
// person clicking twice, give one activation; every click is recorded.
func TestDoubleClickActivatesOnce(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	h := tn.start(t, nil)
	clicks := []string{allowedUser, otherUser, allowedUser, groupUser}
	var wg sync.WaitGroup
	for _, u := range clicks {
		c := tn.click(t, u, lcwslack.ActionIDRerunFailedTasks)
		wg.Go(func() {
			if got := h.post(t, c); got != http.StatusOK {
				t.Errorf("status %d", got)
			}
		})
	}
	wg.Wait()
	recs := tn.waitRecords(t, events.ActionRequested, events.ActionAccepted, events.ActionRefused, events.ActionRefused, events.ActionRefused)
	if n := len(tn.activations()); n != 1 {
		t.Errorf("%d activations for %d clicks, want 1", n, len(clicks))
	}
	requests := map[string]bool{}
	for _, r := range recs {
		if r.Data.Kind != events.ActionAccepted {
			requests[r.Data.Request] = true
		}
		if r.Data.Kind == events.ActionRefused && !strings.Contains(r.Data.Reason, "already") {
			t.Errorf("refused because %q, want already requested", r.Data.Reason)
		}
	}
	if len(requests) != len(clicks) || count(recs, events.ActionRequested) != 1 {
		t.Errorf("records %v of %d requests, want each of the %d clicks once, one of them requested", kinds(recs), len(requests), len(clicks))
	}
	// A click after the outcome is told who asked, and when.
	late := tn.click(t, otherUser, lcwslack.ActionIDRerunFailedTasks)
	h.post(t, late)
	waitFor(t, "the late click's refusal", func() bool { return count(tn.records(t), events.ActionRefused) == 4 })
	if texts := tn.ephemeralTexts(); !containsText(texts, "already requested by <@") || !containsText(texts, "Graph accepted it") {
		t.Errorf("replies %q, want 'already requested by @x at …, and Graph accepted it'", texts)
	}
}

// TestTwoReplicasActivateOnce: two handlers on one NATS, each receiving clicks on the
// same button, activate once between them.
func TestTwoReplicasActivateOnce(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	replicas := []*running{tn.start(t, nil), tn.start(t, nil)}
	var wg sync.WaitGroup
	for i, u := range []string{allowedUser, otherUser, groupUser, allowedUser, otherUser, groupUser} {
		c := tn.click(t, u, lcwslack.ActionIDRerunWorkflow)
		wg.Go(func() { replicas[i%2].post(t, c) })
	}
	wg.Wait()
	recs := tn.waitRecords(t, events.ActionRequested, events.ActionAccepted, events.ActionRefused, events.ActionRefused,
		events.ActionRefused, events.ActionRefused, events.ActionRefused)
	if n := len(tn.activations()); n != 1 {
		t.Errorf("%d activations from two replicas, want 1", n)
	}
	if n := count(recs, events.ActionRequested); n != 1 {
		t.Errorf("%d requested records, want 1", n)
	}
}

// TestGraphRefusals: what Graph answers becomes a failed record with its status, code
// and request id and a reason in plain words; nothing is activated, and the next
// click may try again.
func TestGraphRefusals(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		fault      *graphsim.Fault
		disable    bool
		wantStatus int
		wantReason string
	}{
		{"403 without the permission", jwt(graphsim.RoleReportsRead, graphsim.RoleWorkflowReadBasic), nil, false, 403, graph.PermissionActivate + ": grant it and consent"},
		{"429 past the retry budget", "", &graphsim.Fault{Op: graphsim.OpActivateWithScope, Kind: graphsim.FaultThrottle, RetryAfter: 100_000_000, Times: 50}, false, 429, "throttling"},
		{"503 past the retry budget", "", &graphsim.Fault{Op: graphsim.OpActivateWithScope, Kind: graphsim.FaultUnavailable, RetryAfter: 10 * time.Millisecond, Times: 50}, false, 429, "throttling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, graphsim.Options{RequireRoles: true}, tt.token)
			if tt.fault != nil {
				tn.sim.InjectFault(*tt.fault)
			}
			h := tn.start(t, nil)
			h.post(t, tn.click(t, allowedUser, lcwslack.ActionIDRerunFailedTasks))
			recs := tn.waitRecords(t, events.ActionRequested, events.ActionFailed)
			f := recs[len(recs)-1].Data
			if f.Kind != events.ActionFailed || !strings.Contains(f.Reason, tt.wantReason) || f.Graph == nil || f.Graph.Status != tt.wantStatus {
				t.Fatalf("failed record %+v (graph %+v), want status %d and %q", f, f.Graph, tt.wantStatus, tt.wantReason)
			}
			if tt.wantStatus == 403 && (f.Graph.Code != "Authorization_RequestDenied" || f.Graph.RequestID == "") {
				t.Errorf("graph answer %+v, want Graph's code and request id", f.Graph)
			}
			if n := len(tn.activations()); n != 0 {
				t.Errorf("%d activations", n)
			}
			tn.slack.WaitEphemerals(t.Context(), 2)
			if texts := tn.ephemeralTexts(); !containsText(texts, "Not re-run: "+f.Reason) {
				t.Errorf("replies %q, want the reason", texts)
			}
			// Fixed (the fault spent): another click tries again and succeeds.
			tn.sim.ClearFaults()
			if tt.token != "" {
				return // the token stays without the permission
			}
			h.post(t, tn.click(t, otherUser, lcwslack.ActionIDRerunFailedTasks))
			tn.waitRecords(t, events.ActionAccepted)
			if n := len(tn.activations()); n != 1 {
				t.Errorf("%d activations after the retry, want 1", n)
			}
		})
	}
}

// TestVerifiedAgainstGraph: the button's ids are checked in Graph before anything is
// done; a target that is not a failure (any more), or not this user's, is refused.
func TestVerifiedAgainstGraph(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(tn *tenant, c *clickEdit)
		wantReason string
	}{
		{"a result that completed", func(tn *tenant, c *clickEdit) { c.target.ResultID = tn.done }, "completed now, not a failure"},
		{"a result Graph does not have", func(tn *tenant, c *clickEdit) { c.target.ResultID = "no-such-result" }, "no longer has the result"},
		{"another user's result", func(tn *tenant, c *clickEdit) { c.target.SubjectID = tn.users[2].ID }, "another user"},
		{"a workflow Graph does not have", func(tn *tenant, c *clickEdit) { c.target.WorkflowID = "no-such-workflow" }, "no longer has the workflow"},
		{"a disabled workflow", func(tn *tenant, c *clickEdit) { tn.sim.SetWorkflowEnabled(tn.wf.ID, false) }, "is disabled"},
		{"a workflow not watched", func(tn *tenant, c *clickEdit) { c.workflows = []string{"another-workflow"} }, "does not watch"},
		{"a run Graph does not have", func(tn *tenant, c *clickEdit) {
			c.actionID, c.target.RunID = lcwslack.ActionIDRerunFailedUsers, "no-such-run"
		}, "no longer has this run"},
		{"a button value altered", func(tn *tenant, c *clickEdit) { c.raw = `{"v":1,"w":"../me","r":"x"}` }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, graphsim.Options{}, "")
			ce := &clickEdit{actionID: lcwslack.ActionIDRerunFailedTasks, target: lcwslack.ActionTarget{
				WorkflowID: tn.wf.ID, ResultID: tn.failed, SubjectID: tn.users[0].ID, RunID: tn.run.ID}}
			tt.setup(tn, ce)
			h := tn.start(t, func(o *Options) { o.Workflows = ce.workflows })
			c := tn.click(t, allowedUser, ce.actionID)
			if ce.raw != "" {
				c.Value = ce.raw
			} else {
				action, _ := lcwslack.ActionOf(ce.actionID)
				v, err := lcwslack.EncodeActionValue(action, ce.target)
				if err != nil {
					t.Fatal(err)
				}
				c.Value = v
			}
			h.post(t, c)
			if tt.wantReason == "" {
				// Not even readable: told, and nothing recorded for an action it cannot name.
				eph, _ := tn.slack.WaitEphemerals(t.Context(), 1)
				if len(eph) != 1 || !strings.Contains(eph[0].Text, "cannot read this button") {
					t.Errorf("replies %+v", eph)
				}
			} else {
				recs := tn.waitRecords(t, events.ActionRefused)
				if len(recs) != 1 || !strings.Contains(recs[0].Data.Reason, tt.wantReason) {
					t.Errorf("records %v (%q), want refused because %q", kinds(recs), recs[0].Data.Reason, tt.wantReason)
				}
			}
			if n := len(tn.activations()); n != 0 {
				t.Errorf("%d activations", n)
			}
		})
	}
}

// clickEdit is how a test changes the button it clicks.
type clickEdit struct {
	actionID  string
	target    lcwslack.ActionTarget
	workflows []string
	raw       string
}
