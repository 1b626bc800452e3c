package interact

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// Socket Mode reconnects: slack-go's client reconnects by itself when Slack asks; when
// it gives up (a refused app token, a network down for long), the handler starts it
// again after a backoff, doubling to socketBackoffMax.
const (
	socketBackoffMin = time.Second
	socketBackoffMax = 5 * time.Minute
)

// runSocket receives interactions over Socket Mode until ctx ends.
func (h *Handler) runSocket(ctx context.Context) {
	client := socketmode.New(h.api, socketmode.OptionLog(slogLogger{h.log}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait := socketBackoffMin
		for {
			err := client.RunContext(ctx)
			h.connected.Store(false)
			h.m.socket(false)
			if ctx.Err() != nil {
				return
			}
			h.log.Error("Socket Mode stopped; connecting again", "err", slackReason(err), "in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, socketBackoffMax)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			<-done
			return
		case evt := <-client.Events:
			h.onSocketEvent(ctx, client, evt)
		}
	}
}

// onSocketEvent answers one event of the Socket Mode client. Every envelope is
// acknowledged at once, before its click is checked or handled; only a click the
// workers cannot take (they are full) is left unacknowledged, so that Slack delivers it
// again.
func (h *Handler) onSocketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		if !h.connected.Swap(true) {
			h.log.Info("Socket Mode connected: receiving clicks from Slack")
		}
		h.m.socket(true)
	case socketmode.EventTypeConnecting:
		h.connected.Store(false)
		h.m.socket(false)
		h.log.Debug("Socket Mode connecting")
	case socketmode.EventTypeConnectionError:
		h.log.Warn("Socket Mode cannot connect; trying again", "event", string(evt.Type))
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		// A connection's read or write failed. slack-go replaces the connection (a
		// Connecting event follows) or, for one unreadable frame, keeps it. The event
		// may also come from a connection already replaced, after the new one is up:
		// so it says nothing about readiness, which Connecting and Connected decide.
		h.log.Debug("Socket Mode connection trouble", "event", string(evt.Type))
	case socketmode.EventTypeInvalidAuth:
		h.log.Error("Slack refused LCW_SLACK_APP_TOKEN: create an app-level token with connections:write (Basic Information → App-Level Tokens)")
	case socketmode.EventTypeDisconnect:
		h.log.Debug("Slack asked Socket Mode to reconnect")
	case socketmode.EventTypeInteractive:
		h.onInteractive(ctx, client, evt.Request)
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not read the envelope's payload. Acknowledged so that Slack
		// does not deliver it again; nothing is done with it.
		if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			var env struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(bad.Message, &env) == nil && env.EnvelopeID != "" {
				h.ack(ctx, client, env.EnvelopeID)
			}
		}
		h.m.rejected("malformed")
		h.log.Warn("Slack sent a Socket Mode message lcwnotify cannot read; acknowledged, nothing done")
	default:
		// Events API and slash commands are not lcwnotify's: acknowledged, ignored.
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			h.ack(ctx, client, evt.Request.EnvelopeID)
		}
	}
}

func (h *Handler) onInteractive(ctx context.Context, client *socketmode.Client, req *socketmode.Request) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	clicks, err := parseInteraction(req.Payload)
	if err != nil {
		h.ack(ctx, client, req.EnvelopeID)
		h.m.rejected("malformed")
		h.log.Warn("a Socket Mode interaction lcwnotify cannot read; acknowledged, nothing done", "err", err)
		return
	}
	if req.RetryAttempt > 0 {
		h.log.Info("Slack delivered an interaction again", "retry", req.RetryAttempt, "reason", req.RetryReason)
	}
	for _, c := range clicks {
		if !h.enqueue(c) {
			h.m.rejected("busy")
			h.log.Warn("too many clicks at once: left for Slack to deliver again")
			return
		}
	}
	h.ack(ctx, client, req.EnvelopeID)
}

func (h *Handler) ack(ctx context.Context, client *socketmode.Client, envelopeID string) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.AckCtx(actx, envelopeID, nil); err != nil {
		h.log.Warn("cannot acknowledge a Socket Mode envelope", "err", err)
	}
}

// slogLogger gives slack-go's Socket Mode client a logger: its lines are debug lines
// (lcwnotify logs what matters itself), and never hold a token.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Output(_ int, s string) error {
	l.log.Debug("socketmode: " + s)
	return nil
}
