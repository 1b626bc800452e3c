package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lcwnotify/lcwnotify/notify/webhook"
)

// redacted is what a set secret prints as, wherever it is printed.
const redacted = "[redacted]"

// secret holds a credential read from the environment. Every way of printing it (fmt's
// verbs, slog, JSON, text marshalling) shows "[redacted]", or "" when unset, so a secret
// can sit in a logged or formatted struct without reaching the output. The value sits
// behind a pointer because fmt never follows a pointer to a string: a struct that holds a
// secret in an unexported field, where fmt cannot call the methods below, prints an
// address. Reveal is the one way to the value, for the code that authenticates with it.
//
// A field of a type that has Reveal is marked (secret) in help, and its value is never
// quoted in a configuration error.
type secret struct{ v *string }

func newSecret(v string) secret {
	if v == "" {
		return secret{}
	}
	return secret{v: &v}
}

// Decode implements envconfig.Decoder.
func (s *secret) Decode(v string) error {
	*s = newSecret(v)
	return nil
}

// Reveal returns the secret itself.
func (s secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsSet reports whether a value was given.
func (s secret) IsSet() bool { return s.v != nil }

// String implements fmt.Stringer.
func (s secret) String() string {
	if !s.IsSet() {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, for %#v.
func (s secret) GoString() string { return fmt.Sprintf("secret(%q)", s.String()) }

// Format implements fmt.Formatter, so that no verb (%x, %q, %v, %+v) reaches the value.
func (s secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}

// LogValue implements slog.LogValuer.
func (s secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler, which JSON encoders use too.
func (s secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// secretURL is a secret that is an absolute http or https URL without user
// information: a destination's URL, which often carries its credential (an incoming
// webhook's in the path). Whether it may be http is the destination's rule
// (destinationHTTPS in rules.go), which knows its ALLOW_HTTP setting.
type secretURL struct{ secret }

// Decode implements envconfig.Decoder. Its errors never quote the URL.
func (u *secretURL) Decode(v string) error {
	if _, err := checkEndpoint(v, "the value", true); err != nil {
		return err
	}
	u.secret = newSecret(v)
	return nil
}

// slackBotToken is a Slack bot token (xoxb-…) or user token (xoxp-…).
type slackBotToken struct{ secret }

// Decode implements envconfig.Decoder.
func (t *slackBotToken) Decode(v string) error {
	if !(strings.HasPrefix(v, "xoxb-") || strings.HasPrefix(v, "xoxp-")) || strings.ContainsAny(v, " \t\r\n") {
		return errors.New("does not look like a Slack token: want a bot token xoxb-… (or a user token xoxp-…)")
	}
	t.secret = newSecret(v)
	return nil
}

// webhookSecret is a Standard Webhooks signing secret, whsec_ and the key in base64.
type webhookSecret struct{ secret }

// Decode implements envconfig.Decoder. webhook.ParseSecret's errors never quote it.
func (s *webhookSecret) Decode(v string) error {
	if _, err := webhook.ParseSecret(v); err != nil {
		return err
	}
	s.secret = newSecret(v)
	return nil
}

// slackAppToken is a Slack app-level token (xapp-…), for Socket Mode.
type slackAppToken struct{ secret }

// Decode implements envconfig.Decoder.
func (t *slackAppToken) Decode(v string) error {
	if !strings.HasPrefix(v, "xapp-") || strings.ContainsAny(v, " \t\r\n") {
		return errors.New("does not look like an app-level token: want xapp-… (Basic Information → App-Level Tokens, scope connections:write)")
	}
	t.secret = newSecret(v)
	return nil
}

// slackSigningSecret is a Slack app's signing secret (Basic Information → App
// Credentials): today 32 hexadecimal digits; any run of letters and digits of at least
// 16 is taken.
type slackSigningSecret struct{ secret }

// Decode implements envconfig.Decoder. Its errors never quote the value.
func (s *slackSigningSecret) Decode(v string) error {
	ok := len(v) >= 16 && len(v) <= 256
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !ok {
		return errors.New("does not look like a signing secret: copy the app's Signing Secret (Basic Information → App Credentials), not a token")
	}
	s.secret = newSecret(v)
	return nil
}

// minUITokenLength keeps the status page's token out of guessing range.
const minUITokenLength = 32

// uiToken is the token of the status page and its API.
type uiToken struct{ secret }

// Decode implements envconfig.Decoder. Its errors never quote the token.
func (t *uiToken) Decode(v string) error {
	switch {
	case strings.ContainsAny(v, " \t\r\n"):
		return errors.New("holds white space: use a token such as the output of openssl rand -base64 32")
	case len(v) < minUITokenLength:
		return fmt.Errorf("is %d characters long: use at least %d, such as the output of openssl rand -base64 32", len(v), minUITokenLength)
	}
	t.secret = newSecret(v)
	return nil
}
