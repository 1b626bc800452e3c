package main

import (
	"os"
	"testing"

	"github.com/kelseyhightower/envconfig"
)

// benchEnv is a typical production environment: external NATS, Slack with routes, a
// few tuned settings.
var benchEnv = map[string]string{
	"LCW_NATS_URL": "tls://nats-0.nats:4222,tls://nats-1.nats:4222,tls://nats-2.nats:4222", "LCW_STREAM_REPLICAS": "3",
	"LCW_SLACK_TOKEN": "xoxb-1-bench-token", "LCW_SLACK_CHANNEL": "C0123ABCD",
	"LCW_SLACK_ROUTES": "leaver:C0456,joiner:C0789", "LCW_POLL_INTERVAL": "30s", "LCW_LOOKBACK": "24h",
	"LCW_WORKFLOWS": "wf-1,wf-2,wf-3", "LCW_LOG_LEVEL": "debug", "LCW_HTTP_ADDR": ":9090",
}

// BenchmarkLoadConfig: reading and validating every setting, one variable at a time
// (loadConfig), against the baseline of envconfig.Process reading the same struct from
// the same environment in one call, without the rules.
func BenchmarkLoadConfig(b *testing.B) {
	for k, v := range benchEnv {
		b.Setenv(k, v)
	}
	b.Run("loadConfig", func(b *testing.B) {
		e := env{getenv: os.Getenv, hostname: os.Hostname}
		for b.Loop() {
			if _, err := loadConfig(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("envconfig.Process", func(b *testing.B) {
		for b.Loop() {
			var c config
			if err := envconfig.Process(envPrefix, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
