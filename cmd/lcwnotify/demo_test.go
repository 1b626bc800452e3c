package main

import (
	"os"
	"slices"
	"testing"
)

// TestDemoConfig: whatever the environment says, the demo runs what its scenario was
// written for: the simulator, an embedded server in a store of its own, every workflow,
// the default notify statuses (the scenario counts failed and completedWithErrors
// results as the notifications it expects), the console, and Slack actions for its own
// on-call person alone: clicks signed with a secret of its own, and never a Socket Mode
// connection with the configured app (it would take the clicks of a deployment of it).
func TestDemoConfig(t *testing.T) {
	cfg, err := load(t, map[string]string{
		"LCW_NATS_URL":             "nats://user:pw@nats.example:4222",
		"LCW_DATA_DIR":             "/data",
		"LCW_STREAM_REPLICAS":      "3",
		"LCW_WORKFLOWS":            "wf-1",
		"LCW_NOTIFY_STATUSES":      "failed",
		"LCW_SLACK_TOKEN":          "xoxb-1-token",
		"LCW_SLACK_CHANNEL":        "C0123",
		"LCW_SLACK_APP_TOKEN":      "xapp-1-A0123-456-app",
		"LCW_SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
		"LCW_ACTIONS_ALLOWED":      "U0REALPERSON",
	})
	if err != nil {
		t.Fatal(err)
	}
	d, cleanup, err := demoConfig(cfg, "http://127.0.0.1:1234", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if _, err := os.Stat(d.NATS.DataDir); err != nil || d.NATS.DataDir == "/data" {
		t.Errorf("store %s (%v): want a temporary one, never LCW_DATA_DIR's production store", d.NATS.DataDir, err)
	}
	if !d.NATS.Embedded() || d.StreamReplicas != 1 {
		t.Errorf("NATS: embedded %t, %d replicas; want the embedded server and 1", d.NATS.Embedded(), d.StreamReplicas)
	}
	if d.GraphURL != "http://127.0.0.1:1234" || d.Workflows != nil {
		t.Errorf("Graph %s, workflows %v; want the simulator, every workflow", d.GraphURL, d.Workflows)
	}
	if want := []string{"failed", "completedWithErrors"}; !slices.Equal(d.NotifyStatuses, want) {
		t.Errorf("notify statuses %v, want the scenario's %v", d.NotifyStatuses, want)
	}
	if !d.Console || !d.Slack.Enabled() {
		t.Errorf("console %t, Slack %t; want the console besides the configured Slack", d.Console, d.Slack.Enabled())
	}
	if d.SlackAppToken.IsSet() || !slices.Equal(d.ActionsAllowed, []string{demoOnCallID}) {
		t.Errorf("app token set %t, allowed %v; want no Socket Mode and only the demo's on-call person", d.SlackAppToken.IsSet(), d.ActionsAllowed)
	}
	again, cleanAgain, err := demoConfig(cfg, "http://127.0.0.1:1234", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanAgain()
	secret := d.SlackSigningSecret.Reveal()
	if len(secret) < 16 || secret == cfg.SlackSigningSecret.Reveal() || secret == again.SlackSigningSecret.Reveal() {
		t.Errorf("signing secret %q (configured %q, next demo %q): want one of the demo's own, new every time",
			secret, cfg.SlackSigningSecret.Reveal(), again.SlackSigningSecret.Reveal())
	}
	if got := cfg.NotifyStatuses; !slices.Equal(got, []string{"failed"}) || !cfg.SlackAppToken.IsSet() || cfg.ActionsAllowed[0] != "U0REALPERSON" {
		t.Errorf("demoConfig changed the configuration it was given: notify statuses %v, app token %t, allowed %v", got, cfg.SlackAppToken.IsSet(), cfg.ActionsAllowed)
	}
}
