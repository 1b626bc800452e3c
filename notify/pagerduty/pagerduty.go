package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Name is the PagerDuty notifier's sink name.
const Name = "pagerduty"

// EnqueuePath is where the Events API v2 takes alert events, below its root.
const EnqueuePath = "/v2/enqueue"

// maxResponse bounds the response body read: PagerDuty answers with a status line, a
// message and a list of errors.
const maxResponse = 64 << 10

// Notifier triggers and resolves PagerDuty alerts. It implements notify.Sink and
// notify.Interested.
//
// Its destination keys are labels, never routing keys: DefaultLabel for
// LCW_PAGERDUTY_ROUTING_KEY, "route:<key>" for a route of LCW_PAGERDUTY_ROUTES (see
// notify.SecretRoutes). Each is paced apart, as PagerDuty limits each integration key.
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
	return &Notifier{
		cfg:    cfg,
		routes: notify.NewSecretRoutes(cfg.RoutingKey, cfg.Routes),
		client: notify.HTTPClient(cfg.HTTPClient, cfg.Timeout),
		log:    log.With("sink", Name),
	}, nil
}

// Name returns "pagerduty".
func (n *Notifier) Name() string { return Name }

// Interests: besides failures, PagerDuty takes the completions that resolve them and
// the workflow changes that open and close alerts of their own. Not digests, which
// would page someone with a report, nor the records of actions, which have no alert.
func (n *Notifier) Interests() notify.Interests {
	return notify.Interests{Resolutions: true, Workflows: true}
}

// Key returns the label of the routing key nt pages through: its workflow's route, else
// the default. A result is paged only when it failed (failed or completedWithErrors) or
// completed — other statuses in LCW_NOTIFY_STATUSES open no alert anything could
// resolve, so they go to the chat destinations only — and a workflow only for the four
// changes that open or close an alert.
func (n *Notifier) Key(nt *notify.Notification) string {
	switch {
	case nt.Event != nil:
		r, err := nt.Event.Data.Result()
		if err != nil || !events.IsFailure(r.ProcessingStatus) && !events.IsSuccess(r.ProcessingStatus) {
			return ""
		}
	case nt.Workflow != nil:
		switch nt.Workflow.Data.Change {
		case events.ChangeQuarantined, events.ChangeReleased, events.ChangeDisabled, events.ChangeEnabled:
		default:
			return ""
		}
	default:
		return ""
	}
	return n.routes.Label(*nt.WorkflowOf())
}

// Labels returns every key the notifier sends to, the default's first.
func (n *Notifier) Labels() []string { return n.routes.Labels() }

// Rate paces a routing key as a token bucket (see DefaultBurst).
func (n *Notifier) Rate(string) notify.Rate {
	return notify.Rate{Interval: n.cfg.Interval, Burst: n.cfg.Burst}
}

// Render gives every notification an event of its own: each failure is an alert of its
// user, deduplicated by PagerDuty on its dedup_key, and a PagerDuty service groups
// alerts into incidents by its own rules (see docs/pagerduty.md).
func (n *Notifier) Render(_ string, ns []*notify.Notification, _ bool) []notify.Batch {
	out := make([]notify.Batch, len(ns))
	for i, nt := range ns {
		out[i] = notify.Batch{Items: []int{i}, Messages: []notify.Message{n.render(nt)}}
	}
	return out
}

// Send posts the event m through the routing key labelled key (or the one m's trigger
// went to). 202 is delivery; see classify for the rest.
func (n *Notifier) Send(ctx context.Context, key string, m notify.Message, _ notify.Part) (notify.Receipt, error) {
	a, ok := m.(alert)
	if !ok || a.ev.EventAction == "" {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("pagerduty: cannot send a %T", m), "bad_message")
	}
	label := key
	if a.label != "" && a.label != key {
		if _, known := n.routes.Target(a.label); known {
			label = a.label
		} else {
			n.log.Warn("the alert this event follows up was triggered through a routing key no longer configured; sending it through the current one, where PagerDuty may drop it",
				"was", a.label, "key", key, "dedup_key", a.ev.DedupKey)
		}
	}
	routingKey, ok := n.routes.Target(label)
	if !ok {
		return notify.Receipt{}, notify.Unsent(notify.Permanent(fmt.Errorf("pagerduty: no routing key is configured for %s (LCW_PAGERDUTY_ROUTING_KEY, LCW_PAGERDUTY_ROUTES)", label), "no_routing_key"))
	}
	ev := a.ev
	ev.RoutingKey = routingKey
	body, err := json.Marshal(ev)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("pagerduty: encode the event: %w", err), "bad_message")
	}
	r, err := n.post(ctx, body, routingKey)
	if err != nil {
		return notify.Receipt{}, err
	}
	if r.DedupKey == "" {
		r.DedupKey = ev.DedupKey
	}
	return notify.Receipt{ID: r.DedupKey}, nil
}

// post sends one event body and classifies the answer. Nothing it returns quotes the
// routing key.
func (n *Notifier) post(ctx context.Context, body []byte, routingKey string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL+EnqueuePath, bytes.NewReader(body))
	if err != nil {
		return nil, notify.Unsent(notify.Permanent(fmt.Errorf("pagerduty: LCW_PAGERDUTY_URL cannot be requested"), "bad_url"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lcwnotify")
	now := time.Now()
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, transportError(err, routingKey)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	var r response
	_ = json.Unmarshal(raw, &r) // a body that is not PagerDuty's says nothing more
	if err := classify(&n.cfg, resp, &r, raw, now, routingKey); err != nil {
		return nil, err
	}
	return &r, nil
}
