package slack

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/notify"
)

// outcome is what a failed Slack call means for the notifier.
type outcome struct {
	// err is classified for the Dispatcher and free of secrets.
	err error
	// limited reports a rate limit: wait retryAfter, then post the same message again.
	limited    bool
	retryAfter time.Duration
	// definite reports that Slack certainly did not post the message, so its ledger entry
	// can be released. Otherwise (a 5xx, an internal_error, a timeout, a connection lost
	// mid-request) it may have, and the next attempt reads the channel's history first.
	definite bool
	// messageOnly reports a refusal of this message alone (its layout, its size): other
	// messages to the same channel may still go.
	messageOnly bool
}

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

// classify turns an error from slack-go into an outcome. op names the call and where
// ("chat.postMessage to C123"); secrets are removed from the error's text.
func (n *Notifier) classify(err error, op string) outcome {
	red := notify.Redact(err, n.cfg.Token, n.cfg.WebhookURL)
	wrap := func(format string, args ...any) error {
		return fmt.Errorf("slack %s: "+format, append([]any{op}, args...)...)
	}
	limited := func(after time.Duration) outcome {
		e := &notify.Error{Err: wrap("rate limited: %w", red), Reason: "rate_limited", RetryAfter: after}
		return outcome{err: e, limited: true, retryAfter: after, definite: true}
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return limited(rl.RetryAfter)
	}
	if _, ok := errors.AsType[*strconv.NumError](err); ok {
		// slack-go fails to read a Retry-After given as a date: wait the default.
		return limited(n.cfg.DefaultRetryAfter)
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return limited(n.cfg.DefaultRetryAfter)
		case sc.Code >= 500:
			return outcome{err: notify.Retryable(wrap("%w", red), 0)}
		case sc.Code == http.StatusRequestTimeout:
			return outcome{err: notify.Retryable(wrap("%w", red), 0)}
		}
		hint := permanentWebhookStatus[sc.Code]
		if hint == "" {
			hint = "Slack refused the request: check the Slack settings"
		}
		return outcome{err: notify.Permanent(wrap("%s", hint), "http_"+strconv.Itoa(sc.Code)), definite: true, messageOnly: sc.Code == http.StatusBadRequest}
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		code := se.Err
		if hint, ok := permanentCodes[code]; ok {
			return outcome{err: notify.Permanent(wrap("%s (%s)", hint, code), code), definite: true, messageOnly: messageCodes[code]}
		}
		if code == "ratelimited" {
			return limited(n.cfg.DefaultRetryAfter)
		}
		// internal_error, fatal_error, service_unavailable and codes Slack adds later may
		// pass. Slack documents internal_error and fatal_error as possibly partly done,
		// so the message may be in the channel: like a 5xx, the outcome is unknown and
		// the next attempt reads the channel back.
		return outcome{err: &notify.Error{Err: wrap("%s", notify.Reason(code)), Reason: notify.Reason(code)}}
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return outcome{err: notify.Retryable(wrap("%w", red), 0), definite: true}
	}
	return outcome{err: notify.Retryable(wrap("%w", red), 0)}
}
