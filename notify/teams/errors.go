package teams

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
)

// maxErrorText bounds how much of a refusal's body goes into an error.
const maxErrorText = 300

// classify turns a webhook's answer into nil (2xx) or a classified error: 429 waits for
// its Retry-After, 5xx and 408 are retried, 400 and 413 refuse this card only (its
// notifications are sent again in smaller cards, and one Teams will not take at all is
// dead-lettered), and any other answer means the webhook itself is unusable. The body
// goes into the error bounded and without the URL or its signature.
func classify(cfg *Config, key string, resp *http.Response, raw []byte, now time.Time, hook string) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	serr := &notify.StatusError{Code: code, Body: notify.Snippet(raw, maxErrorText, secretsOf(hook)...)}
	reason := "http_" + strconv.Itoa(code)
	after, _ := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	switch {
	case code == http.StatusTooManyRequests:
		if after <= 0 {
			after = cfg.DefaultRetryAfter
		}
		return notify.RateLimited(fmt.Errorf("teams: the webhook of %s is throttling (%w)", key, serr), after)
	case code >= 500 || code == http.StatusRequestTimeout:
		return notify.Retryable(fmt.Errorf("teams: the webhook of %s failed (%w)", key, serr), after)
	case code == http.StatusRequestEntityTooLarge:
		return notify.Refused(fmt.Errorf("teams: the webhook of %s refused a card as too large (%w)", key, serr), "card_too_large")
	case code == http.StatusBadRequest:
		return notify.Refused(fmt.Errorf("teams: the webhook of %s refused a card (%w): report this as an lcwnotify bug", key, serr), "card_refused")
	case code >= 300 && code < 400:
		return notify.Unsent(notify.Permanent(fmt.Errorf("teams: the webhook of %s redirected (%w): set its URL to the one the flow's trigger shows", key, serr), reason))
	case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound:
		return notify.Unsent(notify.Permanent(fmt.Errorf("teams: the webhook of %s refused the request (%w): its flow was deleted or turned off, or its URL changed; copy the URL from the flow's trigger again", key, serr), reason))
	}
	return notify.Unsent(notify.Permanent(fmt.Errorf("teams: the webhook of %s refused the request (%w)", key, serr), reason))
}

// secretsOf returns what of a webhook URL must not appear in an error: the URL itself
// and its signature.
func secretsOf(hook string) []string {
	secrets := []string{hook}
	if u, err := url.Parse(hook); err == nil {
		if sig := u.Query().Get("sig"); sig != "" {
			secrets = append(secrets, sig, url.QueryEscape(sig))
		}
	}
	return secrets
}
