package notify

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
)

// HTTPClient returns the client a sink posts to its destination with: internal/outbound's
// (https or loopback checked again on every request, no redirect followed, every request
// and its answer ended after timeout, at most 1 MiB of an answer read), over base's
// transport (nil: a clone of net/http's default, with proxies from the environment).
func HTTPClient(base *http.Client, timeout time.Duration) *http.Client {
	var rt http.RoundTripper
	if base != nil {
		rt = base.Transport
	}
	return outbound.NewClient(outbound.Options{Timeout: timeout, MaxBody: 1 << 20, Transport: rt})
}

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

// CheckEndpoint accepts the URL of a destination: absolute, https (http on a loopback
// host only: local fakes and proxies), without user information (outbound.CheckURL). Its
// errors never quote the URL, which may itself be a secret.
func CheckEndpoint(raw string) error {
	_, err := outbound.CheckURL(raw, false)
	if errors.Is(err, outbound.ErrPlainHTTP) {
		return fmt.Errorf("%w: want an https URL", err)
	}
	return err
}
