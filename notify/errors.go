package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error is a delivery failure classified by the sink that saw it. Sinks build it with
// Retryable, RateLimited, Permanent, Refused and Unsent; the Stage and the Dispatcher act
// on it, and nothing else interprets errors.
type Error struct {
	// Err is the failure, already free of secrets.
	Err error
	// Reason is a short lower_snake_case label for metrics and dead letters, such as
	// "timeout", "http_503" or "channel_not_found".
	Reason string
	// Permanent reports that retrying cannot help: the event is dead-lettered at once.
	Permanent bool
	// RetryAfter is how long the destination asked us to wait, zero when it named nothing.
	// Nothing is sent to the destination key sooner.
	RetryAfter time.Duration
	// Deferred reports that the sink did not try: another delivery of the same event is
	// under way (in another replica, or in this process). Not a failure: it is retried
	// after RetryAfter without a warning or a failure metric.
	Deferred bool
	// Unsent reports that the destination certainly did not take the message (a refused
	// connection, a 429, a refusal of the request). Otherwise it may have, and the next
	// attempt reads the destination back first where the sink can.
	Unsent bool
	// Limited reports a rate limit: the Stage holds the key for RetryAfter and sends the
	// same message again, without counting a failed attempt.
	Limited bool
	// Content reports a refusal of this message for what it holds (its layout, its
	// size): other messages to the same key may still go, so the Stage posts the
	// notifications of a refused batch again in smaller batches.
	Content bool
}

// Error returns the text of the underlying failure.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying failure.
func (e *Error) Unwrap() error { return e.Err }

// Retryable classifies err as a failure that may pass if tried again later (a 5xx, a
// timeout, a refused connection), no sooner than after when after > 0. Its reason is
// derived from err. Whether the destination took the message is unknown unless Unsent
// says it did not.
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Reason: reasonOf(err), RetryAfter: after}
}

// RateLimited classifies err as the destination's rate limit: nothing was taken, and
// nothing may be sent to the key for after (zero: the sink's own default wait, which it
// should pass instead).
func RateLimited(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Reason: "rate_limited", RetryAfter: after, Limited: true, Unsent: true}
}

// Permanent classifies err as a failure that retrying cannot fix (revoked credentials, an
// unknown channel, a malformed event). reason labels it in metrics and dead letters; err's
// text should say what to fix.
func Permanent(err error, reason string) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Reason: Reason(reason), Permanent: true}
}

// Refused classifies err as the destination refusing one message for its content
// (Slack's invalid_blocks or msg_too_long, a 400 for the payload): nothing was taken,
// and the notifications it carried are sent again in smaller messages, so that only one
// the destination will not take at all is dead-lettered.
func Refused(err error, reason string) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Reason: Reason(reason), Permanent: true, Unsent: true, Content: true}
}

// Unsent marks err, classified or not, as a failure after which the destination
// certainly did not take the message. An unclassified err is classified as retryable.
func Unsent(err error) error {
	if err == nil {
		return nil
	}
	c := *Classify(err)
	c.Unsent = true
	return &c
}

// Defer reports that the sink left the event alone because another delivery of it is
// under way, and that it should come back after after.
func Defer(err error, reason string, after time.Duration) error {
	return &Error{Err: err, Reason: Reason(reason), RetryAfter: after, Deferred: true, Unsent: true}
}

// Classify returns the classification of err. An error no sink classified is treated as
// retryable: losing a notification is worse than trying once more.
func Classify(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	return &Error{Err: err, Reason: reasonOf(err)}
}

// Reason turns s into a label safe for a metric: lower case letters, digits and '_', at
// most 40 characters, "unknown" when nothing is left.
func Reason(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '-' || r == ' ' || r == '.' || r == ':':
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// reasonOf labels an unclassified failure by its kind.
func reasonOf(err error) string {
	if sc, ok := errors.AsType[interface {
		error
		HTTPStatusCode() int
	}](err); ok {
		return "http_" + strconv.Itoa(sc.HTTPStatusCode())
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection"
	}
	if ne, ok := errors.AsType[net.Error](err); ok {
		if ne.Timeout() {
			return "timeout"
		}
		return "connection"
	}
	return "error"
}

// Redact hides secrets in err's text: every non-empty secret, and the URL of any
// *url.Error in its chain, is replaced by [REDACTED]. Use it on errors from HTTP clients,
// whose text carries the URL they called (an incoming webhook URL is itself a secret).
// errors.Is and errors.As still see the original chain so that it can be classified, but
// nothing that prints the returned error shows a secret.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		secrets = append(secrets, strconv.Quote(ue.URL), ue.URL)
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[REDACTED]")
		}
	}
	return &redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// StatusError reports an HTTP response a sink did not accept. It carries the status code
// so that Retryable labels it, and never the URL.
type StatusError struct {
	Code int
	// Body is the start of the response body, for the operator; sinks must not put
	// secrets in it.
	Body string
}

// Error describes the response.
func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("HTTP %d", e.Code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body)
}

// HTTPStatusCode returns the response's status code.
func (e *StatusError) HTTPStatusCode() int { return e.Code }

// ParseRetryAfter reads an HTTP Retry-After value, in seconds or as an HTTP date, relative
// to now. It reports false when v is empty or unreadable; a date in the past gives zero.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
