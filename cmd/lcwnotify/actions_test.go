package main

import (
	"bytes"
	"maps"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
)

const signingSecret = "0a1b2c3d4e5f6a7bS3CR3Tsigning99"

// actionsEnv turns actions on in w's environment: someone allowed, Socket Mode through
// the fake, and the HTTP endpoint.
func actionsEnv(t *testing.T, w *world) map[string]string {
	env := maps.Clone(w.env)
	env["LCW_HTTP_ADDR"] = freeAddr(t) // the Request URL needs a port of its own
	env["LCW_ACTIONS_ALLOWED"] = "U0ONCALL01"
	env["LCW_SLACK_APP_TOKEN"] = w.slack.AppToken()
	env["LCW_SLACK_SIGNING_SECRET"] = signingSecret
	return env
}

// click is the on-call person's click on a failure's "Re-run failed tasks".
func click(t *testing.T, w *world, wf graphsim.Workflow, result string) *slacktest.BlockActions {
	t.Helper()
	v, err := lcwslack.EncodeActionValue(events.RerunFailedTasks, lcwslack.ActionTarget{WorkflowID: wf.ID, ResultID: result})
	if err != nil {
		t.Fatal(err)
	}
	return &slacktest.BlockActions{UserID: "U0ONCALL01", UserName: "oncall", ChannelID: "C0ALERTS01", MessageTS: "1777700000.000100",
		ResponseURL: w.slack.ResponseURL(), ActionID: lcwslack.ActionIDRerunFailedTasks, Value: v}
}

// TestRunActsOnClicks: `lcwnotify run` with actions on takes clicks over Socket Mode
// and at POST /slack/interactions, re-runs the failure once in Graph, refuses an
// unsigned request, reports the handler in /readyz, and keeps every secret out of its
// log.
func TestRunActsOnClicks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	wf := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner})
	result := w.failOne(t, wf)
	p := start(t, actionsEnv(t, w), "run")
	base := "http://" + p.httpAddr()
	eventually(t, 20*time.Second, "/readyz with the actions", func() bool {
		code, body := get(t, base+"/readyz")
		return code == 200 && strings.Contains(body, `"actions":"ok"`)
	})
	if err := w.slack.WaitSockets(t.Context(), 1); err != nil {
		t.Fatal(err)
	}

	// Over Socket Mode.
	env, err := w.slack.SendInteractive(click(t, w, wf, result).Payload())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the activation", func() bool { return len(w.sim.Activations()) == 1 })
	eventually(t, 20*time.Second, "the clicker told", func() bool {
		return slicesContain(w.slack.Ephemerals(), "Graph accepted")
	})

	// Over HTTP: an unsigned request is refused, a signed click on the same button is
	// told it was already requested.
	body := slacktest.Form(click(t, w, wf, result).Payload())
	resp, err := http.Post(base+"/slack/interactions", "application/x-www-form-urlencoded", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request: status %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/slack/interactions", bytes.NewReader(body))
	req.Header = slacktest.Sign(signingSecret, time.Now(), body)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("signed request: status %d, want 200", resp.StatusCode)
	}
	eventually(t, 20*time.Second, "the second click refused", func() bool {
		return slicesContain(w.slack.Ephemerals(), "already requested by <@U0ONCALL01>")
	})
	if n := len(w.sim.Activations()); n != 1 {
		t.Errorf("%d activations, want 1", n)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{`lcwnotify_actions_total{action="rerunFailedTasks",kind="accepted"} 1`, `lcwnotify_slack_socket_connected 1`,
		`lcwnotify_slack_interactions_rejected_total{reason="unsigned"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, `"msg":"action recorded"`) {
		t.Error("the log lacks the action's records")
	}
	noSecrets(t, "the log", logs)
	for _, s := range []string{w.slack.AppToken(), signingSecret, "/actions/T0FAKE000/"} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q", s)
		}
	}
}

// TestCheckActions: with actions on, check says whether the Graph token may activate
// and whether the app-level token opens Socket Mode.
func TestCheckActions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires"})
	env := actionsEnv(t, w)
	w.authority.SetRoles(graphsim.RoleWorkflowReadBasic, graphsim.RoleReportsRead, graphsim.RoleWorkflowActivate)
	code, out, errOut := runBinary(t, env, "check")
	if code != 0 {
		t.Fatalf("check: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"ok    activate", "ok    socket", "ok    http"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	w.authority.SetRoles(graphsim.RoleWorkflowReadBasic, graphsim.RoleReportsRead)
	env["LCW_SLACK_APP_TOKEN"] = "xapp-1-wrong-S3CR3T"
	code, out, errOut = runBinary(t, env, "check")
	if code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"FAIL  activate   the Graph token lacks LifecycleWorkflows-Workflow.Activate; grant", "FAIL  socket"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	noSecrets(t, "check's output", out+errOut)
	if strings.Contains(out+errOut, "S3CR3T") {
		t.Error("check's output holds the app token")
	}
}

func slicesContain(eph []slacktest.Ephemeral, sub string) bool {
	for _, e := range eph {
		if strings.Contains(e.Text, sub) {
			return true
		}
	}
	return false
}
