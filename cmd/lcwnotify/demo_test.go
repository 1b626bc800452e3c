package main

import (
	"os"
	"slices"
	"testing"
)

// TestDemoConfig: whatever the environment says, the demo runs what its scenario was
// written for: the simulator, an embedded server in a store of its own, every workflow,
// the default notify statuses (the scenario counts failed and completedWithErrors
// results as the notifications it expects), and the console.
func TestDemoConfig(t *testing.T) {
	cfg, err := load(t, map[string]string{
		"LCW_NATS_URL":        "nats://user:pw@nats.example:4222",
		"LCW_DATA_DIR":        "/data",
		"LCW_STREAM_REPLICAS": "3",
		"LCW_WORKFLOWS":       "wf-1",
		"LCW_NOTIFY_STATUSES": "failed",
		"LCW_SLACK_TOKEN":     "xoxb-1-token",
		"LCW_SLACK_CHANNEL":   "C0123",
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
	if got := cfg.NotifyStatuses; !slices.Equal(got, []string{"failed"}) {
		t.Errorf("demoConfig changed the configuration it was given: notify statuses %v", got)
	}
}
