package teams_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/teams"
)

// sig is the webhook URL's credential in these tests.
const sig = "SIGsecretSIGsecret"

// TestClassify: each answer a Workflows webhook gives, classified as the delivery stage
// needs it; no error quotes the URL or its signature, even when the body does.
func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		want       notify.Error
		wantText   string
	}{
		{name: "202", status: 202},
		{name: "200", status: 200},
		{name: "429", status: 429, retryAfter: "3", want: notify.Error{Limited: true, Unsent: true, RetryAfter: 3 * time.Second, Reason: "rate_limited"}},
		{name: "429 without Retry-After", status: 429, want: notify.Error{Limited: true, Unsent: true, RetryAfter: 100 * time.Millisecond, Reason: "rate_limited"}},
		{name: "502", status: 502, want: notify.Error{Reason: "http_502"}},
		{name: "413", status: 413, want: notify.Error{Permanent: true, Content: true, Unsent: true, Reason: "card_too_large"}},
		{name: "400", status: 400, body: `{"error":{"code":"InvalidRequestContent","message":"bad card"}}`,
			want: notify.Error{Permanent: true, Content: true, Unsent: true, Reason: "card_refused"}, wantText: "bad card"},
		{name: "404 quoting the signature", status: 404, body: `{"error":{"code":"WorkflowNotFound","message":"no flow for sig=` + sig + `"}}`,
			want: notify.Error{Permanent: true, Unsent: true, Reason: "http_404"}, wantText: "[REDACTED]"},
		{name: "401", status: 401, want: notify.Error{Permanent: true, Unsent: true, Reason: "http_401"}, wantText: "copy the URL"},
		{name: "302", status: 302, want: notify.Error{Permanent: true, Unsent: true, Reason: "http_302"}},
		{name: "409", status: 409, want: notify.Error{Permanent: true, Unsent: true, Reason: "http_409"}},
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
				if tc.status == 302 {
					w.Header().Set("Location", "https://elsewhere.example/")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			hook := srv.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=" + sig
			n := newNotifier(t, teams.Config{WebhookURL: hook, DefaultRetryAfter: 100 * time.Millisecond}, nil)
			nt := &notify.Notification{Event: ev}
			b := n.Render(n.Key(nt), []*notify.Notification{nt}, false)[0]
			_, err := n.Send(context.Background(), n.Key(nt), b.Messages[0], notify.Part{})
			if tc.want.Reason == "" {
				if err != nil {
					t.Fatalf("Send = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Send = nil, want an error")
			}
			c := notify.Classify(err)
			got := notify.Error{Permanent: c.Permanent, Limited: c.Limited, Content: c.Content, Unsent: c.Unsent, RetryAfter: c.RetryAfter, Reason: c.Reason}
			if got != tc.want {
				t.Errorf("classified %+v, want %+v (%v)", got, tc.want, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q lacks %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), sig) || strings.Contains(err.Error(), srv.URL) {
				t.Errorf("error quotes the webhook: %v", err)
			}
		})
	}
}

// TestConnectionRefused: retryable, certainly unsent, and without the URL.
func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	hook := srv.URL + "/workflows/abc?sig=" + sig
	srv.Close()
	n := newNotifier(t, teams.Config{WebhookURL: hook}, nil)
	ev, _ := notifytest.Event(notifytest.Result{})
	nt := &notify.Notification{Event: ev}
	b := n.Render(n.Key(nt), []*notify.Notification{nt}, false)[0]
	_, err := n.Send(context.Background(), n.Key(nt), b.Messages[0], notify.Part{})
	if c := notify.Classify(err); err == nil || c.Permanent || !c.Unsent {
		t.Fatalf("Send = %v (%+v), want a retryable unsent error", err, c)
	}
	if strings.Contains(err.Error(), sig) {
		t.Errorf("error quotes the signature: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     teams.Config
		wantErr string
	}{
		{"valid", teams.Config{WebhookURL: "https://prod.westus.logic.azure.com/workflows/x?sig=" + sig}, ""},
		{"routes only", teams.Config{Routes: map[string]string{"leaver": "https://h.example/?sig=" + sig}}, ""},
		{"nothing", teams.Config{}, "set LCW_TEAMS_WEBHOOK_URL"},
		{"http", teams.Config{WebhookURL: "http://h.example/?sig=" + sig}, "https"},
		{"not a URL", teams.Config{WebhookURL: "h.example/" + sig}, "absolute"},
		{"bad route", teams.Config{WebhookURL: "https://h.example/", Routes: map[string]string{"leaver": "ftp://x/" + sig}}, "LCW_TEAMS_ROUTES"},
		{"tiny card", teams.Config{WebhookURL: "https://h.example/", MaxCardBytes: 100}, "at least"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want an error mentioning %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), sig):
				t.Errorf("Validate quotes a webhook URL: %v", err)
			}
		})
	}
	if !teams.RetiredConnector("https://contoso.webhook.office.com/webhookb2/x") || teams.RetiredConnector("https://prod-1.westus.logic.azure.com/x") {
		t.Error("RetiredConnector is wrong")
	}
}
