// Package outbound holds the rules lcwnotify applies to the addresses it sends to — Graph,
// NATS listeners and every notification destination — and the HTTP client every
// destination posts with.
//
// A destination's URL is configuration an operator wrote and often a secret (an incoming
// webhook carries its credential in the path). So CheckURL accepts https, and clear text
// only to this machine unless the operator allowed it for that destination; NewClient
// builds a client that enforces the same rule on every request, follows no redirect,
// bounds each request in time and each response body in size, and whose own errors never
// quote a URL. Callers still redact the errors net/http wraps around them
// (notify.Redact): those name the URL called.
package outbound

import (
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
)

// IsLoopback reports whether host (a name or an IP address, without a port or brackets)
// is this machine: "localhost", or an address in 127.0.0.0/8 or ::1. Only loopback
// traffic may go in clear text, since nothing on the way can read it.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// The ways CheckURL refuses a URL. Their text never quotes the URL, which may be a
// secret; callers word them for their setting.
var (
	// ErrNotAbsolute: not an absolute http or https URL with a host.
	ErrNotAbsolute = errors.New("not an absolute http or https URL")
	// ErrUserInfo: the URL carries a user name or password, which belong in settings
	// of their own (and would be sent in clear in a Basic header to whatever answers).
	ErrUserInfo = errors.New("the URL carries user information")
	// ErrPlainHTTP: http to a host that is not this machine, not allowed.
	ErrPlainHTTP = errors.New("plain http to a host other than this machine")
)

// CheckURL parses raw and reports whether lcwnotify may send to it: an absolute https
// URL without user information, or http when the host is loopback (tests, simulators,
// local proxies) or allowHTTP says the operator accepts clear text to that destination.
// Errors are ErrNotAbsolute, ErrUserInfo or ErrPlainHTTP, never quoting raw.
func CheckURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, ErrNotAbsolute
	}
	if u.User != nil {
		return nil, ErrUserInfo
	}
	if err := checkScheme(u, allowHTTP); err != nil {
		return nil, err
	}
	return u, nil
}

// checkScheme is CheckURL's rule on the scheme, for a parsed URL.
func checkScheme(u *url.URL, allowHTTP bool) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme != "http":
		return ErrNotAbsolute
	case allowHTTP || IsLoopback(u.Hostname()):
		return nil
	}
	return ErrPlainHTTP
}

// minSecretPart is the length from which a part of a URL counts as possibly secret:
// tokens are long, while path words such as "hooks" or "v2" are not, and redacting them
// from a receiver's answer would make it unreadable.
const minSecretPart = 8

// URLSecrets returns the parts of raw that may carry a credential and that a receiver
// could echo back in an error page: the URL itself, its path and query as requested,
// and every path segment and query value of minSecretPart characters or more, longest
// first so that replacing them in order leaves no fragment. Pass them to the redaction
// of any text a destination sends back.
func URLSecrets(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	add := func(s string) {
		if len(s) >= minSecretPart {
			out = append(out, s)
			if un, err := url.PathUnescape(s); err == nil && un != s && len(un) >= minSecretPart {
				out = append(out, un)
			}
		}
	}
	add(u.Host + u.RequestURI())
	add(u.RequestURI())
	add(u.EscapedPath())
	add(u.RawQuery)
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		add(seg)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
			add(url.QueryEscape(v))
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(out)
}
