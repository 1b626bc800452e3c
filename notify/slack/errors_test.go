package slack

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/notify"
)

func TestClassify(t *testing.T) {
	cfg := &Config{Token: "xoxb-SECRET", DefaultRetryAfter: 30 * time.Second}
	refused := &url.Error{Op: "Post", URL: "https://slack.example/api/chat.postMessage",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	reset := &url.Error{Op: "Post", URL: "https://slack.example/api/chat.postMessage",
		Err: &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer xoxb-SECRET")}}
	tests := []struct {
		name          string
		err           error
		wantLimited   bool
		wantAfter     time.Duration
		wantPermanent bool
		wantDefinite  bool
		wantReason    string
	}{
		{"429 with Retry-After", &slack.RateLimitedError{RetryAfter: 7 * time.Second}, true, 7 * time.Second, false, true, "rate_limited"},
		{"429 without Retry-After", slack.StatusCodeError{Code: 429, Status: "429"}, true, 30 * time.Second, false, true, "rate_limited"},
		{"429 with a date", &strconv.NumError{Func: "ParseInt", Num: "Wed", Err: strconv.ErrSyntax}, true, 30 * time.Second, false, true, "rate_limited"},
		{"ok:false ratelimited", slack.SlackErrorResponse{Err: "ratelimited"}, true, 30 * time.Second, false, true, "rate_limited"},
		{"invalid_auth", slack.SlackErrorResponse{Err: "invalid_auth"}, false, 0, true, true, "invalid_auth"},
		{"channel_not_found", slack.SlackErrorResponse{Err: "channel_not_found"}, false, 0, true, true, "channel_not_found"},
		{"is_archived", slack.SlackErrorResponse{Err: "is_archived"}, false, 0, true, true, "is_archived"},
		{"unknown Slack error", slack.SlackErrorResponse{Err: "something_new"}, false, 0, false, false, "something_new"},
		{"internal_error: may be partly done", slack.SlackErrorResponse{Err: "internal_error"}, false, 0, false, false, "internal_error"},
		{"500", slack.StatusCodeError{Code: 500, Status: "500 Internal Server Error"}, false, 0, false, false, "http_500"},
		{"webhook 404", slack.StatusCodeError{Code: 404, Status: "404 Not Found"}, false, 0, true, true, "http_404"},
		{"webhook 410", slack.StatusCodeError{Code: 410, Status: "410 Gone"}, false, 0, true, true, "http_410"},
		{"redirect, not followed", slack.StatusCodeError{Code: 302, Status: "302 Found"}, false, 0, true, true, "http_302"},
		{"connection refused", refused, false, 0, false, true, "connection"},
		{"connection reset", reset, false, 0, false, false, "connection"},
		{"timeout", context.DeadlineExceeded, false, 0, false, false, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := classify(cfg, tc.err, "chat.postMessage to C1")
			c := notify.Classify(err)
			if c.Limited != tc.wantLimited || c.RetryAfter != tc.wantAfter || c.Permanent != tc.wantPermanent ||
				c.Unsent != tc.wantDefinite || c.Reason != tc.wantReason {
				t.Errorf("classify = {limited %v, after %v, permanent %v, unsent %v, reason %q}, want {%v, %v, %v, %v, %q}",
					c.Limited, c.RetryAfter, c.Permanent, c.Unsent, c.Reason,
					tc.wantLimited, tc.wantAfter, tc.wantPermanent, tc.wantDefinite, tc.wantReason)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error quotes the token: %v", err)
			}
			if c.Permanent && !strings.Contains(err.Error(), ": ") {
				t.Errorf("permanent error %q does not say what to fix", err)
			}
		})
	}
}
