package interact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
)

func TestParseInteraction(t *testing.T) {
	ba := slacktest.BlockActions{UserID: allowedUser, UserName: "alex", ChannelID: testChannel, MessageTS: testTS,
		ResponseURL: "https://hooks.slack.com/actions/T0/1/x", TriggerID: "1.2.3", ActionTS: "1777700001.000200",
		ActionID: lcwslack.ActionIDRerunFailedTasks, Value: `{"v":1}`}
	ours := ba.Payload()
	again := ba.Payload()
	other := ba
	other.TriggerID = "9.9.9"
	foreign := ba
	foreign.ActionID = "someone_elses_button"
	odd := ba
	odd.ChannelID, odd.MessageTS, odd.UserName = "not a channel", "yesterday", "a\x00b\nc"
	tests := []struct {
		name      string
		payload   string
		wantErr   bool
		wantCount int
		check     func(t *testing.T, c click)
	}{
		{"a click", string(ours), false, 1, func(t *testing.T, c click) {
			if c.UserID != allowedUser || c.UserName != "alex" || c.TeamID != "T0FAKE000" || c.ChannelID != testChannel ||
				c.MessageTS != testTS || c.ActionID != lcwslack.ActionIDRerunFailedTasks || c.Value != `{"v":1}` || c.Request == "" {
				t.Errorf("click = %+v", c)
			}
		}},
		{"another app's button", string(foreign.Payload()), false, 0, nil},
		{"a view submission", `{"type":"view_submission","user":{"id":"U0123"}}`, false, 0, nil},
		{"odd channel and timestamp are dropped", string(odd.Payload()), false, 1, func(t *testing.T, c click) {
			if c.ChannelID != "" || c.MessageTS != "" || c.UserName != "abc" {
				t.Errorf("click = %+v", c)
			}
		}},
		{"no type", `{"user":{"id":"U0123"}}`, true, 0, nil},
		{"no user", `{"type":"block_actions","actions":[{"action_id":"lcw_rerun_workflow"}]}`, true, 0, nil},
		{"a user id of another form", `{"type":"block_actions","user":{"id":"<@U0123>"}}`, true, 0, nil},
		{"not JSON", `payload`, true, 0, nil},
		{"an array", `[]`, true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInteraction([]byte(tt.payload))
			if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(got) != tt.wantCount {
				t.Fatalf("%d clicks, want %d", len(got), tt.wantCount)
			}
			if tt.check != nil {
				tt.check(t, got[0])
			}
		})
	}
	a, _ := parseInteraction(ours)
	b, _ := parseInteraction(again)
	c, _ := parseInteraction(other.Payload())
	if a[0].Request != b[0].Request || a[0].Request == c[0].Request {
		t.Errorf("requests %s, %s, %s: want the same click to keep its id and another to get its own", a[0].Request, b[0].Request, c[0].Request)
	}
}

// FuzzParseInteraction: no payload panics the parser; whatever it accepts names a
// well-formed user and only lcwnotify's buttons.
func FuzzParseInteraction(f *testing.F) {
	f.Add((&slacktest.BlockActions{UserID: "U0123ABCD", ChannelID: "C0123ABCD", MessageTS: "1.2",
		ActionID: lcwslack.ActionIDRerunWorkflow, Value: "{}"}).Payload())
	f.Add([]byte(`{"type":"block_actions","user":{"id":"W012"},"actions":[{"action_id":"lcw_rerun_failed_users"},{"action_id":"x"}]}`))
	f.Add([]byte(`{"type":"block_actions","user":{"id":"U0"},"container":{"channel_id":"C\u0000","message_ts":"1.1.1"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		clicks, err := parseInteraction(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		for _, c := range clicks {
			if !slackID(c.UserID, "UW") || c.Request == "" {
				t.Fatalf("accepted %+v", c)
			}
			if _, ours := lcwslack.ActionOf(c.ActionID); !ours {
				t.Fatalf("accepted another app's action %q", c.ActionID)
			}
			if c.ChannelID != "" && !slackID(c.ChannelID, "CGD") || c.MessageTS != "" && !slackTS(c.MessageTS) {
				t.Fatalf("passed on a channel %q or timestamp %q", c.ChannelID, c.MessageTS)
			}
			if strings.ContainsAny(c.UserName, "\x00\n\r") {
				t.Fatalf("passed on a name with control characters: %q", c.UserName)
			}
		}
	})
}

// FuzzVerifySignature: no header or body panics the check, and it accepts a request
// only when the signature is the HMAC of the body under the secret, within five
// minutes: a forged one never verifies.
func FuzzVerifySignature(f *testing.F) {
	now := strconv.FormatInt(time.Now().Unix(), 10)
	body := []byte("payload=%7B%7D")
	good := slacktest.Sign(testSecret, time.Now(), body).Get("X-Slack-Signature")
	f.Add(body, now, good, testSecret)
	f.Add(body, now, "v0="+strings.Repeat("0", 64), testSecret)
	f.Add(body, "0", good, testSecret)
	f.Add([]byte(""), "", "", "")
	f.Add(body, "99999999999999999999", "v0=zz", "s")
	f.Add(body, "-9223372036854775808", good, testSecret)
	f.Fuzz(func(t *testing.T, body []byte, ts, sig, secret string) {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", sig)
		_, err := verifySignature(h, body, secret)
		if err != nil {
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("v0:" + h.Get("X-Slack-Request-Timestamp") + ":"))
		mac.Write(body)
		want := "v0=" + hex.EncodeToString(mac.Sum(nil))
		if !strings.EqualFold(h.Get("X-Slack-Signature"), want) || secret == "" {
			t.Fatalf("verified a signature %q that is not the body's (%q)", sig, want)
		}
		sec, perr := strconv.ParseInt(h.Get("X-Slack-Request-Timestamp"), 10, 64)
		if perr != nil || time.Since(time.Unix(sec, 0)).Abs() > 6*time.Minute {
			t.Fatalf("verified a timestamp %q outside the window", ts)
		}
	})
}
