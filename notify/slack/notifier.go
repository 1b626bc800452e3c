package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Name is the Slack notifier's sink name.
const Name = "slack"

// Notifier posts change events to Slack: one poster per channel that posts the first
// event at once and groups those that arrive while the channel is paced, and a ledger
// that makes delivery exactly once with a bot token. It implements notify.Sink.
type Notifier struct {
	cfg    Config
	log    *slog.Logger
	dest   destination
	ledger *ledger
	render renderer

	mu       sync.Mutex
	channels map[string]*channel
	inflight map[string]bool

	// maxPerMessage limits the results in one message; zero means as many as Slack's
	// limits allow. The benchmark's one-message-per-failure baseline sets 1.
	maxPerMessage int
}

// New validates cfg and returns a Notifier whose ledger is the KV bucket <stream>-slack,
// created or updated here (replicated like the stream unless cfg.Replicas says otherwise).
func New(ctx context.Context, cfg Config, js jetstream.JetStream, stream string, log *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if js == nil {
		return nil, errors.New("slack: the notifier needs a JetStream context for its ledger")
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.Default()
	}
	l, err := openLedger(ctx, js, stream, cfg.Replicas, cfg.LeaseTTL)
	if err != nil {
		return nil, err
	}
	n := &Notifier{
		cfg:      cfg,
		log:      log.With("sink", Name),
		ledger:   l,
		render:   renderer{mention: cfg.Mention},
		channels: map[string]*channel{},
		inflight: map[string]bool{},
	}
	if cfg.Token != "" {
		n.dest = newBotAPI(&n.cfg)
	} else {
		n.dest = &incomingWebhook{url: cfg.WebhookURL, client: cfg.HTTPClient}
	}
	return n, nil
}

// Name returns "slack".
func (n *Notifier) Name() string { return Name }

// Deliver posts ev to its channel, alone if the channel is idle, or grouped with the
// events that queued while the channel was paced. It returns when the message that covers
// ev was accepted, or when the ledger shows it was posted before.
func (n *Notifier) Deliver(ctx context.Context, ev *events.Event) error {
	if !n.begin(ev.ID) {
		// JetStream redelivered an event this process still holds (its acknowledgement
		// deadline passed while NATS was unreachable). The copy being delivered settles it.
		return notify.Defer(fmt.Errorf("event %s is already being delivered by this process", ev.ID), "in_flight", n.cfg.LeaseTTL)
	}
	defer n.end(ev.ID)
	s := notify.Summarize(ev, n.cfg.AdminCenterURL)
	target, kind := n.route(ev)
	return n.channel(target, kind).deliver(ctx, &item{
		ev:   ev,
		sum:  &s,
		done: make(chan error, 1),
		lead: make(chan struct{}, 1),
	})
}

func (n *Notifier) begin(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.inflight[id] {
		return false
	}
	n.inflight[id] = true
	return true
}

func (n *Notifier) end(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.inflight, id)
}

// route picks the channel of ev: a route for its workflow id, else one for its category,
// else the default channel. With an incoming webhook there is one destination.
func (n *Notifier) route(ev *events.Event) (target, kind string) {
	if n.cfg.WebhookURL != "" {
		return "webhook", "webhook"
	}
	wf := ev.Data.Workflow
	if ch, ok := n.cfg.Routes[strings.ToLower(wf.ID)]; ok {
		return ch, "route"
	}
	if ch, ok := n.cfg.Routes[strings.ToLower(wf.Category)]; ok && wf.Category != "" {
		return ch, "route"
	}
	return n.cfg.Channel, "default"
}

func (n *Notifier) channel(target, kind string) *channel {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.channels[target]
	if !ok {
		c = &channel{n: n, target: target, kind: kind, log: n.log.With("channel", target), paceKey: paceKey(target)}
		if isChannelID(target) {
			c.id = target
		}
		n.channels[target] = c
	}
	return c
}

// Check verifies the configuration against Slack without posting anything: with a bot
// token it calls auth.test and checks the token's scopes; an incoming webhook URL was
// checked for shape by New, and cannot be tested without posting.
func (n *Notifier) Check(ctx context.Context) error {
	api, ok := n.dest.(*botAPI)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.CallTimeout)
	defer cancel()
	resp, err := api.client.AuthTestContext(ctx)
	if err != nil {
		return n.classify(err, "auth.test").err
	}
	header := resp.Header.Get("X-OAuth-Scopes")
	if header == "" {
		return nil // Slack did not say; nothing to check.
	}
	var scopes []string
	for s := range strings.SplitSeq(header, ",") {
		scopes = append(scopes, strings.TrimSpace(s))
	}
	var missing []string
	if !slices.Contains(scopes, "chat:write") {
		missing = append(missing, "chat:write (to post)")
	}
	if !slices.Contains(scopes, "channels:history") && !slices.Contains(scopes, "groups:history") {
		missing = append(missing, "channels:history or groups:history (to read back after a crash, for exactly-once delivery)")
	}
	if n.namesChannels() && !slices.Contains(scopes, "channels:read") && !slices.Contains(scopes, "groups:read") {
		missing = append(missing, "channels:read or groups:read (to look up the ids of channels given by name, for exactly-once delivery; or give channel ids)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("slack: the bot token lacks scopes: %s; add them under OAuth & Permissions and reinstall the app", strings.Join(missing, ", "))
	}
	return nil
}

// namesChannels reports whether a channel is configured by name rather than id.
func (n *Notifier) namesChannels() bool {
	if n.cfg.Channel != "" && !isChannelID(n.cfg.Channel) {
		return true
	}
	for _, ch := range n.cfg.Routes {
		if !isChannelID(ch) {
			return true
		}
	}
	return false
}
