package teams

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
)

// Name is the Teams notifier's sink name.
const Name = "teams"

// maxResponse bounds the response body read.
const maxResponse = 64 << 10

// Notifier posts Adaptive Cards to Teams channels through Workflows webhooks. It
// implements notify.Sink, notify.Fanout and notify.Interested.
//
// Its destination keys are labels, never URLs: DefaultLabel for LCW_TEAMS_WEBHOOK_URL,
// "route:<key>" for a route of LCW_TEAMS_ROUTES (see notify.SecretRoutes). Each webhook
// is paced apart.
type Notifier struct {
	cfg    Config
	routes notify.SecretRoutes
	client *http.Client
	log    *slog.Logger
}

// New validates cfg and returns a Notifier.
func New(cfg Config, log *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.Default()
	}
	n := &Notifier{
		cfg:    cfg,
		routes: notify.NewSecretRoutes(cfg.WebhookURL, cfg.Routes),
		client: notify.HTTPClient(cfg.HTTPClient, cfg.Timeout),
		log:    log.With("sink", Name),
	}
	for _, label := range n.routes.Labels() {
		if hook, _ := n.routes.Target(label); RetiredConnector(hook) {
			n.log.Warn("this webhook is an Office 365 connector's, which Microsoft retired: create a Workflows flow \"post to a channel when a webhook request is received\" and use its URL",
				"key", label)
		}
	}
	return n, nil
}

// Name returns "teams".
func (n *Notifier) Name() string { return Name }

// Interests: besides failures, a channel is told when a failure it saw is resolved,
// when a workflow enters or leaves quarantine or is disabled or enabled, and the
// digest. Not the steps of actions, which are taken from Slack and told in its threads.
func (n *Notifier) Interests() notify.Interests {
	return notify.Interests{Resolutions: true, Workflows: true, Digests: true}
}

// Key returns the label of the webhook nt goes to: its workflow's route, else the
// default; "" for an action's record, and for a workflow no route or default covers.
func (n *Notifier) Key(nt *notify.Notification) string {
	if nt.Action != nil || nt.Digest != nil {
		return ""
	}
	if wf := nt.WorkflowOf(); wf != nil {
		return n.routes.Label(*wf)
	}
	return ""
}

// Keys implements notify.Fanout: a digest goes to every webhook, each reporting the
// workflows routed to it; anything else to its one webhook.
func (n *Notifier) Keys(nt *notify.Notification) []string {
	if nt.Digest != nil {
		return n.routes.Labels()
	}
	if k := n.Key(nt); k != "" {
		return []string{k}
	}
	return nil
}

// Labels returns every key the notifier sends to, the default's first.
func (n *Notifier) Labels() []string { return n.routes.Labels() }

// Rate is one card at a time per webhook, DefaultInterval apart.
func (n *Notifier) Rate(string) notify.Rate {
	return notify.Rate{Interval: n.cfg.Interval, Burst: 1}
}

// payload is one rendered card, the request body as it is posted.
type payload []byte

// Send posts the card m to the webhook labelled key. 2xx is delivery (a Workflows
// webhook answers 202 and posts the card after); see classify for the rest.
func (n *Notifier) Send(ctx context.Context, key string, m notify.Message, _ notify.Part) (notify.Receipt, error) {
	body, ok := m.(payload)
	if !ok {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("teams: cannot post a %T", m), "bad_message")
	}
	hook, ok := n.routes.Target(key)
	if !ok {
		return notify.Receipt{}, notify.Unsent(notify.Permanent(fmt.Errorf("teams: no webhook is configured for %s (LCW_TEAMS_WEBHOOK_URL, LCW_TEAMS_ROUTES)", key), "no_webhook"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		return notify.Receipt{}, notify.Unsent(notify.Permanent(fmt.Errorf("teams: the webhook URL of %s cannot be requested", key), "bad_url"))
	}
	// The charset matters: without it Teams has been seen to count the body as UTF-16,
	// twice its size.
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "lcwnotify")
	now := time.Now()
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.Receipt{}, notify.RequestFailed("teams: post to "+key, err, secretsOf(hook)...)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	return notify.Receipt{}, classify(&n.cfg, key, resp, raw, now, hook)
}
