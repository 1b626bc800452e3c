package interact

import (
	"strings"
	"testing"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/slack-go/slack/socketmode"
)

// TestSocketMode: over the fake's Socket Mode websocket every envelope is acknowledged
// at once, a click re-runs the failed tasks once, a redelivered envelope is the same
// click, an unreadable one is acknowledged and dropped, and a disconnect is followed by
// a reconnection that still works. No secret reaches the log.
func TestSocketMode(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	h := tn.start(t, func(o *Options) { o.AppToken, o.SigningSecret = tn.slack.AppToken(), "" })
	ctx := t.Context()
	if err := tn.slack.WaitSockets(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "readiness", func() bool { return h.Ready() == nil })

	c := tn.click(t, allowedUser, lcwslack.ActionIDRerunFailedTasks)
	env, err := tn.slack.SendInteractive(c.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.slack.WaitAck(ctx, env); err != nil {
		t.Fatal(err)
	}
	recs := tn.waitRecords(t, events.ActionRequested, events.ActionAccepted)
	if n := len(tn.activations()); n != 1 {
		t.Fatalf("%d activations, want 1", n)
	}
	if recs[0].Data.Actor.ID != allowedUser || recs[0].Data.Message == nil || recs[0].Data.Message.ID != testTS {
		t.Errorf("requested record %+v", recs[0].Data)
	}

	// Slack delivers the envelope again: acknowledged again, handled once.
	if err := tn.slack.Redeliver(env); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second acknowledgement", func() bool { return len(tn.slack.Acks(env)) == 2 })
	waitFor(t, "the redelivery to be handled", func() bool { return strings.Contains(tn.logs.String(), "the same click delivered again") })
	if n, got := len(tn.activations()), kinds(tn.records(t)); n != 1 || len(got) != 2 {
		t.Errorf("after a redelivery: %d activations, records %v", n, got)
	}

	// An envelope slack-go cannot read, and one whose payload lcwnotify cannot.
	for _, raw := range []string{
		`{"envelope_id":"bad-1","type":"interactive","payload":{"type":"block_actions","user":"not an object"}}`,
		`{"envelope_id":"bad-2","type":"interactive","payload":{"type":"block_actions","user":{"id":"lowercase"},"actions":[]}}`,
	} {
		if err := tn.slack.SendRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"bad-1", "bad-2"} {
		if _, err := tn.slack.WaitAck(ctx, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}

	// Slack moves the connection: the client reconnects, and clicks still arrive.
	tn.slack.DisconnectSockets()
	waitFor(t, "the reconnection", func() bool { return tn.slack.SocketConnections() == 1 && h.Ready() == nil })
	env2, err := tn.slack.SendInteractive(tn.click(t, otherUser, lcwslack.ActionIDRerunFailedTasks).Payload())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.slack.WaitAck(ctx, env2); err != nil {
		t.Fatal(err)
	}
	tn.waitRecords(t, events.ActionRefused)
	if n := len(tn.activations()); n != 1 {
		t.Errorf("%d activations, want 1", n)
	}

	h.stop()
	logs := tn.logs.String()
	for name, secret := range map[string]string{
		"bot token": tn.slack.Token(), "app token": tn.slack.AppToken(), "response_url": c.ResponseURL,
		"trigger_id": c.TriggerID, "response_url path": c.ResponseURL[strings.Index(c.ResponseURL, "/actions/"):],
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s is in the log", name)
		}
	}
	for _, r := range tn.records(t) {
		b, _ := r.Marshal()
		if strings.Contains(string(b), c.TriggerID) || strings.Contains(string(b), "/actions/") || strings.Contains(string(b), "xox") {
			t.Errorf("a record holds a secret: %s", b)
		}
	}
}

// TestNoSecretInHTTPLogs: a refused, forged and accepted request leave neither the
// signing secret nor the tokens in the log.
func TestNoSecretInHTTPLogs(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	h := tn.start(t, nil)
	c := tn.click(t, allowedUser, lcwslack.ActionIDRerunFailedTasks)
	h.post(t, c)
	h.post(t, tn.click(t, strangers, lcwslack.ActionIDRerunFailedTasks))
	tn.waitRecords(t, events.ActionAccepted, events.ActionRefused)
	h.stop()
	logs := tn.logs.String()
	for _, s := range []string{testSecret, tn.slack.Token(), c.ResponseURL, c.TriggerID} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q", s)
		}
	}
}

// TestSocketReadinessIgnoresStaleErrors: when Slack moves a connection, the old
// connection's read error can reach the handler after the new connection is up. It
// must not make the handler unready: only Connecting and Connected decide, and a
// connection that cannot be made still shows.
func TestSocketReadinessIgnoresStaleErrors(t *testing.T) {
	tn := newTenant(t, graphsim.Options{}, "")
	h := tn.start(t, func(o *Options) { o.AppToken, o.SigningSecret = tn.slack.AppToken(), "" })
	if err := tn.slack.WaitSockets(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "readiness", func() bool { return h.Ready() == nil })
	for _, seq := range [][]socketmode.EventType{
		{socketmode.EventTypeDisconnect, socketmode.EventTypeConnecting, socketmode.EventTypeConnected,
			socketmode.EventTypeHello, socketmode.EventTypeIncomingError},
		{socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeErrorWriteFailed},
	} {
		for _, e := range seq {
			h.onSocketEvent(t.Context(), nil, socketmode.Event{Type: e})
		}
		if err := h.Ready(); err != nil {
			t.Errorf("after %v: %v", seq, err)
		}
	}
	h.onSocketEvent(t.Context(), nil, socketmode.Event{Type: socketmode.EventTypeConnecting})
	h.onSocketEvent(t.Context(), nil, socketmode.Event{Type: socketmode.EventTypeConnectionError})
	if h.Ready() == nil {
		t.Error("ready while Socket Mode cannot connect")
	}
}
