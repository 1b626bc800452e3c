package interact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
)

// replyTimeout bounds one ephemeral reply.
const replyTimeout = 10 * time.Second

// tell sends the clicker an ephemeral message: through the payload's response_url when
// it is on Slack's host, else with chat.postEphemeral in the channel of the message.
// A reply that cannot be sent is logged; nothing depends on it.
func (h *Handler) tell(ctx context.Context, c click, text string) {
	ctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if h.replyURL(c.ResponseURL) {
		err := h.postResponse(ctx, c.ResponseURL, text)
		if err == nil {
			return
		}
		h.log.Debug("cannot reply through the response_url; trying chat.postEphemeral", "err", err)
	}
	if c.ChannelID == "" {
		h.log.Warn("cannot tell the clicker: the interaction names no channel and no usable response_url", "user", c.UserID)
		return
	}
	if _, err := h.api.PostEphemeralContext(ctx, c.ChannelID, c.UserID, slack.MsgOptionText(text, false)); err != nil {
		h.log.Warn("cannot tell the clicker", "user", c.UserID, "channel", c.ChannelID, "err", slackReason(err))
	}
}

// replyURL reports whether a response_url may be posted to: https (or http on the
// loopback host of a fake Slack) on one of Slack's hosts. Anything else could send a
// reply, and the request's context, to a host an attacker chose.
func (h *Handler) replyURL(raw string) bool {
	if raw == "" {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || !slices.Contains(h.replyTo, strings.ToLower(u.Host)) {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && strings.HasPrefix(h.opts.APIURL, "http://")
}

// postResponse posts an ephemeral message to a response_url; it never replaces the
// message the button was on.
func (h *Handler) postResponse(ctx context.Context, to, text string) error {
	body, _ := json.Marshal(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad response_url")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.hc.Do(req)
	if err != nil {
		// The URL is a credential for the channel: never in an error.
		return errors.New("response_url unreachable")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("response_url answered %d", resp.StatusCode)
	}
	return nil
}

// names returns the user and the workflow a button names, made inert, for replies.
func names(v lcwslack.ActionValue) (user, workflow string) {
	user = "the user"
	switch {
	case v.UserName != "":
		user = "*" + lcwslack.EscapeText(v.UserName) + "*"
	case v.SubjectID != "":
		user = "user " + lcwslack.EscapeText(v.SubjectID)
	}
	workflow = "workflow " + lcwslack.EscapeText(v.WorkflowID)
	if v.WorkflowName != "" {
		workflow = "*" + lcwslack.EscapeText(v.WorkflowName) + "*"
	}
	return user, workflow
}

// acknowledgement is what the clicker is told at once.
func acknowledgement(v lcwslack.ActionValue) string {
	user, workflow := names(v)
	switch v.Action {
	case events.RerunWorkflow:
		return fmt.Sprintf("Re-running %s for %s… (checking with Microsoft Graph first)", workflow, user)
	case events.RerunFailedUsers:
		return fmt.Sprintf("Re-running the failed tasks of the failed users of this run of %s… (checking with Microsoft Graph first)", workflow)
	}
	return fmt.Sprintf("Re-running the failed tasks of %s in %s… (checking with Microsoft Graph first)", user, workflow)
}

// outcomeText is what the clicker is told once Graph answered.
func outcomeText(v lcwslack.ActionValue, o outcome) string {
	user, workflow := names(v)
	switch {
	case o.lost && !o.failed:
		return "Graph's answer was lost: lcwnotify looks at the workflow's runs to tell whether the re-run started, " +
			"and makes it if it did not. The thread of the message will say."
	case o.failed:
		return "Not re-run: " + o.reason + "."
	case v.Action == events.RerunWorkflow:
		return fmt.Sprintf("Graph accepted: %s runs again for %s. The outcome will be posted in the thread.", workflow, user)
	case v.Action == events.RerunFailedUsers:
		return fmt.Sprintf("Graph accepted: the failed users of this run of %s are re-running their failed tasks. The outcome will be posted in the thread.", workflow)
	}
	return fmt.Sprintf("Graph accepted: the failed tasks of %s in %s are running again. The outcome will be posted in the thread.", user, workflow)
}
