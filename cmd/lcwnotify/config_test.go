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
	"text/template"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// settingNames returns every LCW_ variable, as envconfig names them.
func settingNames(t *testing.T) []string {
	t.Helper()
	var b bytes.Buffer
	tmpl := template.Must(template.New("").Parse(`{{range .}}{{.Key}} {{end}}`))
	if err := envconfig.Usaget(envPrefix, &settings{}, &b, tmpl); err != nil {
		t.Fatal(err)
	}
	return strings.Fields(b.String())
}

// cleanEnv unsets every LCW_ variable for the test (an empty value counts as unset),
// then sets env.
func cleanEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range settingNames(t) {
		t.Setenv(k, "")
	}
	t.Setenv("AZURE_AUTHORITY_HOST", "")
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func testEnv() env {
	return env{getenv: os.Getenv, hostname: func() (string, error) { return "host-1", nil }}
}

func load(t *testing.T, vars map[string]string) (*config, error) {
	t.Helper()
	cleanEnv(t, vars)
	return loadConfig(testEnv())
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
		// added
		"LCW_ADMIN_CENTER_URL", "LCW_POLL_OVERLAP", "LCW_INSTANCE", "LCW_NATS_TLS_CA", "LCW_NATS_TLS_CERT",
		"LCW_NATS_TLS_KEY", "LCW_NATS_LISTEN", "LCW_NATS_MAX_MEMORY", "LCW_NATS_MAX_STORE", "LCW_STREAM_REPLICAS",
		"LCW_CONSOLE", "LCW_LOG_FORMAT", "LCW_SHUTDOWN_TIMEOUT",
		"LCW_NATS_LISTEN_NKEY", "LCW_NATS_LISTEN_TLS_CERT", "LCW_NATS_LISTEN_TLS_KEY", "LCW_NATS_LISTEN_INSECURE",
	}
	got := settingNames(t)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("settings:\ngot  %v\nwant %v", got, want)
	}
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &config{
		Graph: graphConfig{URL: "https://graph.microsoft.com", Version: "v1.0", Scope: "https://graph.microsoft.com/.default",
			AdminCenterURL: "https://entra.microsoft.com"},
		Watch: watchConfig{PollInterval: time.Minute, PollOverlap: 10 * time.Minute},
		NATS:  natsConfig{DataDir: "./lcwnotify-data", MaxMemory: 64 << 20, MaxStore: 1 << 30},
		Events: eventsConfig{Stream: "LCW", Prefix: "lcw", Replicas: 1,
			NotifyStatuses: []string{"failed", "completedWithErrors"}},
		Slack:           slackConfig{APIURL: "https://slack.com/api/"},
		HTTPAddr:        ":9090",
		LogLevel:        slog.LevelInfo,
		LogFormat:       "json",
		ShutdownTimeout: 25 * time.Second,
		Instance:        "host-1",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\ngot  %+v\nwant %+v", c, want)
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
		{map[string]string{"LCW_GRAPH_URL": "https://graph.microsoft.us/"}, func(c *config) any { return c.Graph.URL }, "https://graph.microsoft.us"},
		{map[string]string{"LCW_GRAPH_URL": "https://graph.microsoft.us"}, func(c *config) any { return c.Graph.Scope }, "https://graph.microsoft.us/.default"},
		{map[string]string{"LCW_GRAPH_URL": "https://dod-graph.microsoft.us"}, func(c *config) any { return c.Graph.AdminCenterURL }, "https://entra.microsoft.us"},
		{map[string]string{"LCW_GRAPH_URL": "https://microsoftgraph.chinacloudapi.cn"}, func(c *config) any { return c.Graph.AdminCenterURL }, "https://entra.microsoftonline.cn"},
		{map[string]string{"LCW_GRAPH_URL": "http://127.0.0.1:8080"}, func(c *config) any { return c.Graph.URL }, "http://127.0.0.1:8080"},
		{map[string]string{"LCW_GRAPH_VERSION": "beta"}, func(c *config) any { return c.Graph.Version }, "beta"},
		{map[string]string{"LCW_GRAPH_SCOPE": "api://x/.default"}, func(c *config) any { return c.Graph.Scope }, "api://x/.default"},
		{map[string]string{"LCW_AZURE_DISABLE_INSTANCE_DISCOVERY": "true"}, func(c *config) any { return c.Graph.DisableInstanceDiscovery }, true},
		{map[string]string{"LCW_ADMIN_CENTER_URL": "https://entra.example/"}, func(c *config) any { return c.Graph.AdminCenterURL }, "https://entra.example"},
		{map[string]string{"LCW_POLL_INTERVAL": "90s"}, func(c *config) any { return c.Watch.PollInterval }, 90 * time.Second},
		{map[string]string{"LCW_POLL_OVERLAP": "0s"}, func(c *config) any { return c.Watch.PollOverlap }, time.Duration(0)},
		{map[string]string{"LCW_LOOKBACK": "72h"}, func(c *config) any { return c.Watch.Lookback }, 72 * time.Hour},
		{map[string]string{"LCW_WORKFLOWS": " a-1, b_2 ,,a-1,"}, func(c *config) any { return c.Watch.Workflows }, []string{"a-1", "b_2"}},
		{map[string]string{"LCW_INSTANCE": "pod-7"}, func(c *config) any { return c.Instance }, "pod-7"},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222, tls://user:pw@b:4222"}, func(c *config) any { return c.NATS.URL.Reveal() }, "nats://a:4222,tls://user:pw@b:4222"},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222,tls://user:pw@b:4222"}, func(c *config) any { return c.NATS.Servers }, []string{"nats://a:4222", "tls://b:4222"}},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_NATS_CREDS": creds}, func(c *config) any { return c.NATS.Creds }, creds},
		{map[string]string{"LCW_NATS_URL": "tls://a:4222", "LCW_NATS_TLS_CA": ca}, func(c *config) any { return c.NATS.TLSCA }, ca},
		{map[string]string{"LCW_NATS_URL": "tls://a:4222", "LCW_NATS_TLS_CERT": cert, "LCW_NATS_TLS_KEY": key}, func(c *config) any { return c.NATS.TLSCert + " " + c.NATS.TLSKey }, cert + " " + key},
		{map[string]string{"LCW_DATA_DIR": "/data"}, func(c *config) any { return c.NATS.DataDir }, "/data"},
		{map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222"}, func(c *config) any { return c.NATS.Listen }, "127.0.0.1:4222"},
		{map[string]string{"LCW_NATS_MAX_MEMORY": "32MiB"}, func(c *config) any { return c.NATS.MaxMemory }, int64(32 << 20)},
		{map[string]string{"LCW_NATS_MAX_STORE": "10G"}, func(c *config) any { return c.NATS.MaxStore }, int64(10 << 30)},
		{map[string]string{"LCW_NATS_MAX_STORE": "104857600"}, func(c *config) any { return c.NATS.MaxStore }, int64(100 << 20)},
		{map[string]string{"LCW_STREAM": "LCW_prod"}, func(c *config) any { return c.Events.Stream }, "LCW_prod"},
		{map[string]string{"LCW_SUBJECT_PREFIX": "corp.lcw"}, func(c *config) any { return c.Events.Prefix }, "corp.lcw"},
		{map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_STREAM_REPLICAS": "3"}, func(c *config) any { return c.Events.Replicas }, 3},
		{map[string]string{"LCW_NOTIFY_STATUSES": "failed, canceled"}, func(c *config) any { return c.Events.NotifyStatuses }, []string{"failed", "canceled"}},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C0123"}, func(c *config) any { return c.Slack.Token.Reveal() + " " + c.Slack.Channel }, token + " C0123"},
		{map[string]string{"LCW_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"}, func(c *config) any { return c.Slack.WebhookURL.Reveal() }, "https://hooks.slack.com/services/T/B/x"},
		{map[string]string{"LCW_SLACK_API_URL": "http://127.0.0.1:9999/api"}, func(c *config) any { return c.Slack.APIURL }, "http://127.0.0.1:9999/api/"},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C0123", "LCW_SLACK_ROUTES": "leaver:#offboarding"}, func(c *config) any { return c.Slack.Routes }, map[string]string{"leaver": "#offboarding"}},
		{map[string]string{"LCW_SLACK_MENTION": "<!subteam^S0123>"}, func(c *config) any { return c.Slack.Mention }, "<!subteam^S0123>"},
		{map[string]string{"LCW_WEBHOOK_URL": "https://hooks.example/lcw", "LCW_WEBHOOK_SECRET": whsec}, func(c *config) any { return c.Webhook.URL.Reveal() + " " + c.Webhook.Secret.Reveal() }, "https://hooks.example/lcw " + whsec},
		{map[string]string{"LCW_CONSOLE": "true"}, func(c *config) any { return c.Console }, true},
		{map[string]string{"LCW_HTTP_ADDR": "127.0.0.1:0"}, func(c *config) any { return fmt.Sprint(c.HTTPAddr, c.HTTPAddrSet) }, "127.0.0.1:0true"},
		{map[string]string{"LCW_LOG_LEVEL": "WARN"}, func(c *config) any { return c.LogLevel }, slog.LevelWarn},
		{map[string]string{"LCW_LOG_FORMAT": "text"}, func(c *config) any { return c.LogFormat }, "text"},
		{map[string]string{"LCW_SHUTDOWN_TIMEOUT": "1m"}, func(c *config) any { return c.ShutdownTimeout }, time.Minute},
		// An empty value counts as unset; surrounding spaces are ignored.
		{map[string]string{"LCW_POLL_INTERVAL": ""}, func(c *config) any { return c.Watch.PollInterval }, time.Minute},
		{map[string]string{"LCW_POLL_INTERVAL": " 2m "}, func(c *config) any { return c.Watch.PollInterval }, 2 * time.Minute},
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
		{map[string]string{"LCW_POLL_OVERLAP": "-1m"}, "LCW_POLL_OVERLAP"},
		{map[string]string{"LCW_LOOKBACK": "800h"}, "LCW_LOOKBACK"},
		{map[string]string{"LCW_WORKFLOWS": "ok,../users"}, "LCW_WORKFLOWS"},
		{map[string]string{"LCW_INSTANCE": "a b"}, "LCW_INSTANCE"},
		{map[string]string{"LCW_NATS_URL": "http://u:S3CR3T@a:4222"}, "LCW_NATS_URL"},
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
		{map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_STREAM_REPLICAS": "7"}, "LCW_STREAM_REPLICAS"},
		{map[string]string{"LCW_NOTIFY_STATUSES": "Failed"}, "LCW_NOTIFY_STATUSES"},
		{map[string]string{"LCW_NOTIFY_STATUSES": " , "}, "LCW_NOTIFY_STATUSES"},
		{map[string]string{"LCW_SLACK_TOKEN": "not-a-token-S3CR3T", "LCW_SLACK_CHANNEL": "C1"}, "LCW_SLACK_TOKEN"},
		{map[string]string{"LCW_SLACK_TOKEN": token}, "LCW_SLACK_CHANNEL"},
		{map[string]string{"LCW_SLACK_CHANNEL": "C1"}, "LCW_SLACK_CHANNEL"},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C1", "LCW_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/S3CR3T"}, "LCW_SLACK_WEBHOOK_URL"},
		{map[string]string{"LCW_SLACK_WEBHOOK_URL": "http://hooks.slack.com/services/S3CR3T"}, "LCW_SLACK_WEBHOOK_URL"},
		{map[string]string{"LCW_SLACK_API_URL": "ftp://slack.com/api/"}, "LCW_SLACK_API_URL"},
		{map[string]string{"LCW_SLACK_ROUTES": "leaver:#x"}, "LCW_SLACK_ROUTES"},
		{map[string]string{"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C1", "LCW_SLACK_ROUTES": "leaver"}, "LCW_SLACK_ROUTES"},
		{map[string]string{"LCW_SLACK_MENTION": "a\nb"}, "LCW_SLACK_MENTION"},
		{map[string]string{"LCW_WEBHOOK_URL": "https://hooks.example/S3CR3T"}, "LCW_WEBHOOK_SECRET"},
		{map[string]string{"LCW_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "LCW_WEBHOOK_SECRET"},
		{map[string]string{"LCW_WEBHOOK_URL": "https://hooks.example/x", "LCW_WEBHOOK_SECRET": "S3CR3T-without-prefix"}, "LCW_WEBHOOK_SECRET"},
		{map[string]string{"LCW_WEBHOOK_URL": "https://hooks.example/x", "LCW_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, "LCW_WEBHOOK_SECRET"},
		{map[string]string{"LCW_CONSOLE": "maybe"}, "LCW_CONSOLE"},
		{map[string]string{"LCW_HTTP_ADDR": "9090"}, "LCW_HTTP_ADDR"},
		{map[string]string{"LCW_HTTP_ADDR": ":99999"}, "LCW_HTTP_ADDR"},
		{map[string]string{"LCW_LOG_LEVEL": "verbose"}, "LCW_LOG_LEVEL"},
		{map[string]string{"LCW_LOG_FORMAT": "xml"}, "LCW_LOG_FORMAT"},
		{map[string]string{"LCW_SHUTDOWN_TIMEOUT": "0s"}, "LCW_SHUTDOWN_TIMEOUT"},
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

func TestEveryBadVariableReported(t *testing.T) {
	_, err := load(t, map[string]string{
		"LCW_POLL_INTERVAL": "soon", "LCW_LOOKBACK": "forever", "LCW_LOG_LEVEL": "loud", "LCW_STREAM": "",
		"LCW_NOTIFY_STATUSES": "Failed,foo,failed",
	})
	ce, ok := asConfigError(err)
	if !ok {
		t.Fatalf("loadConfig = %v, want a configuration error", err)
	}
	var vars []string
	for _, p := range ce.problems {
		vars = append(vars, strings.SplitN(p, ":", 2)[0])
	}
	// One line per variable, however many problems it has; an empty LCW_STREAM counts
	// as unset.
	if want := []string{"LCW_POLL_INTERVAL", "LCW_LOOKBACK", "LCW_NOTIFY_STATUSES", "LCW_LOG_LEVEL"}; !slices.Equal(vars, want) {
		t.Errorf("reported %v, want %v", vars, want)
	}
	if line := ce.problems[2]; !strings.Contains(line, `"Failed"`) || !strings.Contains(line, `"foo"`) {
		t.Errorf("the LCW_NOTIFY_STATUSES line does not name both bad statuses: %s", line)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	const token = "xoxb-1-SECRETTOKEN"
	c, err := load(t, map[string]string{
		"LCW_SLACK_TOKEN": token, "LCW_SLACK_CHANNEL": "C1",
		"LCW_WEBHOOK_URL": "https://hooks.example/SECRETPATH", "LCW_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"LCW_NATS_URL": "nats://user:SECRETPASS@a:4222",
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		fmt.Fprintf(&out, verb+"\n", c)
		fmt.Fprintf(&out, verb+"\n", *c)
		fmt.Fprintf(&out, verb+"\n", c.Slack.Token)
	}
	fmt.Fprintln(&out, c.Slack.Token.String())
	b, _ := json.Marshal(c)
	out.Write(b)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("cfg", "cfg", c, "token", c.Slack.Token, "webhook", c.Webhook)
	slog.New(slog.NewTextHandler(&out, nil)).Info("cfg", "cfg", c, "token", c.Slack.Token, "nats", c.NATS)
	for _, s := range []string{"SECRETTOKEN", "SECRETPATH", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "SECRETPASS"} {
		if strings.Contains(out.String(), s) {
			t.Errorf("output holds the secret %q:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), redacted) {
		t.Errorf("secrets do not show as %s:\n%s", redacted, out.String())
	}
}
