package main

// The demo's on-call person clicking "Re-run failed tasks" on a failure the console told:
// the click reaches lcwnotify's action handler at POST /slack/interactions as Slack
// sends it, a block_actions payload carrying the value of the button lcwnotify renders
// for that failure, signed with the app's signing secret (the demo's own).

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
)

// clickTimeout bounds the POST of a click: the handler answers at once and acts after.
const clickTimeout = 10 * time.Second

// blockActions is the part of Slack's block_actions payload a click on a message's
// button carries that the demo can give. Slack's also names the message (container,
// channel, message); the demo's failure was told on the console, not in a Slack
// channel, so its click names none, and the action's records carry no message.
type blockActions struct {
	Type        string        `json:"type"`
	APIAppID    string        `json:"api_app_id"`
	Team        clickTeam     `json:"team"`
	User        clickUser     `json:"user"`
	TriggerID   string        `json:"trigger_id"`
	ResponseURL string        `json:"response_url"`
	Actions     []clickAction `json:"actions"`
}

type clickTeam struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
}

type clickUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	TeamID   string `json:"team_id"`
}

type clickAction struct {
	Type     string                 `json:"type"`
	ActionID string                 `json:"action_id"`
	BlockID  string                 `json:"block_id"`
	Text     *slack.TextBlockObject `json:"text"`
	Value    string                 `json:"value"`
	ActionTS string                 `json:"action_ts"`
}

// rerunClick is the on-call person's click on the "Re-run failed tasks" button of the
// message telling failure ev: the button as lcwnotify's Slack messages carry it.
func rerunClick(ev *events.Event, responseURL string, at time.Time) (*blockActions, error) {
	sum := notify.Summarize(ev, "")
	block, ok := lcwslack.ActionsBlock(lcwslack.TargetOf(&sum), false).(*slack.ActionBlock)
	if !ok || block.Elements == nil {
		return nil, fmt.Errorf("the failure of %s has no re-run buttons", sum.User)
	}
	for _, el := range block.Elements.ElementSet {
		b, ok := el.(*slack.ButtonBlockElement)
		if !ok || b.ActionID != lcwslack.ActionIDRerunFailedTasks {
			continue
		}
		return &blockActions{
			Type: "block_actions", APIAppID: demoAppID,
			Team:        clickTeam{ID: demoTeamID, Domain: "lcwnotify-demo"},
			User:        clickUser{ID: demoOnCallID, Username: demoOnCallName, Name: demoOnCallName, TeamID: demoTeamID},
			TriggerID:   fmt.Sprintf("%d.%d.%s", at.Unix(), at.Nanosecond(), randomHex(16)),
			ResponseURL: responseURL,
			Actions: []clickAction{{Type: "button", ActionID: b.ActionID, BlockID: block.BlockID, Text: b.Text, Value: b.Value,
				ActionTS: strconv.FormatFloat(float64(at.UnixMicro())/1e6, 'f', 6, 64)}},
		}, nil
	}
	return nil, fmt.Errorf("the failure of %s has no %q button", sum.User, lcwslack.ButtonRerunFailedTasks)
}

// slackRequest is the request Slack POSTs to an app's Request URL for payload at at: a
// form with the payload as its one field, signed with secret (v0: the HMAC-SHA256 of
// "v0:<timestamp>:<body>").
func slackRequest(ctx context.Context, endpoint, secret string, payload []byte, at time.Time) (*http.Request, error) {
	body := []byte("payload=" + url.QueryEscape(string(payload)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	stamp := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req, nil
}

// sendClick POSTs the click on failure ev to endpoint, signed with secret, and returns
// once the handler took it (200) or refused it.
func sendClick(ctx context.Context, endpoint, secret, responseURL string, ev *events.Event) error {
	now := time.Now()
	click, err := rerunClick(ev, responseURL, now)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(click)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, clickTimeout)
	defer cancel()
	req, err := slackRequest(ctx, endpoint, secret, payload, now)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("lcwnotify answered %s", resp.Status)
	}
	return nil
}
