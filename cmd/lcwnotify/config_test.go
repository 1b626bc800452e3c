package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// settingNames returns every LCW_ variable, as envconfig names them.
func settingNames(t *testing.T) []string {
	t.Helper()
	settings, err := settingsOf(envPrefix, &config{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range settings {
		names = append(names, s.key)
	}
	return names
}

// mapEnv is an environment of exactly vars.
func mapEnv(vars map[string]string) env {
	return env{
		getenv:   func(k string) string { return vars[k] },
		hostname: func() (string, error) { return "host-1", nil },
	}
}

func load(t *testing.T, vars map[string]string) (*config, error) {
	t.Helper()
	return loadConfig(mapEnv(vars))
}

// TestSettingNames pins the variable names: the contract's, plus the added ones.
func TestSettingNames(t *testing.T) {
	want := []string{
		// CONTRACT.md
		"LCW_GRAPH_URL", "LCW_GRAPH_VERSION", "LCW_GRAPH_SCOPE", "LCW_AZURE_DISABLE_INSTANCE_DISCOVERY",
		"LCW_POLL_INTERVAL", "LCW_WORKFLOWS", "LCW_LOOKBACK", "LCW_NATS_URL", "LCW_NATS_CREDS", "LCW_DATA_DIR",
		"LCW_STREAM", "LCW_SUBJECT_PREFIX", "LCW_NOTIFY_STATUSES", "LCW_SLACK_TOKEN", "LCW_SLACK_CHANNEL",
		"LCW_SLACK_WEBHOOK_URL", "LCW_SLACK_API_URL", "LCW_SLACK_ROUTES", "LCW_SLACK_MENTION", "LCW_WEBHOOK_URL",
		"LCW_WEBHOOK_SECRET", "LCW_HTTP_ADDR", "LCW_LOG_LEVEL",
		// CONTRACT.md, second round
		"LCW_WEBHOOK_ALLOW_HTTP",
		// added
		"LCW_ADMIN_CENTER_URL", "LCW_POLL_ACTIVE_INTERVAL", "LCW_POLL_OVERLAP", "LCW_INSTANCE", "LCW_NATS_TLS_CA", "LCW_NATS_TLS_CERT",
		"LCW_NATS_TLS_KEY", "LCW_NATS_LISTEN", "LCW_NATS_MAX_MEMORY", "LCW_NATS_MAX_STORE", "LCW_STREAM_REPLICAS",
		"LCW_CONSOLE", "LCW_LOG_FORMAT", "LCW_SHUTDOWN_TIMEOUT",
		"LCW_NATS_LISTEN_NKEY", "LCW_NATS_LISTEN_TLS_CERT", "LCW_NATS_LISTEN_TLS_KEY", "LCW_NATS_LISTEN_INSECURE",
		// CONTRACT.md, second round
		"LCW_DIGEST", "LCW_DIGEST_TZ",
		"LCW_SLACK_APP_TOKEN", "LCW_SLACK_SIGNING_SECRET", "LCW_ACTIONS_ALLOWED",
		"LCW_PAGERDUTY_ROUTING_KEY", "LCW_PAGERDUTY_URL", "LCW_PAGERDUTY_ROUTES", "LCW_PAGERDUTY_SEVERITY",
		"LCW_TEAMS_WEBHOOK_URL", "LCW_TEAMS_ROUTES",
		// the second round's, in CONTRACT.md
		"LCW_UI", "LCW_UI_TOKEN",
	}
	got := settingNames(t)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("settings:\ngot  %v\nwant %v", got, want)
	}
}

// TestSettingsAreDescribed: every setting has a meaning for help, no explicit envconfig
// name (which would also read the unprefixed variable), and bounds that convert.
func TestSettingsAreDescribed(t *testing.T) {
	settings, err := settingsOf(envPrefix, &config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if s.tags.Get("desc") == "" {
			t.Errorf("%s has no desc", s.key)
		}
		if _, ok := s.tags.Lookup("envconfig"); ok {
			t.Errorf("%s has an envconfig tag", s.key)
		}
		for _, b := range []string{"min", "max"} {
			if v := s.tags.Get(b); v != "" {
				if _, err := convert(s.field.Type(), v); err != nil {
					t.Errorf("%s: %s %q does not convert: %v", s.key, b, v, err)
				}
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &config{
		Graph: Graph{GraphURL: "https://graph.microsoft.com", GraphVersion: "v1.0", GraphScope: "https://graph.microsoft.com/.default",
			AdminCenterURL: "https://entra.microsoft.com"},
		Watch:     Watch{PollInterval: time.Minute, PollActiveInterval: 5 * time.Second, PollOverlap: 10 * time.Minute, Instance: "host-1"},
		Digests:   Digests{DigestTZ: "UTC"},
		NATS:      NATS{DataDir: "./lcwnotify-data", NatsMaxMemory: 64 << 20, NatsMaxStore: 1 << 30},
		Events:    Events{Stream: "LCW", SubjectPrefix: "lcw", StreamReplicas: 1, NotifyStatuses: statusList{"failed", "completedWithErrors"}},
		Slack:     Slack{SlackApiURL: "https://slack.com/api"},
		PagerDuty: PagerDuty{PagerdutyURL: "https://events.pagerduty.com"},
		Operations: Operations{
			LogLevel:        logLevel(slog.LevelInfo),
			LogFormat:       "json",
			ShutdownTimeout: 25 * time.Second,
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\ngot  %+v\nwant %+v", c, want)
	}
	if got := c.httpAddr(); got != ":9090" {
		t.Errorf("HTTP address %q, want :9090", got)
	}
	if !c.NATS.Embedded() || c.Slack.Enabled() || c.Webhook.Enabled() {
		t.Errorf("embedded %t, Slack %t, webhook %t; want the embedded server and no destination", c.NATS.Embedded(), c.Slack.Enabled(), c.Webhook.Enabled())
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Destination secrets of the tests: PagerDuty integration keys, a Teams webhook URL.
const (
	pdKey     = "0123456789abcdef0123456789abcdef"
	pdKey2    = "fedcba9876543210fedcba9876543210"
	teamsHook = "https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIGSECRET"
)

// TestEveryVariable sets each variable to a valid non-default value and checks where it
// lands.
func TestEveryVariable(t *testing.T) {
	creds := newNATSOperator(t).user.write(t, filepath.Join(t.TempDir(), "nats.creds"))
	ca, cert, key := testPKI(t)
	const token = "xoxb-1-secret-token"
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // 24 bytes
	tests := []struct {
		env  map[string]string
		got  func(c *config) any
		want any
	}{
		{map[string]string{"LCW_GRAPH_URL": "https://graph.microsoft.us/"}, func(c *config) any { return c.GraphURL }, graphURL("https://graph.microsoft.us")},
		{map[string]string{"LCW_GRAPH_URL": "https://graph.microsoft.us"}, func(c *config) any { return c.GraphScope }, graphScope("https://graph.microsoft.us/.default")},
		{map[string]string{"LCW_GRAPH_URL": "https://dod-graph.microsoft.us"}, func(c *config) any { return c.AdminCenterURL }, httpsURL("https://entra.microsoft.us")},
		{map[string]string{"LCW_GRAPH_URL": "https://microsoftgraph.chinacloudapi.cn"}, func(c *config) any { return c.AdminCenterURL }, httpsURL("https://entra.microsoftonline.cn")},
		{map[string]string{"LCW_GRAPH_URL": "http://127.0.0.1:8080"}, func(c *config) any { return c.GraphURL }, graphURL("http://127.0.0.1:8080")},
		{map[string]string{"LCW_GRAPH_VERSION": "beta"}, func(c *config) any { return c.GraphVersion }, "beta"},
		{map[string]string{"LCW_GRAPH_VERSION": "BETA"}, func(c *config) any { return c.GraphVersion }, "beta"},
		{map[string]string{"LCW_GRAPH_SCOPE": "api://x/.default"}, func(c *config) any { return c.GraphScope }, graphScope("api://x/.default")},
		{map[string]string{"LCW_AZURE_DISABLE_INSTANCE_DISCOVERY": "true"}, func(c *config) any { return c.AzureDisableInstanceDiscovery }, true},
		{map[string]string{"LCW_ADMIN_CENTER_URL": "https://entra.example/"}, func(c *config) any { return c.AdminCenterURL }, httpsURL("https://entra.example")},
		{map[string]string{"LCW_POLL_INTERVAL": "90s"}, func(c *config) any { return c.PollInterval }, 90 * time.Second},
		{map[string]string{"LCW_POLL_ACTIVE_INTERVAL": "10s"}, func(c *config) any { return c.PollActiveInterval }, 10 * time.Second},
		{map[string]string{"LCW_POLL_INTERVAL": "3s"}, func(c *config) any { return c.PollActiveInterval }, 3 * time.Second},
		{map[string]string{"LCW_POLL_INTERVAL": "30s", "LCW_POLL_ACTIVE_INTERVAL": "30s"}, func(c *config) any { return c.PollActiveInterval }, 30 * time.Second},
		{map[string]string{"LCW_POLL_OVERLAP": "0s"}, func(c *config) any { return c.PollOverlap }, time.Duration(0)},
		{map[string]string{"LCW_LOOKBACK": "72h"}, func(c *config) any { return c.Lookback }, 72 * time.Hour},
		{map[string]string{"LCW_WORKFLOWS": " a-1, b_2 ,,a-1,"}, func(c *config) any { return []string(c.Workflows) }, []string{"a-1", "b_2"}},
		{map[string]string{"LCW_INSTANCE": "pod-7"}, func(c *config) any { return c.Instance }, instanceName("pod-7")},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222, tls://user:pw@b:4222"}, func(c *config) any { return c.NatsURL.Reveal() }, "nats://a:4222,tls://user:pw@b:4222"},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222,tls://user:pw@b:4222"}, func(c *config) any { return c.NatsURL.Servers }, []string{"nats://a:4222", "tls://b:4222"}},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_NATS_CREDS": creds}, func(c *config) any { return c.NatsCreds }, creds},
		{map[string]string{"LCW_NATS_URL": "tls://a:4222", "LCW_NATS_TLS_CA": ca}, func(c *config) any { return c.NatsTlsCa }, ca},
		{map[string]string{"LCW_NATS_URL": "tls://a:4222", "LCW_NATS_TLS_CERT": cert, "LCW_NATS_TLS_KEY": key}, func(c *config) any { return c.NatsTLSCert + " " + c.NatsTLSKey }, cert + " " + key},
		{map[string]string{"LCW_DATA_DIR": "/data"}, func(c *config) any { return c.DataDir }, "/data"},
		{map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222"}, func(c *config) any { return c.NatsListen }, hostPort("127.0.0.1:4222")},
		{map[string]string{"LCW_NATS_MAX_MEMORY": "32MiB"}, func(c *config) any { return c.NatsMaxMemory }, byteSize(32 << 20)},
		{map[string]string{"LCW_NATS_MAX_STORE": "10G"}, func(c *config) any { return c.NatsMaxStore }, byteSize(10 << 30)},
		{map[string]string{"LCW_NATS_MAX_STORE": "104857600"}, func(c *config) any { return c.NatsMaxStore }, byteSize(100 << 20)},
		{map[string]string{"LCW_STREAM": "LCW_prod"}, func(c *config) any { return c.Stream }, streamName("LCW_prod")},
		{map[string]string{"LCW_SUBJECT_PREFIX": "corp.lcw"}, func(c *config) any { return c.SubjectPrefix }, subjectPrefix("corp.lcw")},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_STREAM_REPLICAS": "3"}, func(c *config) any { return c.StreamReplicas }, 3},
		{map[string]string{"LCW_NOTIFY_STATUSES": "failed, canceled"}, func(c *config) any { return []string(c.NotifyStatuses) }, []string{"failed", "canceled"}},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C0123"}, func(c *config) any { return c.SlackToken.Reveal() + " " + string(c.SlackChannel) }, token + " C0123"},
		{map[string]string{"LCW_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"}, func(c *config) any { return c.SlackWebhookURL.Reveal() }, "https://hooks.slack.com/services/T/B/x"},
		{map[string]string{"LCW_SLACK_API_URL": "http://127.0.0.1:9999/api"}, func(c *config) any { return slackSinkConfig(c, nil).APIURL }, "http://127.0.0.1:9999/api/"},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C0123", "LCW_SLACK_ROUTES": "Leaver:#offboarding"}, func(c *config) any { return slackSinkConfig(c, nil).Routes }, map[string]string{"leaver": "#offboarding"}},
		{map[string]string{"LCW_SLACK_MENTION": "<!subteam^S0123>"}, func(c *config) any { return c.SlackMention }, slackMention("<!subteam^S0123>")},
		{map[string]string{"LCW_WEBHOOK_URL": "https://hooks.example/lcw/", "LCW_WEBHOOK_SECRET": whsec}, func(c *config) any { return c.WebhookURL.Reveal() + " " + c.WebhookSecret.Reveal() }, "https://hooks.example/lcw/ " + whsec},
		{map[string]string{"LCW_WEBHOOK_URL": "http://hooks.example/lcw", "LCW_WEBHOOK_SECRET": whsec, "LCW_WEBHOOK_ALLOW_HTTP": "true"}, func(c *config) any { return c.WebhookURL.Reveal() }, "http://hooks.example/lcw"},
		{map[string]string{"LCW_WEBHOOK_URL": "http://127.0.0.1:8080/lcw", "LCW_WEBHOOK_SECRET": whsec}, func(c *config) any { return c.WebhookURL.Reveal() }, "http://127.0.0.1:8080/lcw"},
		{map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": pdKey}, func(c *config) any { return pagerdutySinkConfig(c).RoutingKey }, pdKey},
		{map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": pdKey, "LCW_PAGERDUTY_URL": "https://events.eu.pagerduty.com/"}, func(c *config) any { return pagerdutySinkConfig(c).URL }, "https://events.eu.pagerduty.com"},
		{map[string]string{"LCW_PAGERDUTY_ROUTES": "Leaver:" + pdKey + ", wf-1:" + pdKey2}, func(c *config) any { return pagerdutySinkConfig(c).Routes }, map[string]string{"leaver": pdKey, "wf-1": pdKey2}},
		{map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": pdKey, "LCW_PAGERDUTY_SEVERITY": "Critical"}, func(c *config) any { return pagerdutySinkConfig(c).Severity }, "critical"},
		{map[string]string{"LCW_TEAMS_WEBHOOK_URL": teamsHook}, func(c *config) any { return teamsSinkConfig(c).WebhookURL }, teamsHook},
		{map[string]string{"LCW_TEAMS_ROUTES": "leaver:" + teamsHook}, func(c *config) any { return teamsSinkConfig(c).Routes }, map[string]string{"leaver": teamsHook}},
		{map[string]string{"LCW_TEAMS_ROUTES": "leaver:" + teamsHook}, func(c *config) any { return destinations(c) }, []string{"teams"}},
		{map[string]string{"LCW_CONSOLE": "true"}, func(c *config) any { return c.Console }, true},
		{map[string]string{"LCW_HTTP_ADDR": "127.0.0.1:0"}, func(c *config) any { return c.httpAddr() }, "127.0.0.1:0"},
		{map[string]string{"LCW_LOG_LEVEL": "WARN"}, func(c *config) any { return c.LogLevel.Level() }, slog.LevelWarn},
		{map[string]string{"LCW_LOG_LEVEL": "warning"}, func(c *config) any { return c.LogLevel.Level() }, slog.LevelWarn},
		{map[string]string{"LCW_LOG_FORMAT": "Text"}, func(c *config) any { return c.LogFormat }, "text"},
		{map[string]string{"LCW_SHUTDOWN_TIMEOUT": "1m"}, func(c *config) any { return c.ShutdownTimeout }, time.Minute},
		{map[string]string{"LCW_DIGEST": "Weekly@Monday 9:00"}, func(c *config) any { return c.Digest }, digestSpec("weekly@mon 09:00")},
		{map[string]string{"LCW_DIGEST_TZ": "Europe/Berlin"}, func(c *config) any { return c.DigestTZ }, timeZone("Europe/Berlin")},
		{map[string]string{}, func(c *config) any { return c.DigestTZ }, timeZone("UTC")},
		{map[string]string{"LCW_UI": "true", "LCW_HTTP_ADDR": "127.0.0.1:9090"}, func(c *config) any { return c.UI && !c.UIToken.IsSet() }, true},
		{map[string]string{"LCW_UI": "true", "LCW_HTTP_ADDR": "localhost:9090"}, func(c *config) any { return c.UI }, true},
		{map[string]string{"LCW_UI": "true", "LCW_UI_TOKEN": uiTokenValue}, func(c *config) any { return c.UIToken.Reveal() }, uiTokenValue},
		{map[string]string{"LCW_UI_TOKEN": uiTokenValue}, func(c *config) any { return c.UIToken.Reveal() }, uiTokenValue}, // the operator commands send it
		// An empty value counts as unset; surrounding spaces are ignored.
		{map[string]string{"LCW_POLL_INTERVAL": ""}, func(c *config) any { return c.PollInterval }, time.Minute},
		{map[string]string{"LCW_POLL_INTERVAL": "  "}, func(c *config) any { return c.PollInterval }, time.Minute},
		{map[string]string{"LCW_POLL_INTERVAL": " 2m "}, func(c *config) any { return c.PollInterval }, 2 * time.Minute},
		{map[string]string{"LCW_HTTP_ADDR": ""}, func(c *config) any { return c.HTTPAddr }, hostPort("")},
	}
	for _, tt := range tests {
		name := strings.Join(slices.Sorted(maps.Keys(tt.env)), "+")
		t.Run(name, func(t *testing.T) {
			c, err := load(t, tt.env)
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestBadValues: each bad value is refused with exactly one line that names the
// variable, and never quotes a secret.
// uiTokenValue is a status page token long enough to be accepted.
const uiTokenValue = "S3CR3T-ui-token-0123456789abcdefghij"

func TestBadValues(t *testing.T) {
	file := writeFile(t, "not-pem", "not a certificate")
	const token = "xoxb-1-S3CR3T"
	tests := []struct {
		env  map[string]string
		want string // the variable the line must start with
	}{
		{map[string]string{"LCW_GRAPH_URL": "graph.microsoft.com"}, "LCW_GRAPH_URL"},
		{map[string]string{"LCW_GRAPH_URL": "http://graph.microsoft.com"}, "LCW_GRAPH_URL"},
		{map[string]string{"LCW_GRAPH_URL": "https://graph.microsoft.com/v1.0"}, "LCW_GRAPH_URL"},
		{map[string]string{"LCW_GRAPH_VERSION": "v2"}, "LCW_GRAPH_VERSION"},
		{map[string]string{"LCW_GRAPH_SCOPE": "User.Read"}, "LCW_GRAPH_SCOPE"},
		{map[string]string{"LCW_AZURE_DISABLE_INSTANCE_DISCOVERY": "yes please"}, "LCW_AZURE_DISABLE_INSTANCE_DISCOVERY"},
		{map[string]string{"AZURE_AUTHORITY_HOST": "http://login.example"}, "AZURE_AUTHORITY_HOST"},
		{map[string]string{"LCW_ADMIN_CENTER_URL": "entra"}, "LCW_ADMIN_CENTER_URL"},
		{map[string]string{"LCW_POLL_INTERVAL": "banana"}, "LCW_POLL_INTERVAL"},
		{map[string]string{"LCW_POLL_INTERVAL": "60"}, "LCW_POLL_INTERVAL"},
		{map[string]string{"LCW_POLL_INTERVAL": "100ms"}, "LCW_POLL_INTERVAL"},
		{map[string]string{"LCW_POLL_ACTIVE_INTERVAL": "500ms"}, "LCW_POLL_ACTIVE_INTERVAL"},
		{map[string]string{"LCW_POLL_ACTIVE_INTERVAL": "2m"}, "LCW_POLL_ACTIVE_INTERVAL"},
		{map[string]string{"LCW_POLL_INTERVAL": "10s", "LCW_POLL_ACTIVE_INTERVAL": "11s"}, "LCW_POLL_ACTIVE_INTERVAL"},
		{map[string]string{"LCW_POLL_OVERLAP": "-1m"}, "LCW_POLL_OVERLAP"},
		{map[string]string{"LCW_LOOKBACK": "800h"}, "LCW_LOOKBACK"},
		{map[string]string{"LCW_WORKFLOWS": "ok,../users"}, "LCW_WORKFLOWS"},
		{map[string]string{"LCW_INSTANCE": "a b"}, "LCW_INSTANCE"},
		{map[string]string{"LCW_NATS_URL": "http://u:S3CR3T@a:4222"}, "LCW_NATS_URL"},
		{map[string]string{"LCW_NATS_URL": " , "}, "LCW_NATS_URL"},
		{map[string]string{"LCW_NATS_CREDS": file}, "LCW_NATS_CREDS"},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_NATS_CREDS": "/does/not/exist"}, "LCW_NATS_CREDS"},
		{map[string]string{"LCW_NATS_URL": "tls://a:4222", "LCW_NATS_TLS_CA": file}, "LCW_NATS_TLS_CA"},
		{map[string]string{"LCW_NATS_URL": "tls://a:4222", "LCW_NATS_TLS_CERT": file}, "LCW_NATS_TLS_KEY"},
		{map[string]string{"LCW_NATS_URL": "tls://a:4222", "LCW_NATS_TLS_KEY": file}, "LCW_NATS_TLS_CERT"},
		{map[string]string{"LCW_NATS_URL": "tls://a:4222", "LCW_NATS_TLS_CERT": file, "LCW_NATS_TLS_KEY": file}, "LCW_NATS_TLS_CERT"},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_NATS_LISTEN": ":4222"}, "LCW_NATS_LISTEN"},
		{map[string]string{"LCW_NATS_LISTEN": "4222"}, "LCW_NATS_LISTEN"},
		{map[string]string{"LCW_NATS_MAX_MEMORY": "lots"}, "LCW_NATS_MAX_MEMORY"},
		{map[string]string{"LCW_NATS_MAX_STORE": "1MiB"}, "LCW_NATS_MAX_STORE"},
		{map[string]string{"LCW_STREAM": "a.b"}, "LCW_STREAM"},
		{map[string]string{"LCW_SUBJECT_PREFIX": "lcw.>"}, "LCW_SUBJECT_PREFIX"},
		{map[string]string{"LCW_STREAM_REPLICAS": "3"}, "LCW_STREAM_REPLICAS"},
		{map[string]string{"LCW_STREAM_REPLICAS": "three"}, "LCW_STREAM_REPLICAS"},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_STREAM_REPLICAS": "7"}, "LCW_STREAM_REPLICAS"},
		{map[string]string{"LCW_NOTIFY_STATUSES": "Failed"}, "LCW_NOTIFY_STATUSES"},
		{map[string]string{"LCW_NOTIFY_STATUSES": " , "}, "LCW_NOTIFY_STATUSES"},
		{map[string]string{"LCW_SLACK_TOKEN": "not-a-token-S3CR3T", "LCW_SLACK_CHANNEL": "C1"}, "LCW_SLACK_TOKEN"},
		{map[string]string{"LCW_SLACK_TOKEN": token}, "LCW_SLACK_CHANNEL"},
		{map[string]string{"LCW_SLACK_CHANNEL": "C1"}, "LCW_SLACK_CHANNEL"},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C1 C2"}, "LCW_SLACK_CHANNEL"},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C1", "LCW_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/S3CR3T"}, "LCW_SLACK_WEBHOOK_URL"},
		{map[string]string{"LCW_SLACK_WEBHOOK_URL": "http://hooks.slack.com/services/S3CR3T"}, "LCW_SLACK_WEBHOOK_URL"},
		{map[string]string{"LCW_SLACK_WEBHOOK_URL": "https://u:S3CR3T@hooks.slack.com/services/x"}, "LCW_SLACK_WEBHOOK_URL"},
		{map[string]string{"LCW_SLACK_API_URL": "ftp://slack.com/api/"}, "LCW_SLACK_API_URL"},
		{map[string]string{"LCW_SLACK_ROUTES": "leaver:#x"}, "LCW_SLACK_ROUTES"},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C1", "LCW_SLACK_ROUTES": "leaver"}, "LCW_SLACK_ROUTES"},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C1", "LCW_SLACK_ROUTES": "leaver:a,LEAVER:b"}, "LCW_SLACK_ROUTES"},
		{map[string]string{"LCW_SLACK_MENTION": "a\nb"}, "LCW_SLACK_MENTION"},
		{map[string]string{"LCW_WEBHOOK_URL": "https://hooks.example/S3CR3T"}, "LCW_WEBHOOK_SECRET"},
		{map[string]string{"LCW_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "LCW_WEBHOOK_SECRET"},
		{map[string]string{"LCW_WEBHOOK_URL": "https://hooks.example/x", "LCW_WEBHOOK_SECRET": "S3CR3T-without-prefix"}, "LCW_WEBHOOK_SECRET"},
		{map[string]string{"LCW_WEBHOOK_URL": "https://hooks.example/x", "LCW_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, "LCW_WEBHOOK_SECRET"},
		{map[string]string{"LCW_WEBHOOK_URL": "S3CR3T", "LCW_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "LCW_WEBHOOK_URL"},
		{map[string]string{"LCW_WEBHOOK_URL": "http://hooks.example/S3CR3T", "LCW_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "LCW_WEBHOOK_URL"},
		{map[string]string{"LCW_WEBHOOK_URL": "http://u:S3CR3T@127.0.0.1/x", "LCW_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "LCW_WEBHOOK_ALLOW_HTTP": "true"}, "LCW_WEBHOOK_URL"},
		{map[string]string{"LCW_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/S3CR3T", "LCW_WEBHOOK_ALLOW_HTTP": "true"}, "LCW_WEBHOOK_ALLOW_HTTP"},
		{map[string]string{"LCW_WEBHOOK_ALLOW_HTTP": "maybe"}, "LCW_WEBHOOK_ALLOW_HTTP"},
		{map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": "S3CR3T-too-short"}, "LCW_PAGERDUTY_ROUTING_KEY"},
		{map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": "S3CR3T-0123456789abcdef012345678"}, "LCW_PAGERDUTY_ROUTING_KEY"},
		{map[string]string{"LCW_PAGERDUTY_ROUTES": "leaver:S3CR3T"}, "LCW_PAGERDUTY_ROUTES"},
		{map[string]string{"LCW_PAGERDUTY_ROUTES": "leaver:" + pdKey + ",LEAVER:" + pdKey2}, "LCW_PAGERDUTY_ROUTES"},
		{map[string]string{"LCW_PAGERDUTY_ROUTES": "S3CR3T" + pdKey}, "LCW_PAGERDUTY_ROUTES"},
		{map[string]string{"LCW_PAGERDUTY_URL": "https://events.pagerduty.com"}, "LCW_PAGERDUTY_URL"},
		{map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": pdKey, "LCW_PAGERDUTY_URL": "http://events.pagerduty.com"}, "LCW_PAGERDUTY_URL"},
		{map[string]string{"LCW_PAGERDUTY_SEVERITY": "error"}, "LCW_PAGERDUTY_SEVERITY"},
		{map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": pdKey, "LCW_PAGERDUTY_SEVERITY": "high"}, "LCW_PAGERDUTY_SEVERITY"},
		{map[string]string{"LCW_TEAMS_WEBHOOK_URL": "http://prod.logic.azure.com/workflows/x?sig=S3CR3T"}, "LCW_TEAMS_WEBHOOK_URL"},
		{map[string]string{"LCW_TEAMS_ROUTES": "leaver:ftp://x/S3CR3T"}, "LCW_TEAMS_ROUTES"},
		{map[string]string{"LCW_TEAMS_ROUTES": "leaver https://x/S3CR3T"}, "LCW_TEAMS_ROUTES"},
		{map[string]string{"LCW_CONSOLE": "maybe"}, "LCW_CONSOLE"},
		{map[string]string{"LCW_HTTP_ADDR": "9090"}, "LCW_HTTP_ADDR"},
		{map[string]string{"LCW_HTTP_ADDR": ":99999"}, "LCW_HTTP_ADDR"},
		{map[string]string{"LCW_LOG_LEVEL": "verbose"}, "LCW_LOG_LEVEL"},
		{map[string]string{"LCW_LOG_FORMAT": "xml"}, "LCW_LOG_FORMAT"},
		{map[string]string{"LCW_SHUTDOWN_TIMEOUT": "0s"}, "LCW_SHUTDOWN_TIMEOUT"},
		{map[string]string{"LCW_DIGEST": "daily"}, "LCW_DIGEST"},
		{map[string]string{"LCW_DIGEST": "weekly@someday 09:00"}, "LCW_DIGEST"},
		{map[string]string{"LCW_DIGEST_TZ": "Mars/Olympus_Mons"}, "LCW_DIGEST_TZ"},
		{map[string]string{"LCW_DIGEST_TZ": "Local"}, "LCW_DIGEST_TZ"},
		{map[string]string{"LCW_UI": "yes"}, "LCW_UI"},
		{map[string]string{"LCW_UI": "true"}, "LCW_UI_TOKEN"},
		{map[string]string{"LCW_UI": "true", "LCW_HTTP_ADDR": "0.0.0.0:9090"}, "LCW_UI_TOKEN"},
		{map[string]string{"LCW_UI": "true", "LCW_HTTP_ADDR": "10.0.0.5:9090"}, "LCW_UI_TOKEN"},
		{map[string]string{"LCW_UI": "true", "LCW_UI_TOKEN": "S3CR3T-too-short"}, "LCW_UI_TOKEN"},
		{map[string]string{"LCW_UI_TOKEN": "S3CR3T with spaces in it that is long enough"}, "LCW_UI_TOKEN"},
	}
	for _, tt := range tests {
		name := strings.Join(slices.Sorted(maps.Keys(tt.env)), "+")
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tt.env)
			ce, ok := asConfigError(err)
			if !ok {
				t.Fatalf("loadConfig = %v, want a configuration error", err)
			}
			if len(ce.problems) != 1 {
				t.Fatalf("got %d lines, want 1:\n%s", len(ce.problems), ce)
			}
			if !strings.HasPrefix(ce.problems[0], tt.want+": ") {
				t.Errorf("line %q does not start with %s", ce.problems[0], tt.want)
			}
			if strings.Contains(ce.problems[0], "S3CR3T") {
				t.Errorf("line %q quotes a secret value", ce.problems[0])
			}
		})
	}
}

// TestProblemWording pins what a line says for each kind of problem: what was wrong,
// and what to write instead.
func TestProblemWording(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"LCW_POLL_INTERVAL", "soon", `LCW_POLL_INTERVAL: "soon" is not a duration: use a number with a unit, such as 90s, 5m or 1h`},
		{"LCW_POLL_INTERVAL", "100ms", "LCW_POLL_INTERVAL: 100ms is out of range: use 1s to 24h"},
		{"LCW_NATS_MAX_STORE", "1MiB", "LCW_NATS_MAX_STORE: 1MiB is too small: use at least 16MiB"},
		{"LCW_STREAM_REPLICAS", "three", `LCW_STREAM_REPLICAS: "three" is not a whole number`},
		{"LCW_DIGEST", "daily@25:00", `LCW_DIGEST: "daily@25:00": the time must be HH:MM on a 24-hour clock, from 00:00 to 23:59`},
		{"LCW_DIGEST", "monthly@1", `LCW_DIGEST: "monthly@1": want daily@HH:MM or weekly@DAY HH:MM, such as daily@09:00 or weekly@mon 09:00`},
		{"LCW_DIGEST_TZ", "CEST", `LCW_DIGEST_TZ: "CEST" is not an IANA time zone: use a name such as Europe/Berlin, America/New_York or UTC`},
		{"LCW_CONSOLE", "maybe", `LCW_CONSOLE: "maybe": use true or false`},
		{"LCW_LOG_FORMAT", "xml", `LCW_LOG_FORMAT: "xml": use json or text`},
		{"LCW_WORKFLOWS", "a b,c/d", `LCW_WORKFLOWS: "a b" is not a workflow id: ids are letters, digits, '-', '_' and '.'; "c/d" is not a workflow id: ids are letters, digits, '-', '_' and '.'`},
		{"LCW_WEBHOOK_URL", "ftp://x", "LCW_WEBHOOK_URL: the value is not an absolute URL: want https://host/…\nLCW_WEBHOOK_SECRET: required with LCW_WEBHOOK_URL: a whsec_… secret the receiver verifies signatures with"},
		{"LCW_WEBHOOK_URL", "http://hooks.example/x", "LCW_WEBHOOK_URL: the value must use https (http is accepted for localhost only, or for any host with LCW_WEBHOOK_ALLOW_HTTP=true, which lets anyone on the way read the events and their signatures)\nLCW_WEBHOOK_SECRET: required with LCW_WEBHOOK_URL: a whsec_… secret the receiver verifies signatures with"},
		{"LCW_NATS_URL", "nats://a,nats://u:pw@b:4222/x,bad", "LCW_NATS_URL: entry 3 is not a NATS URL: use nats://host:4222 or tls://host:4222, comma-separated"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := load(t, map[string]string{tt.name: tt.value})
			ce, ok := asConfigError(err)
			if !ok {
				t.Fatalf("loadConfig = %v, want a configuration error", err)
			}
			if got := strings.Join(ce.problems, "\n"); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEveryBadVariableReported(t *testing.T) {
	_, err := load(t, map[string]string{
		"LCW_LOG_LEVEL": "loud", "LCW_POLL_INTERVAL": "soon", "LCW_LOOKBACK": "forever", "LCW_STREAM": "",
		"LCW_NOTIFY_STATUSES": "Failed,foo,failed", "LCW_SLACK_CHANNEL": "C1",
	})
	ce, ok := asConfigError(err)
	if !ok {
		t.Fatalf("loadConfig = %v, want a configuration error", err)
	}
	var vars []string
	for _, p := range ce.problems {
		vars = append(vars, strings.SplitN(p, ":", 2)[0])
	}
	// One line per variable, however many problems it has, in the order of help
	// (a rule's problem with LCW_SLACK_CHANNEL included); an empty LCW_STREAM counts as
	// unset.
	if want := []string{"LCW_POLL_INTERVAL", "LCW_LOOKBACK", "LCW_NOTIFY_STATUSES", "LCW_SLACK_CHANNEL", "LCW_LOG_LEVEL"}; !slices.Equal(vars, want) {
		t.Errorf("reported %v, want %v", vars, want)
	}
	if line := ce.problems[2]; !strings.Contains(line, `"Failed"`) || !strings.Contains(line, `"foo"`) {
		t.Errorf("the LCW_NOTIFY_STATUSES line does not name both bad statuses: %s", line)
	}
}

// TestRulesNameSettings: every variable a rule asks about is a setting (set panics on
// any other), whichever way the rules branch.
func TestRulesNameSettings(t *testing.T) {
	all := map[string]string{}
	for _, name := range settingNames(t) {
		all[name] = "x"
	}
	for _, nats := range []string{"x", ""} {
		all["LCW_NATS_URL"] = nats
		if _, err := load(t, all); err == nil {
			t.Error("every setting set to x: want a configuration error")
		}
	}
}

// TestSettingTags: required, bounds and choices act as the tags say, on a struct of the
// test's own.
func TestSettingTags(t *testing.T) {
	type spec struct {
		Needed  string        `split_words:"true" required:"true" desc:"must be set"`
		Wait    time.Duration `split_words:"true" default:"5s" min:"1s" desc:"a wait"`
		Count   int           `split_words:"true" max:"3" desc:"a count"`
		Mode    string        `split_words:"true" oneof:"fast,slow" desc:"a mode"`
		Ignored string        `ignored:"true"`
	}
	tests := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"T_NEEDED": " "}, []string{"T_NEEDED: required: must be set"}},
		{map[string]string{"T_NEEDED": "y", "T_WAIT": "1ms", "T_COUNT": "4", "T_MODE": "FAST"},
			[]string{"T_WAIT: 1ms is too small: use at least 1s", "T_COUNT: 4 is too large: use at most 3"}},
		{map[string]string{"T_NEEDED": "y", "T_MODE": "quick", "T_IGNORED": "z"}, []string{`T_MODE: "quick": use fast or slow`}},
	}
	for _, tt := range tests {
		var s spec
		r, err := readSettings("t", &s, func(k string) string { return tt.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if ce, ok := asConfigError(r.problems.err(r.settings)); ok {
			got = ce.problems
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%v:\ngot  %q\nwant %q", tt.env, got, tt.want)
		}
		if s.Ignored != "" {
			t.Errorf("read the ignored field: %q", s.Ignored)
		}
	}
	var s spec
	if _, err := readSettings("t", &s, mapEnv(map[string]string{"T_NEEDED": "y", "T_MODE": "SLOW"}).getenv); err != nil {
		t.Fatal(err)
	}
	if s.Mode != "slow" || s.Wait != 5*time.Second {
		t.Errorf("mode %q, wait %s; want the choice as the tag spells it, and the default", s.Mode, s.Wait)
	}
}

// TestBadTagIsAnError: a bound that does not convert is a mistake in the struct, not in
// the environment.
func TestBadTagIsAnError(t *testing.T) {
	var s struct {
		Wait time.Duration `min:"soon"`
	}
	_, err := readSettings("t", &s, func(string) string { return "5s" })
	if _, isConfig := asConfigError(err); err == nil || isConfig {
		t.Errorf("readSettings = %v, want an error that is no configuration error", err)
	}
}

// leaky holds secrets where fmt cannot call their methods: in unexported fields.
type leaky struct {
	token slackBotToken
	urls  natsURLs
}

func TestSecretNeverPrinted(t *testing.T) {
	const token = "xoxb-1-SECRETTOKEN"
	c, err := load(t, map[string]string{
		"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C1",
		"LCW_WEBHOOK_URL": "https://hooks.example/SECRETPATH", "LCW_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"LCW_NATS_URL":        "nats://user:SECRETPASS@a:4222",
		"LCW_ACTIONS_ALLOWED": "U0123ABCD", "LCW_SLACK_APP_TOKEN": "xapp-1-SECRETAPP", "LCW_SLACK_SIGNING_SECRET": "SECRETSIGNING0123456789",
		"LCW_PAGERDUTY_ROUTING_KEY": "SECRETKEY0123456789abcdef0123456", "LCW_PAGERDUTY_ROUTES": "leaver:SECRETROUTE0123456789abcdef01234",
		"LCW_TEAMS_WEBHOOK_URL": "https://prod.logic.azure.com/w?sig=SECRETSIG", "LCW_TEAMS_ROUTES": "joiner:https://prod.logic.azure.com/j?sig=SECRETSIG2",
	})
	if err != nil {
		t.Fatal(err)
	}
	hidden := leaky{token: c.SlackToken, urls: c.NatsURL}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		fmt.Fprintf(&out, verb+"\n", c)
		fmt.Fprintf(&out, verb+"\n", *c)
		fmt.Fprintf(&out, verb+"\n", c.SlackToken)
		fmt.Fprintf(&out, verb+"\n", &c.SlackToken)
		fmt.Fprintf(&out, verb+"\n", hidden)
		fmt.Fprintf(&out, verb+"\n", &hidden)
	}
	fmt.Fprintln(&out, c.SlackToken.String())
	b, _ := json.Marshal(c)
	out.Write(b)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("cfg", "cfg", c, "token", c.SlackToken, "webhook", c.Webhook, "hidden", hidden)
	slog.New(slog.NewTextHandler(&out, nil)).Info("cfg", "cfg", c, "token", c.SlackToken, "nats", c.NATS, "hidden", hidden)
	for _, s := range []string{"SECRETTOKEN", "SECRETPATH", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "SECRETPASS", "SECRETAPP", "SECRETSIGNING", "SECRETKEY", "SECRETROUTE", "SECRETSIG"} {
		if strings.Contains(out.String(), s) {
			t.Errorf("output holds the secret %q:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), redacted) {
		t.Errorf("secrets do not show as %s:\n%s", redacted, out.String())
	}
}

// TestUnknownVariables: an LCW_ variable that is no setting, most likely a typo, is
// named (run logs it as a warning); known ones, set or empty, are not.
func TestUnknownVariables(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, value, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "LCW_") {
			t.Setenv(name, value) // restored after the test
			os.Unsetenv(name)
		}
	}
	t.Setenv("LCW_POLL_INTERVAL", "30s")
	t.Setenv("LCW_SLACK_TOKEN", "")
	if err := unknownVariables(); err != nil {
		t.Errorf("unknownVariables with known settings only = %v, want nil", err)
	}
	t.Setenv("LCW_SLAK_TOKEN", "x")
	if err := unknownVariables(); err == nil || !strings.Contains(err.Error(), "LCW_SLAK_TOKEN") {
		t.Errorf("unknownVariables = %v, want an error naming LCW_SLAK_TOKEN", err)
	}
}
