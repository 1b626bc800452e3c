package slacktest

// What a fake Slack serves for interactivity: user groups (usergroups.users.list),
// ephemeral messages (chat.postEphemeral and response_url), and Socket Mode
// (apps.connections.open and its websocket, in socket.go). Tests build block_actions
// payloads with BlockActions and sign them with Sign.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// FakeAppToken is the app-level token (Socket Mode) a fake Slack accepts.
const FakeAppToken = "xapp-1-A0FAKE000-0000000000000-fakeAppTokenFakeAppToken"

// Ephemeral is an ephemeral message a fake Slack took: by chat.postEphemeral, or
// through a response_url.
type Ephemeral struct {
	// Via is "chat.postEphemeral" or "response_url".
	Via string
	// Channel and User are chat.postEphemeral's; ResponseURL the URL posted to.
	Channel, User, ResponseURL string
	Text                       string
	// ResponseType and ReplaceOriginal are the response_url message's fields, as sent.
	ResponseType    string
	ReplaceOriginal *bool
	Received        time.Time
}

// interactive is the fake's state for interactivity. Its methods are the Slack's.
type interactive struct {
	s *Slack

	groupFaults, ephemeralFaults, openFaults httpfake.Script

	mu         sync.Mutex
	groups     map[string][]string // user group id → member ids
	ephemerals []Ephemeral
	changed    chan struct{} // closed and replaced whenever something is recorded
	responses  map[string]int
	sockets    socketState
}

// newInteractive registers the interactivity routes of s on mux.
func newInteractive(s *Slack, mux *http.ServeMux) *interactive {
	ix := &interactive{s: s, groups: map[string][]string{}, changed: make(chan struct{}), responses: map[string]int{}}
	ix.sockets.init()
	mux.HandleFunc("/api/usergroups.users.list", ix.userGroupMembers)
	mux.HandleFunc("/api/chat.postEphemeral", ix.postEphemeral)
	mux.HandleFunc("POST /actions/{team}/{id}/{secret}", ix.responseURL)
	mux.HandleFunc("/api/apps.connections.open", ix.connectionsOpen)
	mux.HandleFunc("GET /link/", ix.socket)
	return ix
}

// notify wakes whoever waits for a change. ix.mu must be held.
func (ix *interactive) notify() {
	close(ix.changed)
	ix.changed = make(chan struct{})
}

// wait calls done under ix.mu until it reports true, or ctx ends.
func (ix *interactive) wait(ctx context.Context, done func() bool) error {
	for {
		ix.mu.Lock()
		ok, ch := done(), ix.changed
		ix.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// AppToken is the app-level token the fake accepts for apps.connections.open.
func (ix *interactive) AppToken() string { return FakeAppToken }

// SetUserGroup makes the user group id (S…) have members; no members empties it.
func (ix *interactive) SetUserGroup(id string, members ...string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.groups[id] = slices.Clone(members)
}

// FailNextUserGroups applies f to the next n usergroups.users.list calls.
func (ix *interactive) FailNextUserGroups(n int, f httpfake.Fault) { ix.groupFaults.FailNext(n, f) }

// FailNextEphemerals applies f to the next n ephemeral posts (either way of posting).
func (ix *interactive) FailNextEphemerals(n int, f httpfake.Fault) { ix.ephemeralFaults.FailNext(n, f) }

// FailNextConnectionsOpen applies f to the next n apps.connections.open calls.
func (ix *interactive) FailNextConnectionsOpen(n int, f httpfake.Fault) { ix.openFaults.FailNext(n, f) }

// Ephemerals returns the ephemeral messages taken so far, oldest first.
func (ix *interactive) Ephemerals() []Ephemeral {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return slices.Clone(ix.ephemerals)
}

// WaitEphemerals waits until at least n ephemeral messages were taken and returns
// them all, or ctx's error with those taken so far.
func (ix *interactive) WaitEphemerals(ctx context.Context, n int) ([]Ephemeral, error) {
	err := ix.wait(ctx, func() bool { return len(ix.ephemerals) >= n })
	return ix.Ephemerals(), err
}

// ResponseURL returns a new response_url of the fake, as Slack puts one in each
// interaction payload: messages POSTed to it are recorded as ephemerals. Like Slack's,
// it takes at most five messages.
func (ix *interactive) ResponseURL() string {
	return ix.s.srv.URL + "/actions/T0FAKE000/" + randomString(10) + "/" + randomString(24)
}

func (ix *interactive) userGroupMembers(w http.ResponseWriter, r *http.Request) {
	if !ix.s.admit(w, r, ix.groupFaults.Take, "usergroups:read") {
		return
	}
	ix.mu.Lock()
	members, ok := ix.groups[r.FormValue("usergroup")]
	members = slices.Clone(members)
	ix.mu.Unlock()
	if !ok {
		slackError(w, "no_such_subteam")
		return
	}
	if members == nil {
		members = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "users": members})
}

func (ix *interactive) postEphemeral(w http.ResponseWriter, r *http.Request) {
	if !ix.s.admit(w, r, ix.ephemeralFaults.Take, "chat:write") {
		return
	}
	channel, user, text := r.FormValue("channel"), r.FormValue("user"), r.FormValue("text")
	switch {
	case channel == "":
		slackError(w, "channel_not_found")
		return
	case user == "":
		slackError(w, "user_not_in_channel")
		return
	case text == "" && r.FormValue("blocks") == "":
		slackError(w, "no_text")
		return
	}
	now := time.Now()
	ix.mu.Lock()
	ix.ephemerals = append(ix.ephemerals, Ephemeral{Via: "chat.postEphemeral", Channel: channel, User: user, Text: text, Received: now})
	ix.notify()
	ix.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message_ts": strconv.FormatFloat(float64(now.UnixMicro())/1e6, 'f', 6, 64)})
}

// responseURL takes a message posted to a response_url: JSON with text, response_type
// and replace_original, as Slack documents.
func (ix *interactive) responseURL(w http.ResponseWriter, r *http.Request) {
	if f, ok := ix.ephemeralFaults.Take(); ok && applyFault(w, f, true) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var msg struct {
		Text            string `json:"text"`
		ResponseType    string `json:"response_type"`
		ReplaceOriginal *bool  `json:"replace_original"`
	}
	if err != nil || json.Unmarshal(body, &msg) != nil || msg.Text == "" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("invalid_payload"))
		return
	}
	at := ix.s.srv.URL + r.URL.Path
	ix.mu.Lock()
	if ix.responses[at] >= 5 {
		ix.mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("used_url"))
		return
	}
	ix.responses[at]++
	ix.ephemerals = append(ix.ephemerals, Ephemeral{Via: "response_url", ResponseURL: at, Text: msg.Text,
		ResponseType: msg.ResponseType, ReplaceOriginal: msg.ReplaceOriginal, Received: time.Now()})
	ix.notify()
	ix.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// BlockActions is a block_actions interaction payload as Slack sends it when a button
// is clicked, with the fields lcwnotify reads.
type BlockActions struct {
	UserID, UserName, TeamID string
	// ChannelID and MessageTS locate the message the button was on.
	ChannelID, MessageTS string
	ResponseURL          string
	// TriggerID and ActionTS identify the click; empty ones are generated.
	TriggerID, ActionTS string
	ActionID, BlockID   string
	Value               string
}

// Payload returns the JSON payload, generating TriggerID and ActionTS if empty (and
// filling them in b, so that the same click can be sent again).
func (b *BlockActions) Payload() []byte {
	if b.TriggerID == "" {
		b.TriggerID = randomString(8) + "." + randomString(8) + "." + randomString(16)
	}
	if b.ActionTS == "" {
		b.ActionTS = strconv.FormatFloat(float64(time.Now().UnixMicro())/1e6, 'f', 6, 64)
	}
	team := b.TeamID
	if team == "" {
		team = "T0FAKE000"
	}
	p := map[string]any{
		"type":       "block_actions",
		"api_app_id": "A0FAKE000",
		"token":      "verificationTokenIgnored",
		"team":       map[string]any{"id": team, "domain": "fake"},
		"user":       map[string]any{"id": b.UserID, "username": b.UserName, "name": b.UserName, "team_id": team},
		"container":  map[string]any{"type": "message", "message_ts": b.MessageTS, "channel_id": b.ChannelID, "is_ephemeral": false},
		"channel":    map[string]any{"id": b.ChannelID, "name": "alerts"},
		"message":    map[string]any{"type": "message", "ts": b.MessageTS, "bot_id": "B0FAKE", "text": "Lifecycle workflow failed"},
		"trigger_id": b.TriggerID,
		"actions": []any{map[string]any{
			"type": "button", "action_id": b.ActionID, "block_id": b.BlockID, "value": b.Value,
			"text": map[string]any{"type": "plain_text", "text": "Re-run failed tasks"}, "action_ts": b.ActionTS,
		}},
	}
	if b.ResponseURL != "" {
		p["response_url"] = b.ResponseURL
	}
	out, _ := json.Marshal(p)
	return out
}

// Form returns the HTTP request body Slack POSTs to an app's Request URL for the
// payload: a form with the payload as its one field.
func Form(payload []byte) []byte {
	return []byte("payload=" + url.QueryEscape(string(payload)))
}

// Sign returns the headers Slack sends with body at ts, signed with secret (v0:
// HMAC-SHA256 of "v0:<ts>:<body>").
func Sign(secret string, ts time.Time, body []byte) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}
