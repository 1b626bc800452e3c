package slack

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Defaults of Config.
const (
	DefaultAPIURL = "https://slack.com/api/"
	// DefaultInterval is Slack's documented pace for chat.postMessage and incoming
	// webhooks: about one message per second per channel.
	DefaultInterval = time.Second
	// DefaultRetryAfter is waited after a 429 that names no Retry-After.
	DefaultRetryAfter = 30 * time.Second
)

// maxMention bounds LCW_SLACK_MENTION: it is prepended raw, and a message must keep room
// for its content.
const maxMention = 500

// Config configures the Slack notifier. Set Token and Channel (exactly once, read back
// from history) or WebhookURL (at least once).
type Config struct {
	// Token is the bot token (LCW_SLACK_TOKEN). Secret.
	Token string
	// Channel is the default channel id or name (LCW_SLACK_CHANNEL). Ids are preferred:
	// reading a channel's history back needs its id.
	Channel string
	// WebhookURL is an incoming webhook URL (LCW_SLACK_WEBHOOK_URL). Secret.
	WebhookURL string
	// APIURL is the Web API base, with a trailing slash (LCW_SLACK_API_URL).
	APIURL string
	// Routes maps a workflow category (joiner, leaver, mover) or a workflow id to a
	// channel (LCW_SLACK_ROUTES, read with ParseRoutes); an id wins over a category.
	Routes map[string]string
	// Mention is prepended raw to failure messages (LCW_SLACK_MENTION), e.g. <!subteam^S0123>.
	Mention string
	// Actions puts the re-run buttons on failure messages (with LCW_ACTIONS_ALLOWED);
	// the bot token only: an incoming webhook's messages cannot be acted on.
	Actions bool
	// AdminCenterURL is the Entra admin center root messages link to; empty means
	// notify.DefaultAdminCenterURL.
	AdminCenterURL string
	// HTTPClient makes the requests; nil means internal/outbound's clients: no redirect
	// followed, every request bounded in time, an incoming webhook's answer read up to
	// outbound.DefaultMaxBody and a Web API answer up to maxAPIAnswer. The delivery stage
	// also bounds every call.
	HTTPClient *http.Client
	// Metrics may be nil.
	Metrics *Metrics
	// Interval is the pace of one channel, DefaultRetryAfter the wait after a 429 that
	// names none; zero means DefaultInterval and DefaultRetryAfter.
	Interval          time.Duration
	DefaultRetryAfter time.Duration
}

// Validate reports every problem with c, one per line, naming the setting. It makes no
// network call and never quotes a secret.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case c.Token == "" && c.WebhookURL == "":
		bad("set LCW_SLACK_TOKEN (with LCW_SLACK_CHANNEL) or LCW_SLACK_WEBHOOK_URL")
	case c.Token != "" && c.WebhookURL != "":
		bad("LCW_SLACK_TOKEN and LCW_SLACK_WEBHOOK_URL are both set: use one")
	}
	if c.Token != "" {
		if !strings.HasPrefix(c.Token, "xox") || strings.ContainsAny(c.Token, " \t\r\n") {
			bad("LCW_SLACK_TOKEN does not look like a Slack token: want the app's bot token, xoxb-…")
		}
		if c.Channel == "" {
			bad("LCW_SLACK_CHANNEL is required with LCW_SLACK_TOKEN: the channel id (C…) of the default channel")
		}
	}
	if c.Channel != "" && !validChannel(c.Channel) {
		bad("LCW_SLACK_CHANNEL %q: want a channel id (C0123ABCD) or name (#alerts)", c.Channel)
	}
	if c.WebhookURL != "" {
		if err := checkURL(c.WebhookURL); err != nil {
			bad("LCW_SLACK_WEBHOOK_URL: %v", err)
		}
		if len(c.Routes) > 0 {
			bad("LCW_SLACK_ROUTES needs LCW_SLACK_TOKEN: an incoming webhook posts to one channel")
		}
	}
	if c.APIURL != "" {
		if err := checkURL(c.APIURL); err != nil {
			bad("LCW_SLACK_API_URL: %v", err)
		}
	}
	for k, ch := range c.Routes {
		if k == "" || !validChannel(ch) {
			bad("LCW_SLACK_ROUTES: route %q → %q: want key:channel", k, ch)
		}
	}
	if len(c.Mention) > maxMention || strings.ContainsAny(c.Mention, "\r\n") {
		bad("LCW_SLACK_MENTION: at most %d characters on one line, e.g. <!subteam^S0123>", maxMention)
	}
	if c.AdminCenterURL != "" {
		if err := checkURL(c.AdminCenterURL); err != nil {
			bad("LCW_ADMIN_CENTER_URL: %v", err)
		}
	}
	if c.Interval < 0 || c.DefaultRetryAfter < 0 {
		bad("slack: durations must not be negative")
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.DefaultRetryAfter == 0 {
		c.DefaultRetryAfter = DefaultRetryAfter
	}
	if c.AdminCenterURL == "" {
		c.AdminCenterURL = notify.DefaultAdminCenterURL
	}
	routes := make(map[string]string, len(c.Routes))
	for k, v := range c.Routes {
		routes[strings.ToLower(k)] = v
	}
	c.Routes = routes
}

// maxAPIAnswer bounds a Web API answer: a page of conversations.history holds up to
// 200 messages of up to 40,000 characters each with their blocks and metadata, which
// this leaves room for many times over while keeping a runaway answer from taking the
// process's memory.
const maxAPIAnswer = 64 << 20

// clients are the HTTP clients of the Web API and of an incoming webhook: c.HTTPClient
// for both when set, else outbound's, each with the answer size it needs.
func (c *Config) clients() (api, hook *http.Client) {
	if c.HTTPClient != nil {
		return c.HTTPClient, c.HTTPClient
	}
	return outbound.NewClient(outbound.Options{MaxBody: maxAPIAnswer}), outbound.NewClient(outbound.Options{})
}

// checkURL accepts absolute https URLs, and http ones on loopback (local fakes), as
// outbound.CheckURL does. Its errors never quote the URL, which may be a secret.
func checkURL(raw string) error {
	switch _, err := outbound.CheckURL(raw, false); {
	case errors.Is(err, outbound.ErrPlainHTTP):
		return errors.New("want an https URL")
	case errors.Is(err, outbound.ErrUserInfo):
		return errors.New("carries user information")
	case err != nil:
		return errors.New("not an absolute URL")
	}
	return nil
}

func validChannel(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n,:")
}

// ParseRoutes reads LCW_SLACK_ROUTES: comma-separated key:channel pairs where key is a
// workflow category (joiner, leaver, mover) or a workflow id. Keys are case-insensitive.
func ParseRoutes(s string) (map[string]string, error) {
	routes := map[string]string{}
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, ch, ok := strings.Cut(pair, ":")
		k, ch = strings.TrimSpace(k), strings.TrimSpace(ch)
		if !ok || k == "" || !validChannel(ch) {
			return nil, fmt.Errorf("LCW_SLACK_ROUTES: %q: want key:channel, e.g. leaver:C0123ABCD", pair)
		}
		key := strings.ToLower(k)
		if prev, dup := routes[key]; dup {
			return nil, fmt.Errorf("LCW_SLACK_ROUTES: %q is routed twice (%s and %s)", k, prev, ch)
		}
		routes[key] = ch
	}
	return routes, nil
}
