package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name          string
		err           error
		wantPermanent bool
		wantReason    string
		wantAfter     time.Duration
	}{
		{"permanent", Permanent(errors.New("bad token"), "invalid_auth"), true, "invalid_auth", 0},
		{"retryable with Retry-After", Retryable(&StatusError{Code: 429}, 7*time.Second), false, "http_429", 7 * time.Second},
		{"wrapped status", Retryable(fmt.Errorf("post: %w", &StatusError{Code: 503}), 0), false, "http_503", 0},
		{"timeout", Retryable(context.DeadlineExceeded, 0), false, "timeout", 0},
		{"connection", Retryable(&url.Error{Op: "Post", URL: "http://x", Err: opErr}, 0), false, "connection", 0},
		{"unclassified is retryable", errors.New("mystery"), false, "error", 0},
		{"classified deeper in a chain", fmt.Errorf("round: %w", Permanent(errors.New("gone"), "Channel-Not Found")), true, "channel_not_found", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.err)
			if got.Permanent != tc.wantPermanent || got.Reason != tc.wantReason || got.RetryAfter != tc.wantAfter {
				t.Errorf("Classify = {Permanent: %v, Reason: %q, RetryAfter: %v}, want {%v, %q, %v}",
					got.Permanent, got.Reason, got.RetryAfter, tc.wantPermanent, tc.wantReason, tc.wantAfter)
			}
		})
	}
}

func TestReason(t *testing.T) {
	for in, want := range map[string]string{
		"invalid_auth":          "invalid_auth",
		"HTTP 404":              "http_404",
		"":                      "unknown",
		"<script>":              "script",
		strings.Repeat("a", 99): strings.Repeat("a", 40),
	} {
		if got := Reason(in); got != want {
			t.Errorf("Reason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactHidesSecretsButKeepsTheChain(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T1/B2/sEcReT"
	orig := &url.Error{Op: "Post", URL: hook, Err: context.DeadlineExceeded}
	err := Redact(fmt.Errorf("post: %w", orig), "xoxb-token")
	if strings.Contains(err.Error(), "sEcReT") {
		t.Errorf("Redact left the URL in %q", err)
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("Redact = %q, want a [REDACTED] marker", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("Redact broke errors.Is")
	}
	if got := Classify(Retryable(err, 0)).Reason; got != "timeout" {
		t.Errorf("reason of a redacted timeout = %q, want timeout", got)
	}
	if got := Redact(errors.New("token xoxb-token leaked"), "xoxb-token").Error(); strings.Contains(got, "xoxb-token") {
		t.Errorf("Redact left a secret in %q", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"Wed, 01 May 2024 08:00:30 GMT", 30 * time.Second, true},
		{"Wed, 01 May 2024 07:00:00 GMT", 0, true},
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestDefer(t *testing.T) {
	c := Classify(fmt.Errorf("round: %w", Defer(errors.New("held by replica 2"), "held_elsewhere", 30*time.Second)))
	if !c.Deferred || c.Permanent || c.RetryAfter != 30*time.Second || c.Reason != "held_elsewhere" {
		t.Errorf("Classify(Defer(…)) = %+v", c)
	}
}
