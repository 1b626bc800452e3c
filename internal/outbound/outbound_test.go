package outbound

import (
	"errors"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"localhost.example.com", false},
		{"[::1]", false}, // brackets belong to host:port, not to a host
		{"slack.com", false},
	} {
		if got := IsLoopback(tc.host); got != tc.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	const secret = "S3CR3T"
	tests := []struct {
		name      string
		raw       string
		allowHTTP bool
		want      error
	}{
		{"https", "https://hooks.example/" + secret, false, nil},
		{"https with a port and query", "https://hooks.example:8443/x?token=" + secret, false, nil},
		{"http to loopback", "http://127.0.0.1:8080/" + secret, false, nil},
		{"http to localhost", "http://localhost/" + secret, false, nil},
		{"http to IPv6 loopback", "http://[::1]:9000/" + secret, false, nil},
		{"http to another host", "http://hooks.example/" + secret, false, ErrPlainHTTP},
		{"http to another host, allowed", "http://hooks.example/" + secret, true, nil},
		{"http to a name that starts like localhost", "http://localhost.example/" + secret, false, ErrPlainHTTP},
		{"user information", "https://u:" + secret + "@hooks.example/", false, ErrUserInfo},
		{"user information, http allowed", "http://u:" + secret + "@hooks.example/", true, ErrUserInfo},
		{"no scheme", "hooks.example/" + secret, false, ErrNotAbsolute},
		{"other scheme", "ftp://hooks.example/" + secret, true, ErrNotAbsolute},
		{"no host", "https:///" + secret, false, ErrNotAbsolute},
		{"port only", "https://:443/" + secret, false, ErrNotAbsolute},
		{"not a URL", "https://hooks.example/%zz" + secret, false, ErrNotAbsolute},
		{"empty", "", false, ErrNotAbsolute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := CheckURL(tc.raw, tc.allowHTTP)
			if !errors.Is(err, tc.want) {
				t.Fatalf("CheckURL(%q, %t) = %v, want %v", tc.raw, tc.allowHTTP, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the URL", err)
			}
			if err == nil && u.String() != tc.raw {
				t.Errorf("parsed URL %q, want %q", u, tc.raw)
			}
		})
	}
}

func TestURLSecrets(t *testing.T) {
	tests := []struct {
		name, raw string
		echo      string // what a receiver might send back
	}{
		{"token in the query", "https://hooks.example/lcw?token=tok-S3CR3T-1234&x=1", "bad request for /lcw?token=tok-S3CR3T-1234&x=1: token tok-S3CR3T-1234"},
		{"token in the path", "https://hooks.slack.com/services/T0000/B0000/S3CR3TS3CR3TS3CR3T", "no such hook: /services/T0000/B0000/S3CR3TS3CR3TS3CR3T (S3CR3TS3CR3TS3CR3T)"},
		{"escaped token", "https://hooks.example/h/S3CR3T%2Fpart?k=a%20S3CR3T%2Bb", "unknown S3CR3T/part, key a S3CR3T+b, a+S3CR3T%2Bb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.echo
			for _, s := range URLSecrets(tc.raw) {
				got = strings.ReplaceAll(got, s, "[REDACTED]")
			}
			if strings.Contains(got, "S3CR3T") {
				t.Errorf("after redaction %q still shows the secret", got)
			}
		})
	}
	for _, s := range URLSecrets("https://hooks.example/v2/hooks?a=1") {
		if s == "v2" || s == "hooks" || s == "1" {
			t.Errorf("URLSecrets includes the short word %q", s)
		}
	}
}
