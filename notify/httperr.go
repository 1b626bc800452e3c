package notify

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode/utf8"
)

// RequestFailed classifies the failure of an HTTP request that got no answer (a refused
// connection, a timeout, a reset): retryable, and Unsent when the connection was never
// made. what names the request ("pagerduty: post"); net/http's errors quote the URL, so
// the URL of the *url.Error and every secret are redacted from the text.
func RequestFailed(what string, err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	c := Retryable(fmt.Errorf("%s: %w", what, Redact(err, secrets...)), 0)
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		c = Unsent(c)
	}
	return c
}

// Snippet returns the start of a response body fit for an error message: at most n
// bytes, cut at a character, on one line, with every secret replaced by [REDACTED].
func Snippet(body []byte, n int, secrets ...string) string {
	if len(body) > n {
		for n > 0 && !utf8.RuneStart(body[n]) {
			n--
		}
		body = body[:n]
	}
	s := Clean(string(body))
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}
