// Package web serves lcwnotify's status page and the JSON API the operator commands
// use: server-rendered HTML (html/template, everything embedded, nothing fetched from
// elsewhere), live through Server-Sent Events where JavaScript runs, usable without it.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/status"
)

//go:embed templates static
var files embed.FS

// Source is what the page shows; *status.Reader implements it.
type Source interface {
	Report(ctx context.Context, f status.Filter) (*status.Report, error)
	ReplayDeadLetters(ctx context.Context, ids []string, all bool, rp status.Replayer, progress func(done, total int)) ([]status.ReplayOutcome, error)
	ReplayPeriod(ctx context.Context, p status.PeriodReplay, rp status.Replayer, progress func(done, total int)) (*status.PeriodResult, error)
}

// Options configure a Handler.
type Options struct {
	Source Source
	// Replayer replays through the process's delivery stages; nil when it delivers to
	// no destination (the replay buttons are then absent and the API refuses).
	Replayer status.Replayer
	// Token is LCW_UI_TOKEN; empty only when Loopback.
	Token string
	// Loopback: the server listens on loopback addresses only.
	Loopback bool
	// Version names the build in the page's footer.
	Version string
	// LiveInterval is how often the live page looks for changes; default 3s.
	LiveInterval time.Duration
	Logger       *slog.Logger
}

// Handler serves the page, the login form, the live updates and the API.
type Handler struct {
	o     Options
	g     *guard
	tmpl  *template.Template
	log   *slog.Logger
	flash *flashes
	// live bounds the live connections open at once.
	live chan struct{}
	// stop ends the live connections: an HTTP server's shutdown waits for the requests
	// in flight, and a live page's never ends by itself.
	stop     chan struct{}
	stopOnce sync.Once
}

// Stop ends the live updates in progress, and refuses new ones. Call it when the HTTP
// server shuts down (http.Server.RegisterOnShutdown).
func (h *Handler) Stop() { h.stopOnce.Do(func() { close(h.stop) }) }

// maxLive is how many live pages may be open at once.
const maxLive = 32

// New checks o and returns a Handler.
func New(o Options) (*Handler, error) {
	switch {
	case o.Source == nil:
		return nil, errors.New("web: no source of reports")
	case o.Token == "" && !o.Loopback:
		return nil, errors.New("web: a status page beyond loopback needs a token")
	}
	if o.LiveInterval <= 0 {
		o.LiveInterval = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	t, err := template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	return &Handler{o: o, g: newGuard(o.Token, o.Loopback), tmpl: t, log: o.Logger.With("component", "ui"),
		flash: newFlashes(), live: make(chan struct{}, maxLive), stop: make(chan struct{})}, nil
}

// Register adds the handler's routes to mux: /, /login, /logout, /live, /dlq/replay,
// /static/ and /api/.
func (h *Handler) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", secure(http.StripPrefix("/static/", http.FileServerFS(static))))
	mux.Handle("GET /{$}", secure(http.HandlerFunc(h.page)))
	mux.Handle("GET /login", secure(http.HandlerFunc(h.loginForm)))
	mux.Handle("POST /login", secure(http.HandlerFunc(h.login)))
	mux.Handle("POST /logout", secure(http.HandlerFunc(h.logout)))
	mux.Handle("GET /live", secure(http.HandlerFunc(h.liveUpdates)))
	mux.Handle("POST /dlq/replay", secure(http.HandlerFunc(h.replayForm)))
	mux.Handle("GET /api/session", secure(http.HandlerFunc(h.apiSession)))
	mux.Handle("GET /api/status", secure(http.HandlerFunc(h.apiStatus)))
	mux.Handle("GET /api/dlq", secure(http.HandlerFunc(h.apiDeadLetters)))
	mux.Handle("POST /api/dlq/replay", secure(http.HandlerFunc(h.apiReplayDeadLetters)))
	mux.Handle("POST /api/replay", secure(http.HandlerFunc(h.apiReplay)))
}

// secure sets the headers every answer carries: nothing but this server's own files,
// no framing, no sniffing, no caching of pages that show user names.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		if len(r.URL.Path) < 8 || r.URL.Path[:8] != "/static/" {
			hd.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// flashes keeps the outcome of a form's action for the page it redirects to, under a
// random id, for a minute: the page never shows text taken from its address.
type flashes struct {
	mu sync.Mutex
	m  map[string]flash
}

type flash struct {
	Title   string
	Lines   []string
	Problem bool
	at      time.Time
}

func newFlashes() *flashes { return &flashes{m: map[string]flash{}} }

func (f *flashes) put(fl flash) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for id, old := range f.m {
		if now.Sub(old.at) > time.Minute {
			delete(f.m, id)
		}
	}
	fl.at = now
	id := randomID()
	f.m[id] = fl
	return id
}

func (f *flashes) get(id string) *flash {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.m[id]
	if !ok || time.Since(fl.at) > time.Minute {
		return nil
	}
	return &fl
}
