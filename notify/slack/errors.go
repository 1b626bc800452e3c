package slack

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Slack error codes, from the Web API's documentation, that retrying cannot fix, with
// what the operator should do.
var permanentCodes = map[string]string{
	"invalid_auth":                        "Slack rejected the bot token: set LCW_SLACK_TOKEN to a valid bot token (xoxb-…)",
	"not_authed":                          "Slack received no token: set LCW_SLACK_TOKEN",
	"account_inactive":                    "the bot token's user or app was deactivated: reinstall the Slack app and set LCW_SLACK_TOKEN",
	"token_revoked":                       "the bot token was revoked: reinstall the Slack app and set LCW_SLACK_TOKEN",
	"token_expired":                       "the bot token expired: set LCW_SLACK_TOKEN to a current bot token",
	"no_permission":                       "the bot may not post here: check the app's permissions and the channel's posting settings",
	"missing_scope":                       "the bot token lacks a scope: add chat:write (and channels:history, groups:history) and reinstall the app",
	"not_allowed_token_type":              "LCW_SLACK_TOKEN is not a bot token: use the app's xoxb- token",
	"channel_not_found":                   "no such channel visible to the bot: check LCW_SLACK_CHANNEL and LCW_SLACK_ROUTES, and for a private channel invite the bot",
	"not_in_channel":                      "the bot is not in the channel: invite it (/invite @your-app)",
	"is_archived":                         "the channel is archived: unarchive it or route these notifications elsewhere (LCW_SLACK_ROUTES)",
	"restricted_action":                   "the workspace forbids the bot to post in this channel: ask a Slack admin or route elsewhere",
	"restricted_action_read_only_channel": "the channel is read-only: route these notifications elsewhere",
	"team_access_not_granted":             "the token has no access to this workspace: reinstall the app there",
	"ekm_access_denied":                   "the workspace's encryption keys are unavailable to Slack: ask a Slack admin",
	"invalid_blocks":                      "Slack refused the message layout (invalid_blocks): report this as an lcwnotify bug",
	"msg_too_long":                        "Slack refused the message as too long: report this as an lcwnotify bug",
	"invalid_metadata_format":             "Slack refused the message metadata: report this as an lcwnotify bug",
	"invalid_metadata_schema":             "Slack refused the message metadata: report this as an lcwnotify bug",
	"invalid_arguments":                   "Slack refused the request's arguments: report this as an lcwnotify bug",
}

// messageCodes are refusals of one message, not of the channel or the token.
var messageCodes = map[string]bool{
	"invalid_blocks": true, "msg_too_long": true, "invalid_metadata_format": true,
	"invalid_metadata_schema": true, "invalid_arguments": true,
}

// Incoming webhook responses (Slack sends the code as the body, which slack-go drops).
var permanentWebhookStatus = map[int]string{
	http.StatusBadRequest: "Slack refused the incoming webhook's payload (HTTP 400 invalid_payload): report this as an lcwnotify bug",
	http.StatusForbidden:  "Slack forbids this incoming webhook to post (HTTP 403): check the channel's posting settings or create a new webhook",
	http.StatusNotFound:   "Slack does not know this incoming webhook or its channel (HTTP 404): create a new one and set LCW_SLACK_WEBHOOK_URL",
	http.StatusGone:       "the incoming webhook's channel was archived or deleted (HTTP 410): create a new webhook and set LCW_SLACK_WEBHOOK_URL",
}

// classify turns an error from slack-go into a classified notify error. op names the
// call and where ("chat.postMessage to C123"); secrets are removed from the error's text.
// Rate limits are counted in m.
func classify(cfg *Config, err error, op string) error {
	red := notify.Redact(err, append(outbound.URLSecrets(cfg.WebhookURL), cfg.Token)...)
	wrap := func(format string, args ...any) error {
		return fmt.Errorf("slack %s: "+format, append([]any{op}, args...)...)
	}
	limited := func(after time.Duration) error {
		cfg.Metrics.rateLimited(after)
		return notify.RateLimited(wrap("rate limited: %w", red), after)
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return limited(rl.RetryAfter)
	}
	if _, ok := errors.AsType[*strconv.NumError](err); ok {
		// slack-go fails to read a Retry-After given as a date: wait the default.
		return limited(cfg.DefaultRetryAfter)
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return limited(cfg.DefaultRetryAfter)
		case sc.Code >= 500, sc.Code == http.StatusRequestTimeout:
			return notify.Retryable(wrap("%w", red), 0)
		}
		hint := permanentWebhookStatus[sc.Code]
		if sc.Code >= 300 && sc.Code < 400 {
			// outbound's clients follow no redirect: Slack's endpoints do not move.
			hint = fmt.Sprintf("Slack's answer was a redirect (HTTP %d), which lcwnotify does not follow: check LCW_SLACK_WEBHOOK_URL or LCW_SLACK_API_URL", sc.Code)
		}
		if hint == "" {
			hint = "Slack refused the request: check the Slack settings"
		}
		reason := "http_" + strconv.Itoa(sc.Code)
		if sc.Code == http.StatusBadRequest {
			return notify.Refused(wrap("%s", hint), reason)
		}
		return notify.Unsent(notify.Permanent(wrap("%s", hint), reason))
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		code := se.Err
		if hint, ok := permanentCodes[code]; ok {
			if messageCodes[code] {
				return notify.Refused(wrap("%s (%s)", hint, code), code)
			}
			return notify.Unsent(notify.Permanent(wrap("%s (%s)", hint, code), code))
		}
		if code == "ratelimited" {
			return limited(cfg.DefaultRetryAfter)
		}
		// internal_error, fatal_error, service_unavailable and codes Slack adds later may
		// pass. Slack documents internal_error and fatal_error as possibly partly done,
		// so the message may be in the channel: like a 5xx, the outcome is unknown and
		// the next attempt reads the channel back.
		return &notify.Error{Err: wrap("%s", notify.Reason(code)), Reason: notify.Reason(code)}
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return notify.Unsent(notify.Retryable(wrap("%w", red), 0))
	}
	return notify.Retryable(wrap("%w", red), 0)
}
