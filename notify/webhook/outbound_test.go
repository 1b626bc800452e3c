package webhook_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/webhooktest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/webhook"
)

// The secret part of the misbehaving receivers' URLs.
const urlToken = "URL-S3CR3T-9b1d"

func TestPlainHTTPNeedsAllowHTTP(t *testing.T) {
	rcv := webhooktest.NewReceiver(secret)
	defer rcv.Close()
	// The receiver listens on loopback; a transport that dials it for any host lets the
	// URL name another host, as a real receiver elsewhere would.
	addr := strings.TrimPrefix(strings.SplitN(rcv.URL(), "/hooks", 2)[0], "http://")
	url := "http://hooks.example/hooks/lcw?token=" + webhooktest.URLToken

	_, err := webhook.New(webhook.Config{URL: url, Secret: secret, Transport: httpfake.DialTo(addr)}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "LCW_WEBHOOK_URL: ") || !strings.Contains(err.Error(), "LCW_WEBHOOK_ALLOW_HTTP") {
		t.Fatalf("New with http to another host = %v, want an error naming LCW_WEBHOOK_URL and LCW_WEBHOOK_ALLOW_HTTP", err)
	}
	if strings.Contains(err.Error(), webhooktest.URLToken) {
		t.Errorf("error quotes the URL: %v", err)
	}

	n, err := webhook.New(webhook.Config{URL: url, Secret: secret, AllowHTTP: true, Transport: httpfake.DialTo(addr)}, nil)
	if err != nil {
		t.Fatalf("New with LCW_WEBHOOK_ALLOW_HTTP: %v", err)
	}
	ev, _ := notifytest.Event(notifytest.Result{})
	if err := deliver(n, ev); err != nil {
		t.Fatalf("deliver over allowed http: %v", err)
	}
	if got := rcv.Count(ev.ID); got != 1 {
		t.Errorf("receiver got the event %d times, want 1", got)
	}
}

func TestRedirectIsARefusal(t *testing.T) {
	elsewhere := webhooktest.NewReceiver(secret)
	defer elsewhere.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL(), status)
		}))
		n, err := webhook.New(webhook.Config{URL: srv.URL + "/hook?token=" + urlToken, Secret: secret}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := notifytest.Event(notifytest.Result{})
		err = deliver(n, ev)
		srv.Close()
		c := notify.Classify(err)
		switch {
		case err == nil:
			t.Errorf("HTTP %d to another host: delivered, want a refusal", status)
		case !c.Permanent || !c.Unsent:
			t.Errorf("HTTP %d: classified %+v, want permanent and unsent", status, c)
		case !strings.Contains(err.Error(), "redirected"):
			t.Errorf("HTTP %d: error %q does not say the receiver redirected", status, err)
		}
		if got := elsewhere.Count(ev.ID); got != 0 {
			t.Errorf("HTTP %d: the redirect's target got the event %d times, want 0", status, got)
		}
	}
}

// TestAnswerIsBounded: a receiver whose answer is huge or never ends costs a few
// kilobytes, and its status still decides.
func TestAnswerIsBounded(t *testing.T) {
	chunk := bytes.Repeat([]byte("<html>busy "), 100)
	for _, tc := range []struct {
		status        int
		wantErr       bool
		wantPermanent bool
	}{
		{http.StatusOK, false, false},
		{http.StatusServiceUnavailable, true, false},
		{http.StatusBadRequest, true, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
		base := &httpfake.Counting{Base: srv.Client().Transport}
		n, err := webhook.New(webhook.Config{URL: srv.URL + "/?token=" + urlToken, Secret: secret, Transport: base, Timeout: time.Minute}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := notifytest.Event(notifytest.Result{})
		err = deliver(n, ev)
		srv.Close()
		if (err != nil) != tc.wantErr || (err != nil && notify.Classify(err).Permanent != tc.wantPermanent) {
			t.Errorf("HTTP %d with an endless body: %v, want error %t, permanent %t", tc.status, err, tc.wantErr, tc.wantPermanent)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("HTTP %d: error of %d characters, want the answer's first words only", tc.status, len(err.Error()))
		}
		if got := base.BodyBytes(); got > 64<<10 {
			t.Errorf("HTTP %d: read %d bytes of the answer, want at most 64 KiB", tc.status, got)
		}
	}
}

func TestSlowReceiverTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(httpfake.Stall(release))
	defer srv.Close()
	defer close(release)
	n, err := webhook.New(webhook.Config{URL: srv.URL + "/?token=" + urlToken, Secret: secret, Timeout: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := notifytest.Event(notifytest.Result{})
	err = deliver(n, ev)
	if c := notify.Classify(err); err == nil || c.Permanent || c.Reason != "timeout" || c.Unsent {
		t.Fatalf("deliver to a receiver that never answers = %v (%+v), want a retryable timeout whose outcome is unknown", err, c)
	}
	if strings.Contains(err.Error(), urlToken) {
		t.Errorf("error quotes the URL: %v", err)
	}
}

// TestMisbehavingReceiverLeaksNoSecret runs the notifier under the Dispatcher against a
// receiver that times out, answers endlessly, then redirects: neither the logs nor the
// dead letter show the URL's token or the signing secret.
func TestMisbehavingReceiverLeaksNoSecret(t *testing.T) {
	var faults httpfake.Script
	release := make(chan struct{})
	stall := httpfake.Stall(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _ := faults.Take()
		switch f.Status {
		case 0: // hang until the client gives up
			stall(w, r)
		case http.StatusBadGateway: // an endless error page echoing the request
			w.WriteHeader(f.Status)
			for {
				if _, err := io.WriteString(w, "bad gateway for "+r.URL.String()+"\n"); err != nil {
					return
				}
			}
		default:
			http.Redirect(w, r, "https://elsewhere.example/?token="+urlToken, f.Status)
		}
	}))
	defer srv.Close()
	defer close(release)
	faults.FailNext(1, httpfake.Fault{})
	faults.FailNext(1, httpfake.Fault{Status: http.StatusBadGateway})
	faults.FailFor(time.Hour, httpfake.Fault{Status: http.StatusFound})

	es := eventstest.Start(t)
	_, js := es.Connect(t)
	if err := notifytest.Publish(t.Context(), js, "LCW", "lcw"); err != nil {
		t.Fatal(err)
	}
	var logs notifytest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := webhook.New(webhook.Config{URL: srv.URL + "/hook?token=" + urlToken, Secret: secret, Timeout: 300 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	o := notifytest.DispatcherOptions(js, "LCW", "lcw", n)
	o.Logger = log
	notifytest.RunDispatcher(t, o)
	ev, _ := notifytest.Event(notifytest.Result{})
	if err := notifytest.Publish(t.Context(), js, "LCW", "lcw", ev); err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	notifytest.Eventually(t, "dead-lettered", func() bool {
		_, raws = notifytest.DeadLetters(t, js, "LCW", "lcw", webhook.Name)
		return len(raws) == 1
	})
	for _, s := range []string{urlToken, secret} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs show a secret:\n%s", logs.String())
		}
		if bytes.Contains(raws[0], []byte(s)) {
			t.Errorf("the dead letter shows a secret:\n%s", raws[0])
		}
	}
	for _, want := range []string{"timeout", "http_502", "redirected"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs do not show the %s failure:\n%s", want, logs.String())
		}
	}
}

// TestEchoedURLIsRedacted: a refusal that quotes the request has the URL's token
// removed, wherever the quote would cut it.
func TestEchoedURLIsRedacted(t *testing.T) {
	for pad := range 40 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, strings.Repeat("x", 170+pad)+" "+r.URL.RequestURI()+" token="+r.URL.Query().Get("token"))
		}))
		n, err := webhook.New(webhook.Config{URL: srv.URL + "/hook?token=" + urlToken, Secret: secret}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := notifytest.Event(notifytest.Result{})
		err = deliver(n, ev)
		srv.Close()
		if err == nil {
			t.Fatal("a 400 was taken for a delivery")
		}
		for i := 4; i <= len(urlToken); i++ {
			if strings.Contains(err.Error(), urlToken[:i]) {
				t.Fatalf("quote cut at %d: error shows %q of the token: %v", 170+pad, urlToken[:i], err)
			}
		}
	}
}
