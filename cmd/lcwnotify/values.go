package main

// The types of single settings. Each Decode says what is expected when it refuses a
// value; the settings reader puts the variable's name in front. envconfig converts
// durations, numbers and booleans itself; these are the values it has no type for.

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/lcwnotify/lcwnotify/watcher/digest"
)

// byteSize is a number of bytes: 1048576, 64MiB, 64M, 1GiB, 1G (binary multiples, as
// nats-server reads them).
type byteSize int64

var sizeUnits = []struct {
	name string
	n    int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// Decode implements envconfig.Decoder.
func (b *byteSize) Decode(v string) error {
	num := strings.TrimRight(v, "KkMmGgTtIiBb")
	unit := strings.ToLower(v[len(num):])
	mult := map[string]int64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || mult == 0 || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size: use bytes or a number with KiB, MiB, GiB or TiB, such as 512MiB", v)
	}
	*b = byteSize(n * mult)
	return nil
}

// String writes b in the largest unit that divides it, as Decode reads it back.
func (b byteSize) String() string {
	for _, u := range sizeUnits {
		if b != 0 && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// hostPort is an address to listen on: host:port or :port.
type hostPort string

// Decode implements envconfig.Decoder.
func (h *hostPort) Decode(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q: want host:port or :port, such as :9090 or 127.0.0.1:9090", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 0 to 65535", v)
	}
	*h = hostPort(v)
	return nil
}

// parseEndpoint parses an absolute URL that must be https, or http on a loopback host
// (tests, simulators, local proxies), and carries no user information: the rule of
// outbound.CheckURL. Errors name the value as quoted says: the value itself, or "the
// value" for a secret.
func parseEndpoint(v, quoted string) (*url.URL, error) {
	return checkEndpoint(v, quoted, false)
}

// checkEndpoint is parseEndpoint, with http to any host accepted when allowHTTP.
func checkEndpoint(v, quoted string, allowHTTP bool) (*url.URL, error) {
	u, err := outbound.CheckURL(v, allowHTTP)
	switch {
	case errors.Is(err, outbound.ErrUserInfo):
		return nil, fmt.Errorf("%s carries user information: put credentials in their own settings", quoted)
	case errors.Is(err, outbound.ErrPlainHTTP):
		return nil, fmt.Errorf("%s must use https (http is accepted for localhost only)", quoted)
	case err != nil:
		return nil, fmt.Errorf("%s is not an absolute URL: want https://host/…", quoted)
	}
	return u, nil
}

// httpsURL is an absolute https URL (http on a loopback host), kept without a trailing
// slash so that paths join onto it with one.
type httpsURL string

// Decode implements envconfig.Decoder.
func (h *httpsURL) Decode(v string) error {
	u, err := parseEndpoint(v, strconv.Quote(v))
	if err != nil {
		return err
	}
	*h = httpsURL(strings.TrimSuffix(u.String(), "/"))
	return nil
}

// String implements fmt.Stringer.
func (h httpsURL) String() string { return string(h) }

// graphURL is a Graph root: scheme and host, such as https://graph.microsoft.com.
type graphURL string

// Decode implements envconfig.Decoder.
func (g *graphURL) Decode(v string) error {
	u, err := parseEndpoint(v, strconv.Quote(v))
	if err != nil {
		return err
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: give the root only, such as https://graph.microsoft.com (the version is LCW_GRAPH_VERSION)", v)
	}
	*g = graphURL(u.Scheme + "://" + u.Host)
	return nil
}

// String implements fmt.Stringer.
func (g graphURL) String() string { return string(g) }

// graphScope is an application-permission scope, which ends in /.default.
type graphScope string

// Decode implements envconfig.Decoder.
func (s *graphScope) Decode(v string) error {
	if !strings.HasSuffix(v, "/.default") || strings.ContainsAny(v, " \t") {
		return fmt.Errorf("%q: application permissions need a scope ending in /.default, such as https://graph.microsoft.com/.default", v)
	}
	*s = graphScope(v)
	return nil
}

// logLevel is a slog level by name: debug, info, warn (or warning), error.
type logLevel slog.Level

// Decode implements envconfig.Decoder.
func (l *logLevel) Decode(v string) error {
	switch strings.ToLower(v) {
	case "debug":
		*l = logLevel(slog.LevelDebug)
	case "info":
		*l = logLevel(slog.LevelInfo)
	case "warn", "warning":
		*l = logLevel(slog.LevelWarn)
	case "error":
		*l = logLevel(slog.LevelError)
	default:
		return fmt.Errorf("%q: use debug, info, warn or error", v)
	}
	return nil
}

// Level implements slog.Leveler.
func (l logLevel) Level() slog.Level { return slog.Level(l) }

// digestSpec is a digest schedule as digest.Parse reads it: daily@HH:MM or
// weekly@DAY HH:MM. Its time zone is another setting, applied when it is used.
type digestSpec string

// Decode implements envconfig.Decoder.
func (d *digestSpec) Decode(v string) error {
	s, err := digest.Parse(v, time.UTC)
	if err != nil {
		return err
	}
	*d = digestSpec(s.String())
	return nil
}

// timeZone is an IANA time zone name, as time.LoadLocation reads it from the zone
// database embedded in the binary (time/tzdata), so that it works on images without
// one.
type timeZone string

// Decode implements envconfig.Decoder.
func (z *timeZone) Decode(v string) error {
	// "Local" is the machine's zone, whatever it is: name the one the team lives in.
	if strings.EqualFold(v, "local") {
		return fmt.Errorf("%q: name the zone, such as Europe/Berlin, America/New_York or UTC", v)
	}
	if _, err := time.LoadLocation(v); err != nil {
		return fmt.Errorf("%q is not an IANA time zone: use a name such as Europe/Berlin, America/New_York or UTC", v)
	}
	*z = timeZone(v)
	return nil
}

// location returns the zone; UTC when none was set.
func (z timeZone) location() (*time.Location, error) {
	if z == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(string(z))
}

// instanceName names this process in logs, NATS connection names and the lease.
type instanceName string

// Decode implements envconfig.Decoder.
func (n *instanceName) Decode(v string) error {
	if !isGraphID(v) || len(v) > 64 {
		return fmt.Errorf("%q: use up to 64 letters, digits, '-', '_' and '.'", v)
	}
	*n = instanceName(v)
	return nil
}

// streamName is a JetStream stream name, as events accepts it.
type streamName string

// Decode implements envconfig.Decoder.
func (s *streamName) Decode(v string) error {
	if err := events.ValidateStreamName(v); err != nil {
		return withoutInvalidConfig(err)
	}
	*s = streamName(v)
	return nil
}

// subjectPrefix is the first subject token(s) of every event, as events accepts it.
type subjectPrefix string

// Decode implements envconfig.Decoder.
func (s *subjectPrefix) Decode(v string) error {
	if err := events.ValidatePrefix(v); err != nil {
		return withoutInvalidConfig(err)
	}
	*s = subjectPrefix(v)
	return nil
}

// withoutInvalidConfig drops the "invalid configuration: " events puts in front: the
// line already says which setting is wrong.
func withoutInvalidConfig(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), events.ErrInvalidConfig.Error()+": "))
}

// slackChannel is one Slack channel id or name.
type slackChannel string

// Decode implements envconfig.Decoder.
func (c *slackChannel) Decode(v string) error {
	if !isTarget(v) {
		return fmt.Errorf("%q: one channel id (C0123…) or name", v)
	}
	*c = slackChannel(v)
	return nil
}

// maxMention bounds LCW_SLACK_MENTION: it is prepended raw, and a message must keep room
// for its content.
const maxMention = 500

// slackMention is added raw to failure messages: one line, bounded.
type slackMention string

// Decode implements envconfig.Decoder.
func (m *slackMention) Decode(v string) error {
	if strings.ContainsAny(v, "\r\n") || len(v) > maxMention {
		return fmt.Errorf("one line of up to %d characters, such as <!subteam^S0123> or <@U0123>", maxMention)
	}
	*m = slackMention(v)
	return nil
}

// isTarget reports whether s can name a destination (a channel, a key's name) in a
// setting: one token, without the separators of lists and routes.
func isTarget(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n,:")
}

// isGraphID reports whether id can be put in a Graph URL path and a NATS subject token
// as is: Graph ids are GUIDs or composites of them joined with '_'.
func isGraphID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
