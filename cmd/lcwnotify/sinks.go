package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/console"
	"github.com/lcwnotify/lcwnotify/notify/pagerduty"
	"github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/notify/teams"
	"github.com/lcwnotify/lcwnotify/notify/webhook"
)

// destination is a configured sink under the name readiness and help use for it.
type destination struct {
	name string
	sink notify.Sink
	// delivered, when set, is told of every delivery (the demo counts them).
	delivered func(*notify.Notification)
}

// newSinks builds the sink of every configured destination, in the order destinations
// names them.
func (s *service) newSinks(_ context.Context, stdout io.Writer) ([]destination, error) {
	var out []destination
	for _, name := range destinations(s.cfg) {
		var sink notify.Sink
		var err error
		switch name {
		case "slack":
			sink, err = newSlack(slackSinkConfig(s.cfg, s.slackMetrics()), s.log.With("component", "notify"))
		case "webhook":
			sink, err = webhook.New(webhook.Config{
				URL:       s.cfg.WebhookURL.Reveal(),
				Secret:    s.cfg.WebhookSecret.Reveal(),
				AllowHTTP: s.cfg.WebhookAllowHTTP,
			}, s.log.With("component", "notify"))
			if _, herr := outbound.CheckURL(s.cfg.WebhookURL.Reveal(), false); err == nil && errors.Is(herr, outbound.ErrPlainHTTP) {
				s.log.Warn("LCW_WEBHOOK_URL is plain http to another host, as LCW_WEBHOOK_ALLOW_HTTP=true allows: anyone on the way can read the events and their signatures")
			}
		case "pagerduty":
			sink, err = pagerduty.New(pagerdutySinkConfig(s.cfg), s.log.With("component", "notify"))
		case "teams":
			sink, err = teams.New(teamsSinkConfig(s.cfg), s.log.With("component", "notify"))
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

// slackSink is what the Slack destination is: posting with a bot token, or through an
// incoming webhook.
type slackSink interface {
	notify.Sink
	Check(ctx context.Context) error
}

// newSlack returns the bot-token notifier, or the incoming webhook when cfg gives one.
func newSlack(cfg slack.Config, log *slog.Logger) (slackSink, error) {
	if cfg.WebhookURL != "" {
		w, err := slack.NewWebhook(cfg, log)
		if err != nil {
			return nil, err
		}
		return w, nil
	}
	n, err := slack.New(cfg, log)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// slackSinkConfig is the Slack sink's configuration; the secrets leave their wrapper here.
// m may be nil.
func slackSinkConfig(cfg *config, m *slack.Metrics) slack.Config {
	return slack.Config{
		Token:      cfg.SlackToken.Reveal(),
		Channel:    string(cfg.SlackChannel),
		WebhookURL: cfg.SlackWebhookURL.Reveal(),
		// slack-go appends method names to the base: it needs the trailing slash.
		APIURL:         string(cfg.SlackApiURL) + "/",
		Routes:         cfg.SlackRoutes,
		Mention:        string(cfg.SlackMention),
		Actions:        cfg.Actions.Enabled(),
		AdminCenterURL: string(cfg.AdminCenterURL),
		Metrics:        m,
	}
}

// pagerdutySinkConfig is the PagerDuty sink's configuration; the secrets leave their
// wrappers here.
func pagerdutySinkConfig(cfg *config) pagerduty.Config {
	return pagerduty.Config{
		RoutingKey:     cfg.PagerdutyRoutingKey.Reveal(),
		URL:            string(cfg.PagerdutyURL),
		Routes:         cfg.PagerdutyRoutes.Routes(),
		Severity:       cfg.PagerdutySeverity,
		AdminCenterURL: string(cfg.AdminCenterURL),
	}
}

// teamsSinkConfig is the Teams sink's configuration; the secrets leave their wrappers
// here.
func teamsSinkConfig(cfg *config) teams.Config {
	return teams.Config{
		WebhookURL:     cfg.TeamsWebhookURL.Reveal(),
		Routes:         cfg.TeamsRoutes.Routes(),
		AdminCenterURL: string(cfg.AdminCenterURL),
	}
}
