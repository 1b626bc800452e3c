package slacktest

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// find returns the index of the message at ts in channel id, or -1. s.mu must be held.
func (s *Slack) find(id, ts string) int {
	for i := range s.msgs {
		if s.msgs[i].Channel == id && s.msgs[i].TS == ts {
			return i
		}
	}
	return -1
}

// Thread returns the replies to the message at ts in channel, oldest first.
func (s *Slack) Thread(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.resolve(channel)
	var out []Message
	for _, m := range s.msgs {
		if m.Channel == id && m.Thread == ts {
			out = append(out, m)
		}
	}
	return out
}

// Message returns the message at ts in channel as it stands, after any update.
func (s *Slack) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.resolve(channel)
	if i := s.find(id, ts); i >= 0 {
		return s.msgs[i], true
	}
	return Message{}, false
}

// chatUpdate replaces a message's text and blocks, as chat.update does. Slack keeps its
// metadata unless the update gives new metadata.
func (s *Slack) chatUpdate(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, func() (httpfake.Fault, bool) { return s.fault(&s.posts) }) {
		return
	}
	text, blocks := r.FormValue("text"), json.RawMessage(r.FormValue("blocks"))
	if code := s.checkContent(text, blocks); code != "" {
		slackError(w, code)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Updates++
	id, ok := s.resolve(r.FormValue("channel"))
	if !ok {
		slackError(w, "channel_not_found")
		return
	}
	i := s.find(id, r.FormValue("ts"))
	if i < 0 {
		slackError(w, "message_not_found")
		return
	}
	m := &s.msgs[i]
	m.Text, m.Blocks, m.Updates = text, blocks, m.Updates+1
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": id, "ts": m.TS, "text": text})
}

// conversationsReplies lists a thread: its parent first, then the replies oldest first,
// with metadata when asked, as conversations.replies does.
func (s *Slack) conversationsReplies(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, func() (httpfake.Fault, bool) { return s.fault(&s.history) }, "channels:history", "groups:history") {
		return
	}
	id, root := r.FormValue("channel"), r.FormValue("ts")
	oldest, _ := strconv.ParseFloat(r.FormValue("oldest"), 64)
	withMeta := r.FormValue("include_all_metadata") == "1" || r.FormValue("include_all_metadata") == "true"
	s.mu.Lock()
	if s.find(id, root) < 0 {
		s.mu.Unlock()
		slackError(w, "thread_not_found")
		return
	}
	var out []map[string]any
	for _, m := range s.msgs {
		ts, _ := strconv.ParseFloat(m.TS, 64)
		if m.Channel != id || m.TS != root && m.Thread != root || m.TS != root && ts < oldest {
			continue
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "bot_id": "B0FAKE"}
		if m.Thread != "" {
			msg["thread_ts"] = m.Thread
		}
		if withMeta && m.Metadata != nil {
			msg["metadata"] = m.Metadata
		}
		out = append(out, msg)
	}
	s.mu.Unlock()
	writePage(w, r, "messages", out)
}
