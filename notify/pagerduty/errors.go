package pagerduty

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
)

// maxErrorText bounds how much of PagerDuty's answer goes into an error.
const maxErrorText = 300

// transportError classifies a request that got no answer.
func transportError(err error, routingKey string) error {
	return notify.RequestFailed("pagerduty: post", err, routingKey)
}

// classify turns PagerDuty's answer into nil (202, or any 2xx) or a classified error,
// as PagerDuty documents its codes: 400 is an event it will never take (dead-lettered,
// with its message), 429 and 5xx are retried after a while. The routing key never
// appears in the error, even where PagerDuty quotes it.
func classify(cfg *Config, resp *http.Response, r *response, raw []byte, now time.Time, routingKey string) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	what := pagerdutySays(r, raw, routingKey)
	serr := &notify.StatusError{Code: code, Body: what}
	reason := "http_" + strconv.Itoa(code)
	after, _ := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	switch {
	case code == http.StatusTooManyRequests:
		if after <= 0 {
			after = cfg.DefaultRetryAfter
		}
		return notify.RateLimited(fmt.Errorf("pagerduty: rate limited (%w)", serr), after)
	case code >= 500 || code == http.StatusRequestTimeout:
		return notify.Retryable(fmt.Errorf("pagerduty: the Events API failed (%w)", serr), after)
	case code == http.StatusBadRequest && mentionsRoutingKey(r):
		return notify.Unsent(notify.Permanent(fmt.Errorf("pagerduty: the routing key was refused (%w): set LCW_PAGERDUTY_ROUTING_KEY or the route to the integration key of an Events API v2 integration", serr), "invalid_routing_key"))
	case code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge:
		// This event, not the others: it is dead-lettered with PagerDuty's reason.
		return notify.Refused(fmt.Errorf("pagerduty: refused the event (%w): report this as an lcwnotify bug", serr), "invalid_event")
	case code >= 300 && code < 400:
		return notify.Unsent(notify.Permanent(fmt.Errorf("pagerduty: the Events API redirected (%w): set LCW_PAGERDUTY_URL to its root, such as %s", serr, DefaultURL), reason))
	case code == http.StatusNotFound:
		return notify.Unsent(notify.Permanent(fmt.Errorf("pagerduty: no Events API at LCW_PAGERDUTY_URL (%w): set it to the root, such as %s", serr, DefaultURL), reason))
	}
	return notify.Unsent(notify.Permanent(fmt.Errorf("pagerduty: refused the request (%w): check LCW_PAGERDUTY_URL and the routing keys", serr), reason))
}

// pagerdutySays is PagerDuty's own account of a refusal: its message and errors, or the
// start of the body when it is not PagerDuty's JSON.
func pagerdutySays(r *response, raw []byte, routingKey string) string {
	var parts []string
	if r.Status != "" {
		parts = append(parts, r.Status)
	}
	if r.Message != "" {
		parts = append(parts, r.Message)
	}
	if len(r.Errors) > 0 {
		parts = append(parts, strings.Join(r.Errors, "; "))
	}
	if len(parts) == 0 {
		return notify.Snippet(raw, maxErrorText, routingKey)
	}
	return notify.Snippet([]byte(strings.Join(parts, ": ")), maxErrorText, routingKey)
}

// mentionsRoutingKey reports whether a 400 blames the routing key (its length, or an
// unknown key), which refuses every event sent with it, not only this one.
func mentionsRoutingKey(r *response) bool {
	for _, e := range r.Errors {
		l := strings.ToLower(e)
		if strings.Contains(l, "routing key") || strings.Contains(l, "routing_key") || strings.Contains(l, "service key") || strings.Contains(l, "integration key") {
			return true
		}
	}
	return false
}
