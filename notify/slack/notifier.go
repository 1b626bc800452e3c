package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Name is the Slack notifier's sink name.
const Name = "slack"

// checkTimeout bounds Check's calls.
const checkTimeout = 15 * time.Second

// sink is what both ways of posting to Slack share: the configuration, the layout of
// messages, and how a channel is paced.
type sink struct {
	cfg    Config
	log    *slog.Logger
	render renderer
	// route returns the channel a workflow's notifications go to.
	route func(events.Workflow) string
	// threads reports whether messages can be updated and replied to in threads.
	threads bool
}

func newSink(cfg Config, log *slog.Logger) (sink, error) {
	if err := cfg.Validate(); err != nil {
		return sink{}, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.Default()
	}
	return sink{cfg: cfg, log: log.With("sink", Name), render: renderer{mention: cfg.Mention, actions: cfg.Actions && cfg.Token != ""}}, nil
}

// Name returns "slack".
func (s *sink) Name() string { return Name }

// Rate is Slack's pace for one channel: about one message per second, one at a time.
func (s *sink) Rate(string) notify.Rate { return notify.Rate{Interval: s.cfg.Interval, Burst: 1} }

// Render lays out the failures among ns in as few messages as Slack's limits allow,
// grouping results of the same workflow under one heading and never dropping or
// truncating anything: a result too large for one message spans several. With lead, the
// first message carries LCW_SLACK_MENTION when it reports a failure. Everything else
// (follow-ups, workflow changes, action steps, digests) is laid out on its own
// (followup.go, digest.go).
func (s *sink) Render(key string, ns []*notify.Notification, lead bool) []notify.Batch {
	var failures []int
	var out []notify.Batch
	for i, n := range ns {
		if !alone(n) {
			failures = append(failures, i)
			continue
		}
		if n.Digest != nil {
			only := func(wf events.Workflow) bool { return s.route(wf) == key }
			b := notify.Batch{Items: []int{i}}
			for _, m := range s.digest(n.Digest, only) {
				b.Messages = append(b.Messages, m)
			}
			out = append(out, b)
			continue
		}
		out = append(out, s.renderAlone(i, n, s.threads))
	}
	if len(failures) == 0 {
		return out
	}
	sums := make([]*notify.Summary, len(failures))
	for k, i := range failures {
		sum := notify.Summarize(ns[i].Event, s.cfg.AdminCenterURL)
		sums[k] = &sum
	}
	mention := lead && s.render.mention != ""
	packed := s.render.pack(sums, mention)
	grouped := make([]notify.Batch, len(packed))
	for k, b := range packed {
		msgs := make([]notify.Message, len(b.messages))
		for i, m := range b.messages {
			msgs[i] = m
		}
		items := make([]int, len(b.items))
		for j, i := range b.items {
			items[j] = failures[i]
		}
		grouped[k] = notify.Batch{Items: items, Messages: msgs,
			Lead: mention && k == 0 && slices.ContainsFunc(b.items, func(i int) bool { return sums[i].Failure() })}
	}
	// The failures first: the round's mention goes on the first batch.
	return append(grouped, out...)
}

// routeTo returns the channel of a workflow: a route for its id, else one for its
// category, else the default channel.
func routeTo(cfg *Config, wf events.Workflow) string {
	if ch, ok := cfg.Routes[strings.ToLower(wf.ID)]; ok {
		return ch
	}
	if ch, ok := cfg.Routes[strings.ToLower(wf.Category)]; ok && wf.Category != "" {
		return ch
	}
	return cfg.Channel
}

// Notifier posts to Slack with a bot token: chat.postMessage, with message metadata that
// conversations.history shows, so that the delivery stage can read a channel back after
// a crash and deliver every notification exactly once. It implements notify.Sink,
// notify.Finder and notify.Resolver.
type Notifier struct {
	sink
	api *botAPI
}

// New validates cfg, which must give a bot token, and returns a Notifier.
func New(cfg Config, log *slog.Logger) (*Notifier, error) {
	s, err := newSink(cfg, log)
	if err != nil {
		return nil, err
	}
	if s.cfg.Token == "" {
		return nil, errors.New("slack: the notifier needs LCW_SLACK_TOKEN (an incoming webhook is NewWebhook's)")
	}
	n := &Notifier{sink: s, api: newBotAPI(&s.cfg)}
	n.route = func(wf events.Workflow) string { return routeTo(&n.cfg, wf) }
	n.threads = true
	return n, nil
}

// Interests: a bot can update its messages and reply in their threads, so it takes
// everything that follows a failure up, and workflow changes and digests.
func (n *Notifier) Interests() notify.Interests {
	return notify.Interests{Resolutions: true, Workflows: true, Actions: true, Digests: true}
}

// Key routes nt to its channel: its workflow's (see routeTo); for an action's record,
// the channel of the message it was taken from. A digest goes to every channel (Keys).
func (n *Notifier) Key(nt *notify.Notification) string {
	if a := nt.Action; a != nil {
		if m := a.Data.Message; m != nil && m.Sink == Name && m.Key != "" && m.ID != "" && a.Data.Kind != events.ActionRefused {
			return m.Key
		}
		return ""
	}
	if wf := nt.WorkflowOf(); wf != nil {
		return n.route(*wf)
	}
	return n.cfg.Channel
}

// Keys implements notify.Fanout: a digest goes to every configured channel, each
// reporting the workflows routed to it; anything else to its one channel.
func (n *Notifier) Keys(nt *notify.Notification) []string {
	if nt.Digest == nil {
		return []string{n.Key(nt)}
	}
	keys := []string{n.cfg.Channel}
	for _, ch := range n.cfg.Routes {
		if !slices.Contains(keys, ch) {
			keys = append(keys, ch)
		}
	}
	slices.Sort(keys[1:])
	return keys
}

// kind labels a channel in metrics.
func (n *Notifier) kind(channel string) string {
	if channel == n.cfg.Channel {
		return "default"
	}
	return "route"
}

// Send posts m to channel, with metadata naming its batch and part.
func (n *Notifier) Send(ctx context.Context, channel string, m notify.Message, p notify.Part) (notify.Receipt, error) {
	msg, ok := m.(message)
	if !ok {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("slack: cannot post a %T", m), "bad_message")
	}
	id, ts, err := n.api.post(ctx, channel, msg, batchMetadata(p.Batch, p.Index, p.Count))
	if err != nil {
		return notify.Receipt{}, classify(&n.cfg, err, "chat.postMessage to "+channel)
	}
	n.cfg.Metrics.message(n.kind(channel))
	return notify.Receipt{Key: id, ID: ts}, nil
}

// Find reads channel's history back since since for the batches' messages. It needs
// the channel's id: a name is a Permanent error.
func (n *Notifier) Find(ctx context.Context, channel string, since time.Time, batches []notify.Sought) (map[string]notify.Found, error) {
	if !isChannelID(channel) {
		return nil, notify.Permanent(fmt.Errorf("slack: cannot read back %s by name: configure the channel id", channel), "channel_name")
	}
	// Batches in a thread are only in conversations.replies of their root.
	byThread := map[string]map[string]bool{}
	for _, b := range batches {
		if byThread[b.Within] == nil {
			byThread[b.Within] = map[string]bool{}
		}
		byThread[b.Within][b.Batch] = true
	}
	found := map[string]notify.Found{}
	for thread, want := range byThread {
		var part map[string]notify.Found
		var err error
		if thread == "" {
			part, err = n.api.history(ctx, channel, since, want)
			if err != nil {
				return nil, classify(&n.cfg, err, "conversations.history of "+channel)
			}
		} else {
			part, err = n.api.replies(ctx, channel, thread, since, want)
			if err != nil {
				return nil, classify(&n.cfg, err, "conversations.replies of "+channel)
			}
		}
		maps.Copy(found, part)
	}
	return found, nil
}

// Resolve returns the id of a channel configured by name, from conversations.list; a
// channel id is its own. "" means no channel of that name is visible to the token.
func (n *Notifier) Resolve(ctx context.Context, channel string) (string, error) {
	if isChannelID(channel) {
		return channel, nil
	}
	id, err := n.api.channelByName(ctx, strings.TrimPrefix(channel, "#"))
	if err != nil {
		return "", classify(&n.cfg, err, "conversations.list")
	}
	return id, nil
}

// Check verifies the configuration against Slack without posting anything: it calls
// auth.test and checks the token's scopes.
func (n *Notifier) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	resp, err := n.api.client.AuthTestContext(ctx)
	if err != nil {
		return classify(&n.cfg, err, "auth.test")
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

// isChannelID reports whether s looks like a Slack conversation id rather than a name.
func isChannelID(s string) bool {
	if len(s) < 9 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Webhook posts to the one channel of an incoming webhook. It cannot read anything back:
// delivery is at least once, and a crash between Slack taking a message and the ledger
// recording it repeats that message. It implements notify.Sink.
type Webhook struct {
	sink
	hook *incomingWebhook
}

// webhookKey is the key of an incoming webhook's one channel.
const webhookKey = "webhook"

// NewWebhook validates cfg, which must give an incoming webhook URL, and returns a Webhook.
func NewWebhook(cfg Config, log *slog.Logger) (*Webhook, error) {
	s, err := newSink(cfg, log)
	if err != nil {
		return nil, err
	}
	if s.cfg.WebhookURL == "" {
		return nil, errors.New("slack: the incoming webhook needs LCW_SLACK_WEBHOOK_URL")
	}
	_, client := s.cfg.clients()
	w := &Webhook{sink: s, hook: &incomingWebhook{url: s.cfg.WebhookURL, client: client}}
	w.route = func(events.Workflow) string { return webhookKey }
	return w, nil
}

// Interests: an incoming webhook can neither update a message nor reply in its thread,
// so it takes workflow changes and digests, each a message of its own, but no
// follow-ups of failures.
func (w *Webhook) Interests() notify.Interests {
	return notify.Interests{Workflows: true, Digests: true}
}

// Key is the webhook's one channel, for all but actions' records.
func (w *Webhook) Key(n *notify.Notification) string {
	if n.Action != nil {
		return ""
	}
	return webhookKey
}

// Send posts m through the incoming webhook.
func (w *Webhook) Send(ctx context.Context, _ string, m notify.Message, _ notify.Part) (notify.Receipt, error) {
	msg, ok := m.(message)
	if !ok {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("slack: cannot post a %T", m), "bad_message")
	}
	if _, _, err := w.hook.post(ctx, "", msg, batchMetadata("", 0, 0)); err != nil {
		return notify.Receipt{}, classify(&w.cfg, err, "incoming webhook")
	}
	w.cfg.Metrics.message(webhookKey)
	return notify.Receipt{}, nil
}

// Check has nothing to verify without posting: New checked the URL's shape.
func (w *Webhook) Check(context.Context) error { return nil }
