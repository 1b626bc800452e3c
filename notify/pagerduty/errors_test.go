package pagerduty_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/pagerduty"
)

// TestClassify: each answer PagerDuty documents, and a few it does not, classified as
// the delivery stage needs them; no error quotes the routing key, even when the answer
// does.
func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		wantErr    bool
		want       notify.Error // the fields compared: Permanent, Limited, Content, Unsent, RetryAfter, Reason
		wantText   string
	}{
		{name: "202", status: 202, body: `{"status":"success","message":"Event processed","dedup_key":"wf-1:user-upr-1"}`},
		{name: "400 invalid event", status: 400, body: `{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank"]}`,
			wantErr: true, want: notify.Error{Permanent: true, Content: true, Unsent: true, Reason: "invalid_event"}, wantText: "'payload.summary' is missing"},
		{name: "400 routing key", status: 400, body: `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`,
			wantErr: true, want: notify.Error{Permanent: true, Unsent: true, Reason: "invalid_routing_key"}, wantText: "LCW_PAGERDUTY_ROUTING_KEY"},
		{name: "400 quoting the key", status: 400, body: `{"status":"invalid event","message":"Event object is invalid","errors":["Invalid routing key ` + keyOncall + `"]}`,
			wantErr: true, want: notify.Error{Permanent: true, Unsent: true, Reason: "invalid_routing_key"}, wantText: "[REDACTED]"},
		{name: "413", status: 413, wantErr: true, want: notify.Error{Permanent: true, Content: true, Unsent: true, Reason: "invalid_event"}},
		{name: "429 without Retry-After", status: 429, body: `{"status":"throttle event"}`,
			wantErr: true, want: notify.Error{Limited: true, Unsent: true, RetryAfter: 100 * time.Millisecond, Reason: "rate_limited"}},
		{name: "429 with Retry-After", status: 429, retryAfter: "7", wantErr: true, want: notify.Error{Limited: true, Unsent: true, RetryAfter: 7 * time.Second, Reason: "rate_limited"}},
		{name: "500", status: 500, wantErr: true, want: notify.Error{Reason: "http_500"}},
		{name: "503 with Retry-After", status: 503, retryAfter: "3", wantErr: true, want: notify.Error{RetryAfter: 3 * time.Second, Reason: "http_503"}},
		{name: "301", status: 301, wantErr: true, want: notify.Error{Permanent: true, Unsent: true, Reason: "http_301"}, wantText: "LCW_PAGERDUTY_URL"},
		{name: "404", status: 404, body: "<html>not here</html>", wantErr: true, want: notify.Error{Permanent: true, Unsent: true, Reason: "http_404"}, wantText: "not here"},
		{name: "403", status: 403, wantErr: true, want: notify.Error{Permanent: true, Unsent: true, Reason: "http_403"}},
	}
	ev, err := notifytest.Event(notifytest.Result{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				if tc.status == 301 {
					w.Header().Set("Location", "https://elsewhere.example/v2/enqueue")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			cfg := pagerduty.Config{RoutingKey: keyOncall, URL: srv.URL, DefaultRetryAfter: 100 * time.Millisecond}
			n := newNotifier(t, cfg, nil)
			nt := &notify.Notification{Event: ev}
			b := n.Render(n.Key(nt), []*notify.Notification{nt}, false)[0]
			r, err := n.Send(context.Background(), n.Key(nt), b.Messages[0], notify.Part{})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Send = %v, want error %v", err, tc.wantErr)
			}
			if err == nil {
				if r.ID != "wf-1:user-upr-1" {
					t.Errorf("receipt id = %q, want the dedup_key", r.ID)
				}
				return
			}
			c := notify.Classify(err)
			got := notify.Error{Permanent: c.Permanent, Limited: c.Limited, Content: c.Content, Unsent: c.Unsent, RetryAfter: c.RetryAfter, Reason: c.Reason}
			if got != tc.want {
				t.Errorf("classified %+v, want %+v (%v)", got, tc.want, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q lacks %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), keyOncall) {
				t.Errorf("error quotes the routing key: %v", err)
			}
		})
	}
}

// TestConnectionErrors: a refused connection is retryable and certainly unsent; no
// error quotes the routing key.
func TestConnectionErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	n := newNotifier(t, pagerduty.Config{RoutingKey: keyOncall, URL: url}, nil)
	ev, _ := notifytest.Event(notifytest.Result{})
	nt := &notify.Notification{Event: ev}
	b := n.Render(n.Key(nt), []*notify.Notification{nt}, false)[0]
	_, err := n.Send(context.Background(), n.Key(nt), b.Messages[0], notify.Part{})
	if c := notify.Classify(err); err == nil || c.Permanent || !c.Unsent || c.Reason != "connection" {
		t.Fatalf("Send to a closed server = %v (%+v), want a retryable unsent connection error", err, c)
	}
	if strings.Contains(err.Error(), keyOncall) {
		t.Errorf("error quotes the routing key: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     pagerduty.Config
		wantErr string
	}{
		{"valid", pagerduty.Config{RoutingKey: keyOncall}, ""},
		{"routes only", pagerduty.Config{Routes: map[string]string{"leaver": keyLeavers}}, ""},
		{"nothing", pagerduty.Config{}, "set LCW_PAGERDUTY_ROUTING_KEY"},
		{"short key", pagerduty.Config{RoutingKey: "SECRETsecret"}, "32-character"},
		{"bad characters", pagerduty.Config{RoutingKey: strings.Repeat("S", 31) + "-"}, "letters and digits"},
		{"bad route", pagerduty.Config{RoutingKey: keyOncall, Routes: map[string]string{"leaver": "SECRETsecret"}}, "LCW_PAGERDUTY_ROUTES"},
		{"http", pagerduty.Config{RoutingKey: keyOncall, URL: "http://events.pagerduty.com"}, "https"},
		{"loopback http", pagerduty.Config{RoutingKey: keyOncall, URL: "http://127.0.0.1:8080"}, ""},
		{"severity", pagerduty.Config{RoutingKey: keyOncall, Severity: "high"}, "critical, error, warning or info"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want an error mentioning %q", err, tc.wantErr)
			case err != nil && (strings.Contains(err.Error(), "SECRETsecret") || strings.Contains(err.Error(), keyLeavers)):
				t.Errorf("Validate quotes a routing key: %v", err)
			}
		})
	}
}
