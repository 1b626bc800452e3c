package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

func (s *Slack) count(post bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	if post {
		s.stats.Posts++
	}
}

func (s *Slack) postMessage(w http.ResponseWriter, r *http.Request) {
	s.count(true)
	if err := r.ParseForm(); err != nil {
		slackError(w, "invalid_form_data")
		return
	}
	answered, after := s.refuse(w, r.FormValue("channel"), false)
	if answered {
		return
	}
	switch tok := bearer(r); {
	case tok == "":
		slackError(w, "not_authed")
		return
	case tok != s.opts.Token:
		slackError(w, "invalid_auth")
		return
	}
	text, blocks := r.FormValue("text"), json.RawMessage(r.FormValue("blocks"))
	if code := s.checkContent(text, blocks); code != "" {
		slackError(w, code)
		return
	}
	var md *Metadata
	if raw := r.FormValue("metadata"); raw != "" {
		md = &Metadata{}
		if err := json.Unmarshal([]byte(raw), md); err != nil || md.EventType == "" {
			slackError(w, "invalid_metadata_format")
			return
		}
	}
	s.mu.Lock()
	id, ok := s.resolve(r.FormValue("channel"))
	if !ok {
		s.mu.Unlock()
		slackError(w, "channel_not_found")
		return
	}
	c := s.channel(id)
	if c.err != "" {
		s.mu.Unlock()
		slackError(w, c.err)
		return
	}
	thread := r.FormValue("thread_ts")
	if thread != "" && s.find(id, thread) < 0 {
		s.mu.Unlock()
		slackError(w, "thread_not_found")
		return
	}
	now := time.Now()
	if secs := s.pace(c, now); secs > 0 {
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	ts := s.record(Message{Channel: id, Text: text, Blocks: blocks, Metadata: md, Thread: thread}, c, now)
	s.mu.Unlock()
	if after != nil {
		answerAccepted(w, *after, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "channel": id, "ts": ts,
		"message": map[string]any{"type": "message", "text": text, "ts": ts, "bot_id": "B0FAKE"},
	})
}

// refuse answers a post that arrives inside its channel's Retry-After window (counting a
// violation), or one an injected fault refuses; a 429 fault opens a window as Slack's do.
// It reports whether it answered, and the fault to answer with once the message is
// recorded (a lost response, or an accepted post answered with an error).
func (s *Slack) refuse(w http.ResponseWriter, channel string, webhook bool) (answered bool, after *httpfake.Fault) {
	f, faulty := s.fault(&s.posts)
	s.mu.Lock()
	id, ok := WebhookChannel, true
	if !webhook {
		id, ok = s.resolve(channel)
	}
	now := time.Now()
	if ok {
		c := s.channel(id)
		if now.Before(c.limitedUntil) {
			s.stats.Violations++
			s.stats.RateLimited++
			secs := retrySeconds(c.limitedUntil.Sub(now))
			s.mu.Unlock()
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.WriteHeader(http.StatusTooManyRequests)
			return true, nil
		}
		if faulty && f.Status == http.StatusTooManyRequests {
			s.stats.RateLimited++
			if secs, err := strconv.Atoi(f.RetryAfter); err == nil {
				c.limitedUntil = now.Add(time.Duration(secs) * time.Second)
			}
		}
	}
	s.mu.Unlock()
	if faulty && (f.LoseResponse || f.Accepted) {
		return false, &f
	}
	return faulty && applyFault(w, f, webhook), nil
}

// answerAccepted answers a post the fake recorded with the fault that follows it.
func answerAccepted(w http.ResponseWriter, f httpfake.Fault, webhook bool) {
	if !applyFault(w, f, webhook) {
		httpfake.DropConnection(w)
	}
}

func (s *Slack) webhook(w http.ResponseWriter, r *http.Request) {
	s.count(true)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	answered, after := s.refuse(w, "", true)
	if answered {
		return
	}
	var msg struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || s.checkContent(msg.Text, msg.Blocks) != "" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("invalid_payload"))
		return
	}
	s.mu.Lock()
	c := s.channel(WebhookChannel)
	if c.err != "" {
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(c.err))
		return
	}
	now := time.Now()
	if secs := s.pace(c, now); secs > 0 {
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("rate_limited"))
		return
	}
	s.record(Message{Channel: WebhookChannel, Text: msg.Text, Blocks: msg.Blocks, Webhook: true}, c, now)
	s.mu.Unlock()
	if after != nil {
		answerAccepted(w, *after, true)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
}

// admit does what each Web API method of the fake does first: parse the form, apply an
// injected fault, check the token and, when scopes are named, that the token has one of
// them. It reports whether the request may go on.
func (s *Slack) admit(w http.ResponseWriter, r *http.Request, take func() (httpfake.Fault, bool), anyScope ...string) bool {
	s.count(false)
	if err := r.ParseForm(); err != nil {
		slackError(w, "invalid_form_data")
		return false
	}
	if f, ok := take(); ok && applyFault(w, f, false) {
		return false
	}
	if bearer(r) != s.opts.Token {
		slackError(w, "invalid_auth")
		return false
	}
	scopes := strings.Split(s.opts.Scopes, ",")
	if len(anyScope) > 0 && !slices.ContainsFunc(anyScope, func(sc string) bool { return slices.Contains(scopes, sc) }) {
		slackError(w, "missing_scope")
		return false
	}
	return true
}

// writePage answers one cursor page of items under key, as Slack's list methods do.
func writePage(w http.ResponseWriter, r *http.Request, key string, items []map[string]any) {
	limit, _ := strconv.Atoi(r.FormValue("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	off := min(decodeCursor(r.FormValue("cursor")), len(items))
	end := min(off+limit, len(items))
	resp := map[string]any{"ok": true, key: items[off:end], "has_more": end < len(items)}
	if end < len(items) {
		resp["response_metadata"] = map[string]any{"next_cursor": encodeCursor(end)}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Slack) conversationsHistory(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, func() (httpfake.Fault, bool) { return s.fault(&s.history) }, "channels:history", "groups:history") {
		return
	}
	id := r.FormValue("channel")
	s.mu.Lock()
	if c, ok := s.channels[id]; !isID(id) || ok && c.err == "channel_not_found" {
		s.mu.Unlock()
		slackError(w, "channel_not_found")
		return
	}
	oldest, _ := strconv.ParseFloat(r.FormValue("oldest"), 64)
	latest, _ := strconv.ParseFloat(r.FormValue("latest"), 64)
	withMeta := r.FormValue("include_all_metadata") == "1" || r.FormValue("include_all_metadata") == "true"
	var in []map[string]any
	for i := len(s.msgs) - 1; i >= 0; i-- { // newest first, as Slack
		m := s.msgs[i]
		ts, _ := strconv.ParseFloat(m.TS, 64)
		if m.Channel != id || m.Thread != "" || ts < oldest || (latest > 0 && ts > latest) {
			continue // thread replies are in conversations.replies
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "bot_id": "B0FAKE"}
		if withMeta && m.Metadata != nil {
			msg["metadata"] = m.Metadata
		}
		in = append(in, msg)
	}
	s.mu.Unlock()
	writePage(w, r, "messages", in)
}

// conversationsList lists the channels the fake knows: those named by ChannelID, by a
// post, or by a route, as a workspace's existing channels.
func (s *Slack) conversationsList(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, s.all.Take, "channels:read", "groups:read") {
		return
	}
	s.mu.Lock()
	var all []map[string]any
	for name, id := range s.names {
		all = append(all, map[string]any{"id": id, "name": name, "is_channel": true})
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b map[string]any) int { return strings.Compare(a["name"].(string), b["name"].(string)) })
	writePage(w, r, "channels", all)
}

func (s *Slack) authTest(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, s.all.Take) {
		return
	}
	w.Header().Set("X-OAuth-Scopes", s.opts.Scopes)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "url": "https://fake.slack.example/", "team": "Fake", "user": "lcwnotify",
		"team_id": "T0FAKE000", "user_id": "U0FAKE000", "bot_id": "B0FAKE",
	})
}
