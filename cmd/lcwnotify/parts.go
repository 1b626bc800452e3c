package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/notify/slack/interact"
	"github.com/lcwnotify/lcwnotify/watcher"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// newGraphClient returns the Graph client for cfg, with tokens from cred.
func (s *service) newGraphClient(cred azcore.TokenCredential, tenantID string) (*graph.Client, error) {
	return graph.New(graph.Options{
		BaseURL:    string(s.cfg.GraphURL),
		Version:    s.cfg.GraphVersion,
		Scope:      string(s.cfg.GraphScope),
		Credential: cred,
		TenantID:   tenantID,
		Logger:     s.log.With("component", "graph"),
		Metrics:    graph.NewMetrics(s.reg),
	})
}

// addWatcher adds the watcher reading g. Ready: this replica stands by (another holds
// the polling lease), or its last complete poll ended within three poll intervals.
func (s *service) addWatcher(ctx context.Context, g watcher.Graph) (*watcher.Watcher, error) {
	metrics := watcher.NewMetrics(s.reg) // once: a retry must not register it again
	sched, err := s.cfg.schedule()
	if err != nil {
		return nil, err
	}
	w, err := retryNATS(ctx, s.nats, "start the watcher", func(ctx context.Context) (*watcher.Watcher, error) {
		return watcher.New(ctx, watcher.Options{
			Graph:        g,
			JS:           s.nats.js,
			Stream:       string(s.cfg.Stream),
			Prefix:       string(s.cfg.SubjectPrefix),
			Replicas:     s.cfg.StreamReplicas,
			Workflows:    s.cfg.Workflows,
			PollInterval: s.cfg.PollInterval,
			// The demo shortens the poll interval after the settings were read.
			ActiveInterval: min(s.cfg.PollActiveInterval, s.cfg.PollInterval),
			Lookback:       s.cfg.Lookback,
			Overlap:        s.cfg.PollOverlap,
			NotifyStatuses: s.cfg.NotifyStatuses,
			Instance:       string(s.cfg.Instance),
			Logger:         s.log.With("component", "watcher"),
			Metrics:        metrics,
			Digest:         sched,
		})
	})
	if err != nil {
		return nil, err
	}
	if s.ui != nil {
		s.ui.watching(w, newThrottleSampler(s.reg))
	}
	interval := s.cfg.PollInterval
	s.add("watcher", w.Run, func() error { return watcherReady(w, interval, time.Now()) })
	return w, nil
}

// slackAPI is a Slack Web API and the bot token to call it with.
type slackAPI struct {
	token string
	url   string // with its trailing slash
}

// slackAPI is the configured Slack Web API: LCW_SLACK_API_URL with LCW_SLACK_TOKEN.
func (c *config) slackAPI() slackAPI {
	return slackAPI{token: c.SlackToken.Reveal(), url: string(c.SlackApiURL) + "/"}
}

// addActions adds the handler of clicks on Slack's buttons, acting through g and
// reading user groups from and answering the clicker through api: over Socket Mode
// with LCW_SLACK_APP_TOKEN, and at POST /slack/interactions with
// LCW_SLACK_SIGNING_SECRET. Ready: it runs, and Socket Mode (if used) is connected.
func (s *service) addActions(ctx context.Context, g *graph.Client, tenantID string, api slackAPI) (*interact.Handler, error) {
	metrics := interact.NewMetrics(s.reg) // once: a retry must not register it again
	h, err := retryNATS(ctx, s.nats, "start the Slack actions", func(ctx context.Context) (*interact.Handler, error) {
		return interact.New(ctx, interact.Options{
			JS:            s.nats.js,
			Stream:        string(s.cfg.Stream),
			Replicas:      s.cfg.StreamReplicas,
			Publisher:     events.NewPublisher(s.nats.js, string(s.cfg.Stream), string(s.cfg.SubjectPrefix)),
			Graph:         g,
			TenantID:      tenantID,
			Allowed:       s.cfg.ActionsAllowed,
			Workflows:     s.cfg.Workflows,
			BotToken:      api.token,
			AppToken:      s.cfg.SlackAppToken.Reveal(),
			SigningSecret: s.cfg.SlackSigningSecret.Reveal(),
			APIURL:        api.url,
			Instance:      string(s.cfg.Instance),
			Logger:        s.log,
			Metrics:       metrics,
		})
	})
	if err != nil {
		return nil, err
	}
	if s.cfg.SlackSigningSecret.IsSet() && s.mux != nil {
		s.mux.Handle("POST "+interact.Path, h)
	}
	s.add("actions", h.Run, h.Ready)
	return h, nil
}

// pollingWatcher is what readiness asks a watcher.
type pollingWatcher interface {
	Leader() bool
	LastSuccess() time.Time
	GraphAccess() error
}

func watcherReady(w pollingWatcher, interval time.Duration, now time.Time) error {
	if !w.Leader() {
		return nil // standing by while another replica polls (or taking the lease)
	}
	if err := w.GraphAccess(); err != nil {
		return err // which permission or consent is missing, at once
	}
	last := w.LastSuccess()
	if last.IsZero() {
		return errors.New("no complete poll yet")
	}
	if age := now.Sub(last); age > 3*interval {
		return fmt.Errorf("last complete poll %s ago (LCW_POLL_INTERVAL %s): see the watcher's errors", age.Round(time.Second), interval)
	}
	return nil
}

// addNotifiers adds one dispatcher per destination. Ready: the dispatcher is consuming
// events.
func (s *service) addNotifiers(ctx context.Context, dests []destination) error {
	for _, dest := range dests {
		d, err := retryNATS(ctx, s.nats, "start the "+dest.name+" notifier", func(ctx context.Context) (*notify.Dispatcher, error) {
			return notify.NewDispatcher(ctx, notify.DispatcherOptions{
				JS:       s.nats.js,
				Stream:   string(s.cfg.Stream),
				Prefix:   string(s.cfg.SubjectPrefix),
				Replicas: s.cfg.StreamReplicas,
				Statuses: s.cfg.NotifyStatuses,
				Sink:     dest.sink,
				// Deliveries in flight finish within the shutdown timeout, leaving a fifth
				// of it to drain NATS.
				ShutdownGrace: s.cfg.ShutdownTimeout * 4 / 5,
				Delivered:     dest.delivered,
				Logger:        s.log.With("component", "notify"),
				Metrics:       s.notifyMetrics(),
			})
		})
		if err != nil {
			return err
		}
		s.ui.delivering(d, dest.sink)
		s.add("notify-"+dest.name, d.Run, func() error {
			if !d.Ready() {
				return errors.New("not consuming events")
			}
			return nil
		})
	}
	return nil
}

// notifyMetrics returns the notifiers' metrics, registered once per process.
func (s *service) notifyMetrics() *notify.Metrics {
	if s.nm == nil {
		s.nm = notify.NewMetrics(s.reg)
	}
	return s.nm
}

// slackMetrics returns the Slack notifier's own metrics, registered once per process.
func (s *service) slackMetrics() *slack.Metrics {
	if s.sm == nil {
		s.sm = slack.NewMetrics(s.reg)
	}
	return s.sm
}
