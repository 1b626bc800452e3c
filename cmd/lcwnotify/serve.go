package main

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// roles says which parts a service runs: run is both, watch and notify one each.
type roles struct{ watch, notify bool }

func (r roles) command() string {
	switch {
	case r.watch && r.notify:
		return "run"
	case r.watch:
		return "watch"
	}
	return "notify"
}

// errNoDestination is the configuration problem of a notifier with nowhere to deliver.
const errNoDestination = "no destination configured: set LCW_SLACK_TOKEN and LCW_SLACK_CHANNEL, " +
	"LCW_SLACK_WEBHOOK_URL, LCW_WEBHOOK_URL and LCW_WEBHOOK_SECRET, LCW_PAGERDUTY_ROUTING_KEY, or LCW_TEAMS_WEBHOOK_URL (LCW_CONSOLE=true prints " +
	"notifications on stdout); `lcwnotify watch` publishes events without delivering them"

// serve runs the watcher, the notifiers, or both until ctx ends.
func serve(ctx context.Context, cfg *config, log *slog.Logger, r roles, stdout io.Writer, getenv func(string) string) error {
	var expected []string
	if r.watch {
		expected = append(expected, "watcher")
		if cfg.Actions.Enabled() {
			expected = append(expected, "actions")
		}
	}
	if r.notify {
		names := destinations(cfg)
		if len(names) == 0 {
			return &configError{problems: []string{errNoDestination}}
		}
		for _, n := range names {
			expected = append(expected, "notify-"+n)
		}
	}
	s, err := startService(ctx, cfg, log, serviceOptions{command: r.command(), serveHTTP: true, expected: expected})
	if err != nil {
		return ignoreCancel(ctx, err)
	}
	defer s.stop()

	if r.watch {
		cred, err := graph.NewCredential(graph.CredentialOptions{DisableInstanceDiscovery: cfg.AzureDisableInstanceDiscovery})
		if err != nil {
			return err
		}
		g, err := s.newGraphClient(cred, getenv("AZURE_TENANT_ID"))
		if err != nil {
			return err
		}
		if _, err := s.addWatcher(ctx, g); err != nil {
			return ignoreCancel(ctx, err)
		}
		// Actions need Graph credentials, so the processes that watch take the clicks;
		// notify alone has none.
		if cfg.Actions.Enabled() {
			if _, err := s.addActions(ctx, g, getenv("AZURE_TENANT_ID"), cfg.slackAPI()); err != nil {
				return ignoreCancel(ctx, err)
			}
		}
	}
	if r.notify {
		sinks, err := s.newSinks(ctx, stdout)
		if err != nil {
			return ignoreCancel(ctx, err)
		}
		if err := s.addNotifiers(ctx, sinks); err != nil {
			return ignoreCancel(ctx, err)
		}
	}
	nats := "embedded, store " + cfg.NATS.DataDir
	if !cfg.NATS.Embedded() {
		nats = strings.Join(cfg.NatsURL.Servers, ",")
	}
	log.Info("lcwnotify started", "command", r.command(), "version", readBuildInfo().Version,
		"instance", cfg.Instance, "nats", nats, "stream", cfg.Stream, "destinations", destinations(cfg))
	if err := s.run(ctx); err != nil {
		return err
	}
	s.stop()
	log.Info("stopped cleanly")
	return nil
}

// ignoreCancel turns an error caused by the shutdown signal into a clean stop: a signal
// during start-up (while NATS is still unreachable, say) is not a failure.
func ignoreCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// destinations names the configured sinks, in the order they are started.
func destinations(cfg *config) []string {
	var names []string
	if cfg.Slack.Enabled() {
		names = append(names, "slack")
	}
	if cfg.Webhook.Enabled() {
		names = append(names, "webhook")
	}
	if cfg.PagerDuty.Enabled() {
		names = append(names, "pagerduty")
	}
	if cfg.Teams.Enabled() {
		names = append(names, "teams")
	}
	if cfg.Console {
		names = append(names, "console")
	}
	return names
}
