package notify

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
)

// HTTPClient returns the client a sink posts to its destination with: base's transport
// (nil: net/http's default, with proxies from the environment), no redirect followed —
// a redirected POST would lose the message, or carry its credential to a host nobody
// configured — and every request, reading the answer included, ended after timeout.
// Sinks read answers through io.LimitReader. It is the one place to switch to
// internal/outbound's client, which enforces the same rules.
func HTTPClient(base *http.Client, timeout time.Duration) *http.Client {
	c := &http.Client{}
	if base != nil {
		copied := *base
		c = &copied
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout <= 0 || c.Timeout > timeout {
		c.Timeout = timeout
	}
	return c
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
// host only: local fakes and proxies), without user information. Its errors never quote
// the URL, which may itself be a secret.
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return errors.New("not an absolute URL")
	case u.User != nil:
		return errors.New("the URL carries user information: put credentials in their own settings")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && outbound.IsLoopback(u.Hostname()):
		return nil
	}
	return errors.New("want an https URL (http is accepted for localhost only)")
}
