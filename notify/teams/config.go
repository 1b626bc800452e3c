package teams

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
)

// Defaults of Config.
const (
	// DefaultInterval paces one webhook: Teams throttles more than four requests a
	// second to a webhook, and a message at most every half second, one at a time, stays
	// well under that while grouping what queues meanwhile.
	DefaultInterval = 500 * time.Millisecond
	// DefaultRetryAfter is waited after a 429 that names no Retry-After.
	DefaultRetryAfter = 5 * time.Second
	// DefaultTimeout bounds one request.
	DefaultTimeout = 15 * time.Second
	// DefaultMaxCardBytes bounds a request's body. Teams takes messages of about 28 KB,
	// measured after it has re-encoded the card its own way; 24,000 bytes of UTF-8 JSON
	// leave room for that.
	DefaultMaxCardBytes = 24000
	// minCardBytes is the smallest budget a card can be laid out in.
	minCardBytes = 6000
)

// Config configures the Teams notifier. WebhookURL or Routes (or both) name where cards
// go.
type Config struct {
	// WebhookURL is the URL of the Workflows flow "post to a channel when a webhook
	// request is received" (LCW_TEAMS_WEBHOOK_URL). Secret: its sig parameter is the
	// credential.
	WebhookURL string
	// Routes maps a workflow category (joiner, leaver, mover) or a workflow id to the
	// webhook URL of another channel's flow (LCW_TEAMS_ROUTES); an id wins over a
	// category. Secret.
	Routes map[string]string
	// AdminCenterURL is the Entra admin center cards link to; empty means
	// notify.DefaultAdminCenterURL.
	AdminCenterURL string
	// HTTPClient makes the requests; nil means a client of its own. Redirects are never
	// followed either way.
	HTTPClient *http.Client
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
	// Interval, DefaultRetryAfter and MaxCardBytes default to the constants above when
	// zero (tests scale them down).
	Interval          time.Duration
	DefaultRetryAfter time.Duration
	MaxCardBytes      int
}

// Validate reports every problem with c, one per line, naming the setting. It makes no
// network call and never quotes a webhook URL.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.WebhookURL == "" && len(c.Routes) == 0 {
		bad("set LCW_TEAMS_WEBHOOK_URL (or LCW_TEAMS_ROUTES)")
	}
	if c.WebhookURL != "" {
		if err := notify.CheckEndpoint(c.WebhookURL); err != nil {
			bad("LCW_TEAMS_WEBHOOK_URL: %v", err)
		}
	}
	for k, u := range c.Routes {
		if err := notify.CheckEndpoint(u); k == "" || err != nil {
			bad("LCW_TEAMS_ROUTES: route %q: want key:webhook-url, the URL https", k)
		}
	}
	if c.AdminCenterURL != "" {
		if err := notify.CheckEndpoint(c.AdminCenterURL); err != nil {
			bad("LCW_ADMIN_CENTER_URL: %v", err)
		}
	}
	if c.Timeout < 0 || c.Interval < 0 || c.DefaultRetryAfter < 0 {
		bad("teams: durations must not be negative")
	}
	if c.MaxCardBytes != 0 && c.MaxCardBytes < minCardBytes {
		bad("teams: a card needs at least %d bytes", minCardBytes)
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.AdminCenterURL == "" {
		c.AdminCenterURL = notify.DefaultAdminCenterURL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.DefaultRetryAfter == 0 {
		c.DefaultRetryAfter = DefaultRetryAfter
	}
	if c.MaxCardBytes == 0 {
		c.MaxCardBytes = DefaultMaxCardBytes
	}
}

// RetiredConnector reports whether raw is the URL of an Office 365 connector's incoming
// webhook, which Microsoft retired: such a URL no longer takes cards.
func RetiredConnector(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return strings.HasSuffix(h, ".webhook.office.com") || h == "outlook.office.com" || h == "outlook.office365.com"
}
