package slacktest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// FakeToken is the bot token a fake Slack accepts unless told otherwise.
const FakeToken = "xoxb-000000000000-0000000000000-fakeTokenFakeToken"

// WebhookChannel is the channel id a fake Slack's incoming webhook posts to.
const WebhookChannel = "C0WEBHOOK00"

// DefaultScopes are the scopes a fake Slack reports for its token.
const DefaultScopes = "chat:write,channels:history,groups:history,channels:read,groups:read"

// Options configure a fake Slack.
type Options struct {
	// Token is the bot token it accepts; empty means FakeToken.
	Token string
	// Interval is the per-channel limit: a second message sooner is refused with 429 and
	// a Retry-After in whole seconds, as Slack does. Zero means one second; negative
	// means no limit.
	Interval time.Duration
	// Scopes are reported by auth.test and checked by conversations.history; empty means
	// DefaultScopes.
	Scopes string
	// RefuseText makes the fake refuse every message whose text or blocks contain it, as
	// Slack refuses a message it cannot take (invalid_blocks; HTTP 400 invalid_payload
	// from the incoming webhook). Empty refuses nothing.
	RefuseText string
}

// Slack is a fake Slack: the Web API methods lcwnotify calls (chat.postMessage,
// conversations.history with metadata, auth.test) and an incoming webhook. It records
// every message it accepts.
type Slack struct {
	srv         *httptest.Server
	opts        Options
	webhookPath string

	all, posts, history httpfake.Script
	*interactive        // user groups, ephemerals, Socket Mode: interactive.go

	mu       sync.Mutex
	msgs     []Message
	channels map[string]*fakeChannel // by id
	names    map[string]string       // channel name → id
	lastTS   int64                   // microseconds
	stats    Stats
}

type fakeChannel struct {
	last         time.Time
	limitedUntil time.Time
	err          string // every post fails with this Slack error
}

// Stats counts what a fake Slack saw.
type Stats struct {
	Requests int
	// Posts counts post attempts (chat.postMessage and webhook), accepted or not.
	Posts int
	// RateLimited counts posts refused with 429 because they came too fast.
	RateLimited int
	// Violations counts posts that arrived inside a Retry-After window the fake had set:
	// a well-behaved client makes none.
	Violations int
	// Updates counts chat.update calls.
	Updates int
}

// Message is a message a fake Slack accepted.
type Message struct {
	// Channel is the channel id (WebhookChannel for the incoming webhook).
	Channel string
	TS      string
	Text    string
	// Blocks is the Block Kit JSON as received.
	Blocks json.RawMessage
	// Metadata is the message metadata as received, nil when none.
	Metadata *Metadata
	// Thread is the ts of the message this one replies to, "" for a message of the
	// channel itself.
	Thread   string
	Webhook  bool
	Received time.Time
	// Updates counts the chat.update calls that replaced Text and Blocks.
	Updates int
}

// Metadata is Slack message metadata.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// New starts a fake Slack on a loopback port. Close it when done.
func New(opts Options) *Slack {
	if opts.Token == "" {
		opts.Token = FakeToken
	}
	if opts.Interval == 0 {
		opts.Interval = time.Second
	}
	if opts.Scopes == "" {
		opts.Scopes = DefaultScopes
	}
	s := &Slack{
		opts:        opts,
		webhookPath: "/services/T0FAKE000/B0FAKE000/" + randomString(12),
		channels:    map[string]*fakeChannel{},
		names:       map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/chat.postMessage", s.postMessage)
	mux.HandleFunc("/api/conversations.history", s.conversationsHistory)
	mux.HandleFunc("/api/auth.test", s.authTest)
	mux.HandleFunc("/api/conversations.list", s.conversationsList)
	mux.HandleFunc("/api/chat.update", s.chatUpdate)
	mux.HandleFunc("/api/conversations.replies", s.conversationsReplies)
	mux.HandleFunc("POST "+s.webhookPath, s.webhook)
	s.interactive = newInteractive(s, mux)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close shuts the fake down.
func (s *Slack) Close() { s.srv.Close() }

// APIURL is the Web API base URL, with its trailing slash (LCW_SLACK_API_URL).
func (s *Slack) APIURL() string { return s.srv.URL + "/api/" }

// WebhookURL is the incoming webhook's URL (LCW_SLACK_WEBHOOK_URL). It holds a secret
// path, as Slack's do.
func (s *Slack) WebhookURL() string { return s.srv.URL + s.webhookPath }

// Token is the bot token the fake accepts.
func (s *Slack) Token() string { return s.opts.Token }

// Messages returns every accepted message, in order.
func (s *Slack) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Stats returns the counters.
func (s *Slack) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ChannelID returns the id the fake gives the channel called name (with or without '#').
func (s *Slack) ChannelID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.resolve(name)
	return id
}

// SetChannelError makes every post to channel (id or name) fail with a Slack error code
// such as channel_not_found or is_archived; "" clears it.
func (s *Slack) SetChannelError(channel, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.resolve(channel)
	s.channel(id).err = code
}

// FailFor applies f to every request (any method, and the webhook) for d.
func (s *Slack) FailFor(d time.Duration, f httpfake.Fault) { s.all.FailFor(d, f) }

// FailNextPosts applies f to the next n posts (chat.postMessage or webhook).
func (s *Slack) FailNextPosts(n int, f httpfake.Fault) { s.posts.FailNext(n, f) }

// FailPostsFor applies f to every post for d.
func (s *Slack) FailPostsFor(d time.Duration, f httpfake.Fault) { s.posts.FailFor(d, f) }

// FailNextHistory applies f to the next n conversations.history calls.
func (s *Slack) FailNextHistory(n int, f httpfake.Fault) { s.history.FailNext(n, f) }

// resolve returns the id of a channel given by id or name. s.mu must be held.
func (s *Slack) resolve(ch string) (string, bool) {
	if isID(ch) {
		return ch, true
	}
	name := strings.TrimPrefix(ch, "#")
	if name == "" {
		return "", false
	}
	id, ok := s.names[name]
	if !ok {
		sum := sha256.Sum256([]byte(name))
		id = "C" + strings.ToUpper(hex.EncodeToString(sum[:5]))
		s.names[name] = id
	}
	return id, true
}

func isID(s string) bool {
	if len(s) < 9 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	return strings.IndexFunc(s[1:], func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) < 0
}

func (s *Slack) channel(id string) *fakeChannel {
	c, ok := s.channels[id]
	if !ok {
		c = &fakeChannel{}
		s.channels[id] = c
	}
	return c
}

// fault returns the injected fault for a request, if any.
func (s *Slack) fault(specific *httpfake.Script) (httpfake.Fault, bool) {
	if f, ok := s.all.Take(); ok {
		return f, true
	}
	return specific.Take()
}

// pace applies the channel's rate limit to a post arriving now. It returns the
// Retry-After to refuse it with, or 0 to accept it. s.mu must be held.
func (s *Slack) pace(c *fakeChannel, now time.Time) int {
	if s.opts.Interval < 0 {
		return 0
	}
	if now.Before(c.limitedUntil) {
		s.stats.Violations++
		s.stats.RateLimited++
		return retrySeconds(c.limitedUntil.Sub(now))
	}
	if !c.last.IsZero() && now.Sub(c.last) < s.opts.Interval {
		s.stats.RateLimited++
		secs := retrySeconds(s.opts.Interval - now.Sub(c.last))
		c.limitedUntil = now.Add(time.Duration(secs) * time.Second)
		return secs
	}
	return 0
}

func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// record stores an accepted message and returns its timestamp. s.mu must be held.
func (s *Slack) record(m Message, c *fakeChannel, now time.Time) string {
	us := max(now.UnixMicro(), s.lastTS+1)
	s.lastTS = us
	m.TS = fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
	m.Received = now
	s.msgs = append(s.msgs, m)
	c.last = now
	return m.TS
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))[:n]
}

// checkContent applies Slack's limits on a message and the fake's RefuseText.
func (s *Slack) checkContent(text string, blocks json.RawMessage) string {
	if r := s.opts.RefuseText; r != "" && (strings.Contains(text, r) || strings.Contains(string(blocks), r)) {
		return "invalid_blocks"
	}
	return checkContent(text, blocks)
}

// checkContent applies Slack's limits on a message: 50 blocks, 3000 characters per
// section text, 40 000 characters of text. It returns the Slack error code, or "".
func checkContent(text string, blocks json.RawMessage) string {
	if utf8.RuneCountInString(text) > 40000 {
		return "msg_too_long"
	}
	if len(blocks) == 0 {
		if text == "" {
			return "no_text"
		}
		return ""
	}
	var bs []map[string]any
	if err := json.Unmarshal(blocks, &bs); err != nil || len(bs) > 50 {
		return "invalid_blocks"
	}
	total := utf8.RuneCountInString(text)
	for _, b := range bs {
		if t, ok := b["text"].(map[string]any); ok {
			n := utf8.RuneCountInString(fmt.Sprint(t["text"]))
			if b["type"] == "section" && n > 3000 {
				return "invalid_blocks"
			}
			total += n
		}
		for _, e := range asSlice(b["elements"]) {
			if m, ok := e.(map[string]any); ok {
				total += utf8.RuneCountInString(fmt.Sprint(m["text"]))
			}
		}
	}
	if total > 40000 {
		return "msg_too_long"
	}
	return ""
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// BlockText returns the text of every text object in the message's blocks, one per
// line, as Slack would render its source.
func (m *Message) BlockText() string {
	var bs []any
	_ = json.Unmarshal(m.Blocks, &bs)
	var texts []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if t, ok := v["text"].(string); ok {
				texts = append(texts, t)
			}
			for _, k := range []string{"text", "elements", "fields"} {
				if c, ok := v[k]; ok {
					walk(c)
				}
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(bs)
	return strings.Join(texts, "\n")
}

// Batch returns the lcwnotify batch and part the message's metadata names.
func (m *Message) Batch() (batch string, part, parts int) {
	if m.Metadata == nil {
		return "", 0, 0
	}
	batch, _ = m.Metadata.EventPayload["batch"].(string)
	p, _ := m.Metadata.EventPayload["part"].(float64)
	n, _ := m.Metadata.EventPayload["parts"].(float64)
	return batch, int(p), int(n)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func slackError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
}

// applyFault answers with f unless it is a lost response, which the caller handles after
// serving the request. It reports whether it answered.
func applyFault(w http.ResponseWriter, f httpfake.Fault, webhook bool) bool {
	if f.LoseResponse {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case f.Error != "" && !webhook && status == http.StatusOK:
		slackError(w, f.Error)
	case status >= 500:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body>Slack is having trouble</body></html>"))
	default:
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Error))
	}
	return true
}

func bearer(r *http.Request) string {
	if t := r.FormValue("token"); t != "" {
		return t
	}
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

func encodeCursor(off int) string {
	return base64.StdEncoding.EncodeToString([]byte("off:" + strconv.Itoa(off)))
}

func decodeCursor(c string) int {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(string(b), "off:"))
	return n
}
