package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/status"
)

// reportTimeout bounds the gathering of one report.
const reportTimeout = 20 * time.Second

// view is what the page's templates are given.
type view struct {
	R        *status.Report
	Filter   status.Filter
	Options  status.FilterOptions
	CSRF     string
	Flash    *flash
	LoggedIn bool // with a token: show the logout button
	Replays  bool // this process can replay
	Now      time.Time
	Version  string
	// Query is the filter as a query string, for the live updates and the links.
	Query string
	// Health sums the report up: "ok", "warn" or "bad", and what it says.
	Health, HealthText string
	States             []string
	Unresolved         int
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	id := h.g.check(r)
	if !id.ok {
		h.refuse(w, r)
		return
	}
	if id.nonce == "" && !id.bearer {
		// Loopback without a token: a session of its own, for the CSRF token.
		id.nonce = h.g.newSession(w, r)
	}
	v, err := h.view(r, id)
	if err != nil {
		http.Error(w, "the request ended before the report was ready", http.StatusServiceUnavailable)
		return
	}
	v.Flash = h.flash.get(r.URL.Query().Get("done"))
	h.render(w, "page", v)
}

// view gathers the report r asks for.
func (h *Handler) view(r *http.Request, id who) (*view, error) {
	f := status.ParseFilter(r.URL.Query())
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := h.o.Source.Report(ctx, f)
	if err != nil {
		return nil, err
	}
	v := &view{R: rep, Filter: f, Options: rep.Failures.Options, CSRF: h.g.csrf(id.nonce),
		LoggedIn: h.g.token != nil && !id.bearer, Replays: h.o.Replayer != nil, Now: rep.Generated,
		Version: h.o.Version, Query: f.Values().Encode(), States: status.States}
	v.sumUp()
	return v, nil
}

// sumUp says at a glance whether anything needs a person.
func (v *view) sumUp() {
	var bad, warn []string
	for _, f := range v.R.Failures.Items {
		if f.State != status.StateResolved {
			v.Unresolved++
		}
	}
	if n := len(v.R.DeadLetters); n > 0 && notReplayed(v.R.DeadLetters) > 0 {
		bad = append(bad, plural(notReplayed(v.R.DeadLetters), "dead letter", "dead letters")+" to replay")
	}
	w := v.R.Watcher
	switch {
	case w.Local != nil && w.Local.GraphRefusal != "":
		bad = append(bad, "Microsoft Graph refuses the watcher")
	case !w.Live:
		bad = append(bad, "no watcher holds the polling lease")
	}
	for _, p := range w.Workflows {
		if p.Overdue {
			warn = append(warn, "polls overdue")
			break
		}
	}
	if w.Local != nil && w.Local.Throttled > 0 {
		warn = append(warn, "Graph throttling")
	}
	if n := len(v.R.Workflows); n > 0 {
		warn = append(warn, plural(n, "workflow", "workflows")+" quarantined or disabled")
	}
	for _, d := range v.R.Destinations {
		if d.Local != nil && d.Local.LastErrorAt.After(d.Local.LastSuccess) {
			warn = append(warn, d.Sink+" failing")
		}
	}
	if len(v.R.Problems) > 0 {
		warn = append(warn, "part of the state could not be read")
	}
	switch {
	case len(bad) > 0:
		v.Health, v.HealthText = "bad", strings.Join(append(bad, warn...), " · ")
	case len(warn) > 0:
		v.Health, v.HealthText = "warn", strings.Join(warn, " · ")
	default:
		v.Health, v.HealthText = "ok", "All good"
	}
}

func notReplayed(dls []status.DeadLetter) int {
	n := 0
	for _, dl := range dls {
		if dl.Replayed == nil {
			n++
		}
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// render writes template name with v, or a plain error if it fails halfway.
func (h *Handler) render(w http.ResponseWriter, name string, v any) {
	var b bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&b, name, v); err != nil {
		h.log.Error("cannot render the status page", "template", name, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// refuse answers a request without access: the login form for a page, 401 otherwise.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request) {
	if h.g.token == nil {
		// Loopback without a token, and a host name that is not loopback's.
		http.Error(w, "this status page answers to localhost only", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="lcwnotify"`)
	http.Error(w, "unauthorized: log in, or send Authorization: Bearer <LCW_UI_TOKEN>", http.StatusUnauthorized)
}

type loginView struct {
	Next, Error string
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if h.g.token == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.render(w, "login", loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	if h.g.token == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if err := h.g.cop.Check(r); err != nil || !h.g.tokenMatches(r.PostFormValue("token")) {
		time.Sleep(failedLoginDelay)
		h.log.Warn("refused a login to the status page", "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		h.render(w, "login", loginView{Next: next, Error: "That is not the token. It is LCW_UI_TOKEN of the running lcwnotify."})
		return
	}
	h.g.newSession(w, r)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if id := h.g.check(r); !h.g.mutationAllowed(r, id) {
		http.Error(w, "forbidden: the form is stale, reload the page", http.StatusForbidden)
		return
	}
	endSession(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect on this server: a path, never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// replayForm replays the dead letter the page's button names, or all of them, and
// redirects back to the page with the outcome.
func (h *Handler) replayForm(w http.ResponseWriter, r *http.Request) {
	id := h.g.check(r)
	if !id.ok {
		h.refuse(w, r)
		return
	}
	if !h.g.mutationAllowed(r, id) {
		http.Error(w, "forbidden: the form's CSRF token is missing or stale; reload the page and try again", http.StatusForbidden)
		return
	}
	if h.o.Replayer == nil {
		http.Error(w, "this process delivers to no destination: replay from one that does", http.StatusConflict)
		return
	}
	all := r.PostFormValue("all") == "1"
	var ids []string
	if dl := r.PostFormValue("id"); dl != "" {
		ids = []string{dl}
	}
	if !all && len(ids) == 0 {
		http.Error(w, "no dead letter named", http.StatusBadRequest)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(replayTimeout))
	ctx, cancel := context.WithTimeout(r.Context(), replayTimeout)
	defer cancel()
	out, err := h.o.Source.ReplayDeadLetters(ctx, ids, all, h.o.Replayer, nil)
	fl := flash{Title: "Replay"}
	if err != nil {
		fl.Problem = true
		fl.Lines = append(fl.Lines, "The replay stopped: "+err.Error())
	}
	for _, o := range out {
		line := o.ID + ": " + o.Result
		if o.Error != "" {
			line += " — " + o.Error
			fl.Problem = true
		}
		fl.Lines = append(fl.Lines, line)
	}
	h.log.Info("dead letters replayed from the status page", "ids", ids, "all", all, "outcomes", len(out))
	// Back to the page as it was filtered, which the form carries.
	q, _ := url.ParseQuery(r.PostFormValue("query"))
	f := status.ParseFilter(q).Values()
	f.Set("done", h.flash.put(fl))
	http.Redirect(w, r, "/?"+f.Encode()+"#dead-letters", http.StatusSeeOther)
}

// replayTimeout bounds a replay asked for over HTTP.
const replayTimeout = 10 * time.Minute

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
