package pagerduty

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
)

// Defaults of Config.
const (
	// DefaultURL is the Events API's root; events go to <root>/v2/enqueue. Accounts in
	// PagerDuty's EU service region use https://events.eu.pagerduty.com.
	DefaultURL = "https://events.pagerduty.com"
	// DefaultBurst and DefaultInterval pace one routing key as a token bucket that
	// holds DefaultBurst events and refills one per DefaultInterval: at most
	// DefaultBurst + 60s/DefaultInterval = 120 events in any 60 seconds, the "about 120
	// calls a minute per integration key" PagerDuty counts over a window looking back
	// 60 seconds. (An interval of 500 ms would leave no room for a burst at all.)
	DefaultBurst    = 10
	DefaultInterval = time.Minute / 110
	// DefaultRetryAfter is waited after a 429 that names no Retry-After: PagerDuty
	// suggests retrying 30 seconds apart.
	DefaultRetryAfter = 30 * time.Second
	// DefaultTimeout bounds one request.
	DefaultTimeout = 10 * time.Second
)

// Severities PagerDuty accepts in payload.severity.
var Severities = []string{"critical", "error", "warning", "info"}

// RoutingKeyLen is the length of an Events API v2 integration key.
const RoutingKeyLen = 32

// Config configures the PagerDuty notifier. RoutingKey or Routes (or both) name where
// alerts go.
type Config struct {
	// RoutingKey is the Events API v2 integration key of the service to page
	// (LCW_PAGERDUTY_ROUTING_KEY). Secret. Without it only routed workflows page.
	RoutingKey string
	// URL is the Events API's root (LCW_PAGERDUTY_URL); empty means DefaultURL.
	URL string
	// Routes maps a workflow category (joiner, leaver, mover) or a workflow id to the
	// routing key of another service (LCW_PAGERDUTY_ROUTES); an id wins over a
	// category. Secret, since the values are routing keys.
	Routes map[string]string
	// Severity is the severity of every failure's alert (LCW_PAGERDUTY_SEVERITY); empty
	// means error for failed results and warning for completedWithErrors.
	Severity string
	// AdminCenterURL is the Entra admin center alerts link to; empty means
	// notify.DefaultAdminCenterURL.
	AdminCenterURL string
	// HTTPClient makes the requests; nil means a client of its own. Redirects are never
	// followed either way.
	HTTPClient *http.Client
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
	// Interval, Burst and DefaultRetryAfter pace a routing key; zero means the defaults
	// above (tests scale them down).
	Interval          time.Duration
	Burst             int
	DefaultRetryAfter time.Duration
}

// Validate reports every problem with c, one per line, naming the setting. It makes no
// network call and never quotes a routing key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.RoutingKey == "" && len(c.Routes) == 0 {
		bad("set LCW_PAGERDUTY_ROUTING_KEY (or LCW_PAGERDUTY_ROUTES)")
	}
	if c.RoutingKey != "" {
		if err := CheckRoutingKey(c.RoutingKey); err != nil {
			bad("LCW_PAGERDUTY_ROUTING_KEY: %v", err)
		}
	}
	for k, key := range c.Routes {
		if err := CheckRoutingKey(key); k == "" || err != nil {
			bad("LCW_PAGERDUTY_ROUTES: route %q: want key:routing-key, the routing key %d letters and digits", k, RoutingKeyLen)
		}
	}
	if c.URL != "" {
		if err := notify.CheckEndpoint(c.URL); err != nil {
			bad("LCW_PAGERDUTY_URL: %v", err)
		}
	}
	if c.Severity != "" && !validSeverity(c.Severity) {
		bad("LCW_PAGERDUTY_SEVERITY %q: use critical, error, warning or info", c.Severity)
	}
	if c.AdminCenterURL != "" {
		if err := notify.CheckEndpoint(c.AdminCenterURL); err != nil {
			bad("LCW_ADMIN_CENTER_URL: %v", err)
		}
	}
	if c.Timeout < 0 || c.Interval < 0 || c.Burst < 0 || c.DefaultRetryAfter < 0 {
		bad("pagerduty: durations and the burst must not be negative")
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.AdminCenterURL == "" {
		c.AdminCenterURL = notify.DefaultAdminCenterURL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.DefaultRetryAfter == 0 {
		c.DefaultRetryAfter = DefaultRetryAfter
	}
}

// CheckRoutingKey reports whether key looks like an Events API v2 integration key: 32
// letters and digits. Its error never quotes the key.
func CheckRoutingKey(key string) error {
	if len(key) != RoutingKeyLen {
		return fmt.Errorf("want the %d-character integration key of the service's Events API v2 integration, got %d characters", RoutingKeyLen, len(key))
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return errors.New("an integration key is letters and digits only")
		}
	}
	return nil
}

func validSeverity(s string) bool { return slices.Contains(Severities, s) }
