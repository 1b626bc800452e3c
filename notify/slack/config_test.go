package slack_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/notify/slack"
)

const secretToken = "xoxb-1111-2222-SECRETsecret"
const secretHook = "https://hooks.slack.com/services/T0/B0/SECRETsecret"

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     slack.Config
		wantErr []string // each must appear; nil means valid
	}{
		{"bot token", slack.Config{Token: secretToken, Channel: "C0123ABCD"}, nil},
		{"bot token, channel by name", slack.Config{Token: secretToken, Channel: "#alerts"}, nil},
		{"incoming webhook", slack.Config{WebhookURL: secretHook}, nil},
		{"loopback http webhook", slack.Config{WebhookURL: "http://127.0.0.1:8080/services/x"}, nil},
		{"nothing", slack.Config{}, []string{"LCW_SLACK_TOKEN", "LCW_SLACK_WEBHOOK_URL"}},
		{"both", slack.Config{Token: secretToken, Channel: "C1", WebhookURL: secretHook}, []string{"both set"}},
		{"token without channel", slack.Config{Token: secretToken}, []string{"LCW_SLACK_CHANNEL is required"}},
		{"not a token", slack.Config{Token: "hunter2 SECRETsecret", Channel: "C1"}, []string{"LCW_SLACK_TOKEN does not look"}},
		{"http webhook elsewhere", slack.Config{WebhookURL: "http://hooks.slack.com/services/SECRETsecret"}, []string{"LCW_SLACK_WEBHOOK_URL: want an https URL"}},
		{"relative webhook", slack.Config{WebhookURL: "/services/SECRETsecret"}, []string{"LCW_SLACK_WEBHOOK_URL: not an absolute URL"}},
		{"routes with a webhook", slack.Config{WebhookURL: secretHook, Routes: map[string]string{"leaver": "C1"}}, []string{"LCW_SLACK_ROUTES needs LCW_SLACK_TOKEN"}},
		{"bad API URL", slack.Config{Token: secretToken, Channel: "C1", APIURL: "ftp://x"}, []string{"LCW_SLACK_API_URL"}},
		{"multi-line mention", slack.Config{Token: secretToken, Channel: "C1", Mention: "<!here>\n<!channel>"}, []string{"LCW_SLACK_MENTION"}},
		{"channel with a space", slack.Config{Token: secretToken, Channel: "my alerts"}, []string{"LCW_SLACK_CHANNEL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want an error mentioning %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate = %q, want it to mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "SECRETsecret") {
				t.Errorf("Validate quotes a secret: %q", err)
			}
		})
	}
}

func TestParseRoutes(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"", map[string]string{}, false},
		{"joiner:C01, Leaver:#offboarding ,", map[string]string{"joiner": "C01", "leaver": "#offboarding"}, false},
		{"0f1e2d3c-aaaa-bbbb-cccc-000000000001:C02", map[string]string{"0f1e2d3c-aaaa-bbbb-cccc-000000000001": "C02"}, false},
		{"joiner", nil, true},
		{"joiner:", nil, true},
		{":C01", nil, true},
		{"joiner:C01,JOINER:C02", nil, true},
		{"joiner:my channel", nil, true},
	}
	for _, tc := range tests {
		got, err := slack.ParseRoutes(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseRoutes(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && !maps.Equal(got, tc.want) {
			t.Errorf("ParseRoutes(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "LCW_SLACK_ROUTES") {
			t.Errorf("ParseRoutes(%q) error %q does not name LCW_SLACK_ROUTES", tc.in, err)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		opts    slacktest.Options
		token   string
		channel string
		wantErr string
	}{
		{"good token", slacktest.Options{}, "", "", ""},
		{"wrong token", slacktest.Options{}, "xoxb-wrong-SECRETsecret", "", "LCW_SLACK_TOKEN"},
		{"no history scope", slacktest.Options{Scopes: "chat:write"}, "", "", "channels:history"},
		{"no write scope", slacktest.Options{Scopes: "channels:history"}, "", "", "chat:write"},
		{"channel by id needs no read scope", slacktest.Options{Scopes: "chat:write,channels:history"}, "", "", ""},
		{"channel by name needs a read scope", slacktest.Options{Scopes: "chat:write,channels:history"}, "", "#alerts", "channels:read"},
		{"channel by name with a read scope", slacktest.Options{Scopes: "chat:write,channels:history,channels:read"}, "", "#alerts", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := slacktest.New(tc.opts)
			defer fake.Close()
			cfg := testConfig(fake)
			if tc.token != "" {
				cfg.Token = tc.token
			}
			if tc.channel != "" {
				cfg.Channel = tc.channel
			}
			n, err := slack.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = n.Check(context.Background())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Check = %v, want an error mentioning %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "SECRETsecret"):
				t.Errorf("Check quotes the token: %v", err)
			}
			if len(fake.Messages()) != 0 {
				t.Error("Check posted a message")
			}
		})
	}
	t.Run("incoming webhook", func(t *testing.T) {
		n, err := slack.NewWebhook(slack.Config{WebhookURL: secretHook}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Check(context.Background()); err != nil {
			t.Errorf("Check = %v, want nil: a webhook cannot be tested without posting", err)
		}
	})
}
