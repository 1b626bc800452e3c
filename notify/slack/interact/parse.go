package interact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
)

// ErrMalformed reports an interaction payload lcwnotify cannot read.
var ErrMalformed = errors.New("interact: malformed interaction payload")

// maxPayload bounds the interaction payload read from either transport. A
// block_actions payload carries the whole message the button was on: at Slack's
// limits (50 blocks, 40,000 characters of text) that is well under 256 KiB of JSON.
const maxPayload = 1 << 20

// click is one press of one of lcwnotify's buttons, as read from a block_actions
// payload. Nothing in it is trusted beyond its form: the transport vouched that Slack
// sent it, the handler checks what it names.
type click struct {
	ActionID string
	Value    string
	// UserID (U… or W…), UserName and TeamID say who clicked.
	UserID, UserName, TeamID string
	// ChannelID and MessageTS locate the message the button was on.
	ChannelID, MessageTS string
	// ResponseURL posts ephemeral replies to the clicker (30 minutes, 5 uses).
	ResponseURL string
	// Request identifies this click: the same for every delivery of it (a retry, a
	// replay), different for every other click.
	Request string
}

// wirePayload is the part of an interaction payload lcwnotify reads.
type wirePayload struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
		TeamID   string `json:"team_id"`
	} `json:"user"`
	Team struct {
		ID string `json:"id"`
	} `json:"team"`
	Container struct {
		Type      string `json:"type"`
		MessageTS string `json:"message_ts"`
		ChannelID string `json:"channel_id"`
	} `json:"container"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Message struct {
		TS string `json:"ts"`
	} `json:"message"`
	ResponseURL string `json:"response_url"`
	TriggerID   string `json:"trigger_id"`
	Actions     []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		ActionTS string `json:"action_ts"`
	} `json:"actions"`
}

// parseInteraction reads an interaction payload and returns the clicks on lcwnotify's
// buttons in it: none for other kinds of interaction and other apps' elements. A
// payload that is not a well-formed interaction is ErrMalformed.
func parseInteraction(b []byte) ([]click, error) {
	if len(b) > maxPayload {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	var p wirePayload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if p.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrMalformed)
	}
	if p.Type != "block_actions" {
		return nil, nil
	}
	if !slackID(p.User.ID, "UW") {
		return nil, fmt.Errorf("%w: no user id", ErrMalformed)
	}
	team := p.Team.ID
	if team == "" {
		team = p.User.TeamID
	}
	channel, ts := p.Container.ChannelID, p.Container.MessageTS
	if channel == "" {
		channel = p.Channel.ID
	}
	if ts == "" {
		ts = p.Message.TS
	}
	// Where the message is matters only for replies and the audit trail: a channel or
	// timestamp of an unexpected form is dropped rather than passed on.
	if !slackID(channel, "CGD") {
		channel = ""
	}
	if !slackTS(ts) {
		ts = ""
	}
	name := p.User.Username
	if name == "" {
		name = p.User.Name
	}
	var out []click
	for _, a := range p.Actions {
		if _, ours := lcwslack.ActionOf(a.ActionID); !ours {
			continue
		}
		out = append(out, click{
			ActionID: a.ActionID, Value: a.Value,
			UserID: p.User.ID, UserName: boundName(name), TeamID: boundID(team),
			ChannelID: channel, MessageTS: ts, ResponseURL: p.ResponseURL,
			Request: requestID(team, p.User.ID, p.TriggerID, a.ActionTS, a.ActionID, a.Value),
		})
	}
	return out, nil
}

// requestID derives a click's id from what Slack makes unique per click (trigger_id,
// action_ts) and what says who clicked what. The trigger id itself, which can open
// dialogs for a few seconds, is never stored.
func requestID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "r-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// slackID reports whether s looks like a Slack id starting with one of first: an upper
// case letter and upper case letters and digits, as U0123ABCD or C0456.
func slackID(s, first string) bool {
	if len(s) < 3 || len(s) > 32 || !strings.ContainsRune(first, rune(s[0])) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// slackTS reports whether s looks like a Slack message timestamp (1714550400.123456).
func slackTS(s string) bool {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(sec) == 0 || len(sec) > 12 || len(frac) == 0 || len(frac) > 9 {
		return false
	}
	return strings.Trim(sec, "0123456789") == "" && strings.Trim(frac, "0123456789") == ""
}

// boundName keeps a Slack user name printable and short: it is shown and logged.
func boundName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80])
	}
	return s
}

func boundID(s string) string {
	if slackID(s, "TE") {
		return s
	}
	return ""
}
