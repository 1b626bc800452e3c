package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/webhooktest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/webhook"
)

// secret is a Standard Webhooks secret: whsec_ and 32 bytes in base64.
var secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789ABCDEF"))

func TestContract(t *testing.T) {
	notifytest.TestSink(t, func(t *testing.T) *notifytest.Harness {
		rcv := webhooktest.NewReceiver(secret)
		t.Cleanup(rcv.Close)
		t.Cleanup(func() {
			for _, d := range rcv.Deliveries() {
				if d.Verified != nil {
					t.Errorf("delivery %s failed verification: %v", d.ID, d.Verified)
				}
				if d.ContentType != events.ContentType || d.Event == nil || d.Event.ID != d.ID {
					t.Errorf("delivery %s: content type %q, event %v; want a CloudEvent whose id is the webhook-id", d.ID, d.ContentType, d.Event)
				}
			}
		})
		return &notifytest.Harness{
			NewSink: func(t *testing.T, _ jetstream.JetStream, _ string, log *slog.Logger) notify.Sink {
				n, err := webhook.New(webhook.Config{URL: rcv.URL(), Secret: secret, Timeout: time.Second}, log)
				if err != nil {
					t.Fatal(err)
				}
				return n
			},
			Count: func(ev *events.Event) int { return rcv.Count(ev.ID) },
			Outage: func(on bool) {
				if on {
					rcv.FailFor(time.Hour, httpfake.Fault{Status: 503})
				} else {
					rcv.FailFor(0, httpfake.Fault{})
				}
			},
			Reject: func(on bool) {
				if on {
					rcv.FailFor(time.Hour, httpfake.Fault{Status: 422, Error: "unknown tenant"})
				} else {
					rcv.FailFor(0, httpfake.Fault{})
				}
			},
			LoseNextResponse: func() { rcv.FailNext(1, httpfake.Fault{LoseResponse: true}) },
			Secrets:          []string{secret, webhooktest.URLToken},
		}
	})
}

// TestSignStandardWebhooksVector checks Sign against the example in the Standard
// Webhooks specification's reference implementations.
func TestSignStandardWebhooksVector(t *testing.T) {
	const (
		key  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id   = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		body = `{"test": 2432232314}`
		want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	got, err := webhook.Sign(key, id, time.Unix(1614265330, 0), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"e1"}`)
	now := time.Unix(1700000000, 0)
	sig, err := webhook.Sign(secret, "e1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	headers := func(id, ts, sig string) http.Header {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		return h
	}
	tests := []struct {
		name string
		h    http.Header
		body []byte
		at   time.Time
		want error
	}{
		{"valid", headers("e1", "1700000000", sig), body, now, nil},
		{"valid among several", headers("e1", "1700000000", "v1,bm90IGl0 "+sig), body, now, nil},
		{"body changed", headers("e1", "1700000000", sig), []byte(`{"id":"e2"}`), now, webhook.ErrSignature},
		{"id changed", headers("e2", "1700000000", sig), body, now, webhook.ErrSignature},
		{"replayed later", headers("e1", "1700000000", sig), body, now.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"from the future", headers("e1", "1700000000", sig), body, now.Add(-6 * time.Minute), webhook.ErrTimestamp},
		{"missing signature", headers("e1", "1700000000", ""), body, now, webhook.ErrMissingHeaders},
	}
	for _, tc := range tests {
		if err := webhook.Verify(secret, tc.h, tc.body, webhook.DefaultTolerance, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     webhook.Config
		wantErr string
	}{
		{"valid", webhook.Config{URL: "https://hooks.example/x?token=SECRETsecret", Secret: secret}, ""},
		{"no URL", webhook.Config{Secret: secret}, "LCW_WEBHOOK_URL"},
		{"not a URL", webhook.Config{URL: "hooks.example/SECRETsecret", Secret: secret}, "LCW_WEBHOOK_URL"},
		{"no prefix", webhook.Config{URL: "https://h.example", Secret: "SECRETsecret"}, "LCW_WEBHOOK_SECRET: want a secret starting with whsec_"},
		{"not base64", webhook.Config{URL: "https://h.example", Secret: "whsec_SECRETsecret!"}, "not base64"},
		{"too short", webhook.Config{URL: "https://h.example", Secret: "whsec_c2hvcnQ="}, "5 bytes"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: Validate = %v, want nil", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: Validate = %v, want an error mentioning %q", tc.name, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "SECRETsecret"):
			t.Errorf("%s: Validate quotes a secret: %v", tc.name, err)
		}
	}
}

func TestDeliverClassifiesResponses(t *testing.T) {
	tests := []struct {
		status        int
		retryAfter    string
		wantErr       bool
		wantPermanent bool
		wantAfter     time.Duration
	}{
		{200, "", false, false, 0},
		{204, "", false, false, 0},
		{301, "", true, true, 0},
		{400, "", true, true, 0},
		{401, "", true, true, 0},
		{404, "", true, true, 0},
		{408, "", true, false, 0},
		{429, "12", true, false, 12 * time.Second},
		{429, "", true, false, 0},
		{500, "", true, false, 0},
		{503, "3", true, false, 3 * time.Second},
	}
	ev, err := notifytest.Event(notifytest.Result{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			if tc.status == 301 {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(tc.status)
		}))
		n, err := webhook.New(webhook.Config{URL: srv.URL + "/hook?token=SECRETsecret", Secret: secret}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = deliver(n, ev)
		srv.Close()
		if (err != nil) != tc.wantErr {
			t.Errorf("HTTP %d: Deliver = %v, want error %v", tc.status, err, tc.wantErr)
			continue
		}
		if err == nil {
			continue
		}
		c := notify.Classify(err)
		if c.Permanent != tc.wantPermanent || c.RetryAfter != tc.wantAfter {
			t.Errorf("HTTP %d: classified {permanent %v, after %v}, want {%v, %v}", tc.status, c.Permanent, c.RetryAfter, tc.wantPermanent, tc.wantAfter)
		}
		if strings.Contains(err.Error(), "SECRETsecret") {
			t.Errorf("HTTP %d: error quotes the URL's secret: %v", tc.status, err)
		}
	}
}

func TestDeliverRedactsTheURLFromConnectionErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=SECRETsecret"
	srv.Close()
	n, err := webhook.New(webhook.Config{URL: url, Secret: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := notifytest.Event(notifytest.Result{})
	err = deliver(n, ev)
	if err == nil {
		t.Fatal("Deliver to a closed server succeeded")
	}
	if strings.Contains(err.Error(), "SECRETsecret") {
		t.Errorf("error quotes the URL: %v", err)
	}
	if c := notify.Classify(err); c.Permanent || c.Reason != "connection" {
		t.Errorf("classified %+v, want retryable connection", c)
	}
}

// TestDeliverForwardsTheStoredEvent: a receiver gets the event byte for byte as the
// stream holds it, fields this version does not know included.
func TestDeliverForwardsTheStoredEvent(t *testing.T) {
	rcv := webhooktest.NewReceiver(secret)
	defer rcv.Close()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	ev, err := notifytest.Event(notifytest.Result{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// An extension attribute and a data field from a newer watcher.
	stored := bytes.Replace(b, []byte(`{"specversion"`), []byte(`{"lcwfuture":"x","specversion"`), 1)
	stored = bytes.Replace(stored, []byte(`"data":{`), []byte(`"data":{"futureField":[1,2],`), 1)
	if err := notifytest.Publish(context.Background(), js, "LCW", "lcw"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), "lcw.result.wf-1.failed", stored); err != nil {
		t.Fatal(err)
	}
	n, err := webhook.New(webhook.Config{URL: rcv.URL(), Secret: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	notifytest.RunDispatcher(t, notifytest.DispatcherOptions(js, "LCW", "lcw", n))
	notifytest.Eventually(t, "delivered", func() bool { return len(rcv.Deliveries()) == 1 })
	d := rcv.Deliveries()[0]
	if !bytes.Equal(d.Body, stored) {
		t.Errorf("receiver got\n%s\nwant the stored event\n%s", d.Body, stored)
	}
	if d.Verified != nil {
		t.Errorf("signature over the stored bytes does not verify: %v", d.Verified)
	}
}

// deliver sends ev as the delivery stage would: rendered, then one message.
func deliver(n *webhook.Notifier, ev *events.Event) error {
	nt := &notify.Notification{Event: ev}
	bs := n.Render(n.Key(nt), []*notify.Notification{nt}, false)
	if len(bs) != 1 || len(bs[0].Messages) != 1 {
		return fmt.Errorf("rendered %d batches, want one of one message", len(bs))
	}
	_, err := n.Send(context.Background(), n.Key(nt), bs[0].Messages[0], notify.Part{})
	return err
}

// TestReceiverGetsResolutionsAndWorkflowChanges: besides failures, the receiver gets the
// completion that resolves a failure it was sent (not one that follows none) and a
// workflow's quarantine, each as the stored CloudEvent.
func TestReceiverGetsResolutionsAndWorkflowChanges(t *testing.T) {
	rcv := webhooktest.NewReceiver(secret)
	defer rcv.Close()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	n, err := webhook.New(webhook.Config{URL: rcv.URL(), Secret: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	notifytest.RunDispatcher(t, notifytest.DispatcherOptions(js, "LCW", "lcw", n))
	ctx := context.Background()
	failure, _ := notifytest.Event(notifytest.Result{ResultID: "upr-1", UserID: "u-1", Status: "failed"})
	if err := notifytest.Publish(ctx, js, "LCW", "lcw", failure); err != nil {
		t.Fatal(err)
	}
	notifytest.Eventually(t, "the failure delivered", func() bool { return len(rcv.Deliveries()) == 1 })
	done := []events.TaskResult{notifytest.CompletedTask("Add user to groups")}
	resolved, _ := notifytest.Event(notifytest.Result{ResultID: "upr-2", UserID: "u-1", Status: "completed", Tasks: done})
	unrelated, _ := notifytest.Event(notifytest.Result{ResultID: "upr-3", UserID: "u-2", Status: "completed", Tasks: done})
	if err := notifytest.Publish(ctx, js, "LCW", "lcw", unrelated, resolved); err != nil {
		t.Fatal(err)
	}
	q, _ := notifytest.WorkflowChange("wf-1", "Onboard", events.ChangeQuarantined, "2026-12-03T09:00:00Z")
	if err := notifytest.PublishMessage(ctx, js, "LCW", "lcw", q); err != nil {
		t.Fatal(err)
	}
	notifytest.Eventually(t, "all delivered", notifytest.Drained(t, js, "LCW", webhook.Name))
	var ids []string
	for _, d := range rcv.Deliveries() {
		if d.Verified != nil {
			t.Errorf("delivery %s does not verify: %v", d.ID, d.Verified)
		}
		ids = append(ids, d.ID)
	}
	want := []string{failure.ID, resolved.ID, q.ID}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("receiver got %v, want the failure, its resolution and the quarantine %v", ids, want)
	}
}
