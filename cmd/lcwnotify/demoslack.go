package main

// The Slack around the demo's re-run. The demo plays an on-call person who clicks "Re-run
// failed tasks" on a failure (democlick.go), and the part of Slack that lcwnotify's
// action handler talks to while it handles the click: the response_url of the click and
// chat.postEphemeral, through which the handler answers that person alone. The handler
// itself is lcwnotify's (notify/slack/interact), started as `run` starts it; only the
// person and this Slack around it are the demo's. It is part of the binary, so it owes
// nothing to the test fakes (internal/slacktest), which the binary never links.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// The demo's on-call person: a Slack user of a workspace of the demo's, the one user
// LCW_ACTIONS_ALLOWED names in the demo.
const (
	demoOnCallID   = "U0DEMOONCALL"
	demoOnCallName = "oncall"
	demoTeamID     = "T0DEMOTEAM"
	demoAppID      = "A0DEMOAPP"
)

// maxSlackBody bounds what the demo's Slack reads of a request: the handler's answers
// are a few hundred bytes.
const maxSlackBody = 64 << 10

// demoSlack is the Slack Web API the action handler calls in the demo, on loopback. What
// the handler tells the on-call person there, which in Slack only they would see, is
// printed.
type demoSlack struct {
	out   io.Writer
	token string // the handler's bot token: the demo's own, never LCW_SLACK_TOKEN
	hook  string // the path of the click's response_url, unguessable as Slack's are
	srv   *loopback
}

// startDemoSlack serves the demo's Slack on a loopback port until close.
func startDemoSlack(out io.Writer) (*demoSlack, error) {
	s := &demoSlack{out: out, token: "xoxb-demo-" + randomHex(12), hook: "/actions/" + demoTeamID + "/" + randomHex(6) + "/" + randomHex(12)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postEphemeral", s.postEphemeral)
	mux.HandleFunc("POST /api/{method}", func(w http.ResponseWriter, r *http.Request) {
		// Anything else the handler might call: answered as Slack answers a method it
		// does not have, so that a change in the handler shows as an error, not a hang.
		writeSlackJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	})
	mux.HandleFunc("POST "+s.hook, s.respond)
	srv, err := serveLoopback(mux)
	if err != nil {
		return nil, fmt.Errorf("demo: Slack: %w", err)
	}
	s.srv = srv
	return s, nil
}

// api is the Web API base the handler calls, with the token it calls it with.
func (s *demoSlack) api() slackAPI { return slackAPI{token: s.token, url: s.srv.url + "/api/"} }

// responseURL is the response_url of the demo's click.
func (s *demoSlack) responseURL() string { return s.srv.url + s.hook }

func (s *demoSlack) close() { s.srv.close() }

// postEphemeral serves chat.postEphemeral: the handler's fallback when the response_url
// does not answer. slack-go posts a form with the token in it.
func (s *demoSlack) postEphemeral(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSlackBody)
	if err := r.ParseForm(); err != nil {
		writeSlackJSON(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	switch {
	case token != s.token:
		writeSlackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	case r.PostForm.Get("user") != demoOnCallID:
		writeSlackJSON(w, map[string]any{"ok": false, "error": "user_not_in_channel"})
		return
	case r.PostForm.Get("text") == "":
		writeSlackJSON(w, map[string]any{"ok": false, "error": "no_text"})
		return
	}
	s.tell(r.PostForm.Get("text"))
	writeSlackJSON(w, map[string]any{"ok": true, "message_ts": fmt.Sprintf("%d.000100", time.Now().Unix())})
}

// respond serves the click's response_url: a JSON message, ephemeral unless it says
// otherwise (the handler never replaces the message the button was on).
func (s *demoSlack) respond(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSlackBody))
	var msg struct {
		Text string `json:"text"`
	}
	if err != nil || json.Unmarshal(body, &msg) != nil || msg.Text == "" {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.tell(msg.Text)
	writeSlackJSON(w, map[string]any{"ok": true})
}

// tell prints what the on-call person alone would read in Slack.
func (s *demoSlack) tell(mrkdwn string) {
	fmt.Fprintf(s.out, "(to @%s, only they see it) %s\n\n", demoOnCallName, plainMrkdwn(mrkdwn))
}

var mention = regexp.MustCompile(`<@([UW][A-Z0-9]+)>`)

// plainMrkdwn is Slack mrkdwn as a terminal shows it: bold without its asterisks (text
// from Graph has none: the handler escapes them), a mention of the on-call person as
// @oncall, and the three escaped characters as themselves.
func plainMrkdwn(s string) string {
	s = strings.ReplaceAll(s, "*", "")
	s = mention.ReplaceAllStringFunc(s, func(m string) string {
		if id := m[2 : len(m)-1]; id != demoOnCallID {
			return "@" + id
		}
		return "@" + demoOnCallName
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func writeSlackJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// loopback is an HTTP server of the demo's on a random loopback port.
type loopback struct {
	url  string
	srv  *http.Server
	done chan error
}

func serveLoopback(h http.Handler) (*loopback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &loopback{url: "http://" + ln.Addr().String(), done: make(chan error, 1),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go func() { l.done <- l.srv.Serve(ln) }()
	return l, nil
}

// close stops the server, waiting a little for requests in flight.
func (l *loopback) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.srv.Shutdown(ctx); err != nil {
		l.srv.Close()
	}
	<-l.done // http.ErrServerClosed, or why it stopped earlier: the demo is ending either way
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand's documented guarantee)
	return hex.EncodeToString(b)
}
