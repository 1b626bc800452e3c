package main

import (
	"fmt"
	"io"
	"log/slog"
)

// redacted is what a set secret prints as, wherever it is printed.
const redacted = "[redacted]"

// secret holds a credential read from the environment. Every way of printing it (fmt's
// verbs, slog, JSON, text marshalling) shows "[redacted]", or "" when unset, so a secret
// can sit in a logged or formatted struct without reaching the output. Reveal is the one
// way to the value, for the code that authenticates with it.
type secret struct{ v string }

func newSecret(v string) secret { return secret{v: v} }

// Reveal returns the secret itself.
func (s secret) Reveal() string { return s.v }

// IsSet reports whether a value was given.
func (s secret) IsSet() bool { return s.v != "" }

// String implements fmt.Stringer.
func (s secret) String() string {
	if s.v == "" {
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
