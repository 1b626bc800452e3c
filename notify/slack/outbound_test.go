package slack_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/slack"
)

// hookToken is the secret part of the misbehaving incoming webhooks' URLs.
const hookToken = "XoXoS3CR3TxOxO42"

// postOnce renders one failure and sends it through the incoming webhook at url, as the
// delivery stage would, within ctx.
func postOnce(ctx context.Context, t *testing.T, url string) error {
	t.Helper()
	w, err := slack.NewWebhook(slack.Config{WebhookURL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := notifytest.Event(notifytest.Result{})
	if err != nil {
		t.Fatal(err)
	}
	nt := &notify.Notification{Event: ev}
	bs := w.Render(w.Key(nt), []*notify.Notification{nt}, false)
	_, err = w.Send(ctx, w.Key(nt), bs[0].Messages[0], notify.Part{Batch: "b", Index: 1, Count: 1})
	if err != nil && strings.Contains(err.Error(), hookToken) {
		t.Errorf("error quotes the webhook URL: %v", err)
	}
	return err
}

func TestIncomingWebhookFollowsNoRedirect(t *testing.T) {
	var stolen atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen.Add(1) }))
	defer elsewhere.Close()
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+"/services/"+hookToken, status)
		}))
		err := postOnce(t.Context(), t, hook.URL+"/services/T1/B1/"+hookToken)
		hook.Close()
		c := notify.Classify(err)
		if err == nil || !c.Permanent || !c.Unsent || !strings.Contains(err.Error(), "redirect") {
			t.Errorf("HTTP %d: %v (%+v), want a permanent refusal that says Slack redirected", status, err, c)
		}
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the redirects' target got %d posts, want 0", n)
	}
}

// TestIncomingWebhookAnswerIsBounded: an answer that never ends neither holds the post
// until its deadline nor fills memory; the status decides. slack-go reads an incoming
// webhook's whole answer, so only the client's limit ends this.
func TestIncomingWebhookAnswerIsBounded(t *testing.T) {
	chunk := bytes.Repeat([]byte("ok "), 1000)
	for _, status := range []int{http.StatusOK, http.StatusInternalServerError} {
		var sent atomic.Int64
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			for {
				n, err := w.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
		}))
		// A deadline far beyond the test: the post must end by the client's limit.
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		err := postOnce(ctx, t, hook.URL+"/services/T1/B1/"+hookToken)
		timedOut := ctx.Err() != nil
		cancel()
		hook.Close()
		if timedOut {
			t.Fatalf("HTTP %d: the post ran to its deadline", status)
		}
		if (err == nil) != (status == http.StatusOK) {
			t.Errorf("HTTP %d with an endless answer: %v", status, err)
		}
		// The server writes into socket buffers ahead of the client's reads; what it
		// managed to send stays far below an unbounded read's.
		if n := sent.Load(); n > 32<<20 {
			t.Errorf("HTTP %d: the server sent %d bytes before the client hung up", status, n)
		}
	}
}

func TestIncomingWebhookSlowAnswerEndsWithTheCall(t *testing.T) {
	release := make(chan struct{})
	hook := httptest.NewServer(httpfake.Stall(release))
	defer hook.Close()
	defer close(release)
	// The stage gives each call a deadline (CallTimeout); the client ends it there.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := postOnce(ctx, t, hook.URL+"/services/T1/B1/"+hookToken)
	if c := notify.Classify(err); err == nil || c.Permanent || c.Unsent || c.Reason != "timeout" {
		t.Fatalf("post to a webhook that never answers = %v (%+v), want a retryable timeout whose outcome is unknown", err, c)
	}
}
