package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestActionSettings: actions are off unless someone is allowed; then they need the
// bot token and a way for the clicks to arrive, and each way in needs someone allowed.
// No line quotes a secret.
func TestActionSettings(t *testing.T) {
	const (
		bot    = "xoxb-1-S3CR3T"
		app    = "xapp-1-A0-S3CR3T"
		secret = "8f742231b10e8888abcdS3CR3T85a5"
	)
	slack := map[string]string{"LCW_SLACK_TOKEN": bot, "LCW_SLACK_CHANNEL": "C0123"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(slack)
		maps.Copy(m, extra)
		return m
	}
	tests := []struct {
		name        string
		env         map[string]string
		wantEnabled bool
		want        []string // the variables of the lines, in order
	}{
		{"off by default", slack, false, nil},
		{"socket mode", with(map[string]string{"LCW_ACTIONS_ALLOWED": "U0123ABCD, S0456EFGH", "LCW_SLACK_APP_TOKEN": app}), true, nil},
		{"http", with(map[string]string{"LCW_ACTIONS_ALLOWED": "W0123ABCD", "LCW_SLACK_SIGNING_SECRET": secret}), true, nil},
		{"both ways in", with(map[string]string{"LCW_ACTIONS_ALLOWED": "U0123ABCD", "LCW_SLACK_APP_TOKEN": app, "LCW_SLACK_SIGNING_SECRET": secret}), true, nil},
		{"no way in", with(map[string]string{"LCW_ACTIONS_ALLOWED": "U0123ABCD"}), false, []string{"LCW_ACTIONS_ALLOWED"}},
		{"no bot token", map[string]string{"LCW_ACTIONS_ALLOWED": "U0123ABCD", "LCW_SLACK_APP_TOKEN": app}, false, []string{"LCW_SLACK_TOKEN"}},
		{"an incoming webhook instead of the bot", map[string]string{"LCW_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/S3CR3T", "LCW_ACTIONS_ALLOWED": "U0123ABCD", "LCW_SLACK_APP_TOKEN": app}, false, []string{"LCW_SLACK_TOKEN"}},
		{"an app token without anyone allowed", with(map[string]string{"LCW_SLACK_APP_TOKEN": app}), false, []string{"LCW_SLACK_APP_TOKEN"}},
		{"a signing secret without anyone allowed", with(map[string]string{"LCW_SLACK_SIGNING_SECRET": secret}), false, []string{"LCW_SLACK_SIGNING_SECRET"}},
		{"a bot token as the app token", with(map[string]string{"LCW_ACTIONS_ALLOWED": "U0123ABCD", "LCW_SLACK_APP_TOKEN": bot}), false, []string{"LCW_SLACK_APP_TOKEN"}},
		{"a token as the signing secret", with(map[string]string{"LCW_ACTIONS_ALLOWED": "U0123ABCD", "LCW_SLACK_SIGNING_SECRET": "xoxb-S3CR3T-1"}), false, []string{"LCW_SLACK_SIGNING_SECRET"}},
		{"a channel among the allowed", with(map[string]string{"LCW_ACTIONS_ALLOWED": "U0123ABCD,C0123ABCD,@alex", "LCW_SLACK_APP_TOKEN": app}), false, []string{"LCW_ACTIONS_ALLOWED"}},
		{"the endpoint on a random port", with(map[string]string{"LCW_ACTIONS_ALLOWED": "U0123ABCD", "LCW_SLACK_SIGNING_SECRET": secret, "LCW_HTTP_ADDR": "127.0.0.1:0"}), false, []string{"LCW_HTTP_ADDR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("loadConfig: %v", err)
				}
				if c.Actions.Enabled() != tt.wantEnabled {
					t.Errorf("actions enabled = %v, want %v", c.Actions.Enabled(), tt.wantEnabled)
				}
				return
			}
			ce, ok := asConfigError(err)
			if !ok {
				t.Fatalf("loadConfig = %v, want a configuration error", err)
			}
			var got []string
			for _, p := range ce.problems {
				got = append(got, p[:strings.Index(p, ":")])
				if strings.Contains(p, "S3CR3T") {
					t.Errorf("line %q quotes a secret", p)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines about %v, want %v:\n%s", got, tt.want, ce)
			}
		})
	}
	c, err := load(t, with(map[string]string{"LCW_ACTIONS_ALLOWED": " U0123ABCD ,S0456EFGH,U0123ABCD", "LCW_SLACK_APP_TOKEN": app}))
	if err != nil || !slices.Equal(c.ActionsAllowed, actorList{"U0123ABCD", "S0456EFGH"}) {
		t.Errorf("LCW_ACTIONS_ALLOWED = %v, %v", c.ActionsAllowed, err)
	}
}
