package main

import (
	"context"
	"io"

	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/console"
	"github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/notify/webhook"
)

// destination is a configured sink under the name readiness and help use for it.
type destination struct {
	name string
	sink notify.Sink
}

// newSinks builds the sink of every configured destination, in the order destinations
// names them. The Slack sink opens its ledger in NATS, which may not be reachable yet.
func (s *service) newSinks(ctx context.Context, stdout io.Writer) ([]destination, error) {
	var out []destination
	for _, name := range destinations(s.cfg) {
		var sink notify.Sink
		var err error
		switch name {
		case "slack":
			sink, err = retryNATS(ctx, s.nats, "open the Slack ledger", func(ctx context.Context) (*slack.Notifier, error) {
				return slack.New(ctx, slackSinkConfig(s.cfg, s.notifyMetrics()), s.nats.js, string(s.cfg.Stream), s.log.With("component", "notify"))
			})
		case "webhook":
			sink, err = webhook.New(webhook.Config{
				URL:    s.cfg.WebhookURL.Reveal(),
				Secret: s.cfg.WebhookSecret.Reveal(),
			}, s.log.With("component", "notify"))
		case "console":
			sink = console.New(stdout, string(s.cfg.AdminCenterURL))
		}
		if err != nil {
			return nil, err
		}
		out = append(out, destination{name: name, sink: sink})
	}
	return out, nil
}

// slackSinkConfig is the Slack sink's configuration; the secrets leave their wrapper here.
// m may be nil.
func slackSinkConfig(cfg *config, m *notify.Metrics) slack.Config {
	return slack.Config{
		Token:      cfg.SlackToken.Reveal(),
		Channel:    string(cfg.SlackChannel),
		WebhookURL: cfg.SlackWebhookURL.Reveal(),
		// slack-go appends method names to the base: it needs the trailing slash.
		APIURL:         string(cfg.SlackApiURL) + "/",
		Routes:         cfg.SlackRoutes,
		Mention:        string(cfg.SlackMention),
		AdminCenterURL: string(cfg.AdminCenterURL),
		Metrics:        m,
		Replicas:       cfg.StreamReplicas,
	}
}
