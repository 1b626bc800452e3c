// Package teamstest is a fake Microsoft Teams Workflows webhook for tests: an httptest
// server with one URL per flow ("post to a channel when a webhook request is received"),
// each signed like the real ones. It takes the envelope such a flow takes, checks the
// Adaptive Card in it (shape, element types and values, version at most 1.5), refuses
// a body over Teams' message size with 413 and more than four requests a second to one
// webhook with 429 and Retry-After, records the cards it accepted, and injects faults.
//
// A real flow answers 202 before it posts and fails its run, not the request, on a card
// Teams will not show: the fake refuses such a card with 400 instead, so that a test
// sees at once what a user would only see in the flow's run history.
package teamstest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// Teams' limits.
const (
	// DefaultMaxBytes is the ≈28 KB Teams takes in one message.
	DefaultMaxBytes = 28 << 10
	// DefaultLimit requests per DefaultWindow to one webhook are taken; more are
	// throttled.
	DefaultLimit  = 4
	DefaultWindow = time.Second
	// MaxVersion is the newest Adaptive Card version Teams renders.
	MaxVersion = "1.5"
)

// Options configure a fake.
type Options struct {
	// MaxBytes bounds a request's body; zero means DefaultMaxBytes.
	MaxBytes int
	// Limit requests per Window to one webhook are taken; the next within the window
	// gets 429. Zero means DefaultLimit and DefaultWindow; a negative Limit none.
	Limit  int
	Window time.Duration
	// RetryAfter is sent with a 429; empty means "1".
	RetryAfter string
}

// Server is a fake Teams. Close it when done.
type Server struct {
	srv    *httptest.Server
	opts   Options
	faults httpfake.Script

	mu    sync.Mutex
	hooks map[string]*hook // by path
	cards []Card
	stats Stats
}

type hook struct {
	name, sig    string
	calls        []time.Time
	limitedUntil time.Time
}

// Card is one Adaptive Card the fake accepted.
type Card struct {
	// Webhook is the name the webhook was made with.
	Webhook string
	// Card is the card's JSON as received.
	Card map[string]any
	// Texts are the card's TextBlock texts, in order.
	Texts []string
	// Actions are its OpenUrl actions.
	Actions []Action
	// Bytes is the size of the request that carried it.
	Bytes    int
	Received time.Time
}

// Action is an Action.OpenUrl.
type Action struct{ Title, URL string }

// Text returns the card's texts, one per line.
func (c Card) Text() string { return strings.Join(c.Texts, "\n") }

// Stats counts what the fake saw.
type Stats struct {
	Requests int
	// Posted counts requests taken.
	Posted int
	// Refused counts 400s (a card Teams would not show) and TooLarge 413s.
	Refused, TooLarge int
	// RateLimited counts 429s; Violations the requests that came inside a Retry-After
	// the fake had set.
	RateLimited, Violations int
}

// New starts a fake on a loopback port.
func New(opts Options) *Server {
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Limit == 0 {
		opts.Limit = DefaultLimit
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.RetryAfter == "" {
		opts.RetryAfter = "1"
	}
	s := &Server{opts: opts, hooks: map[string]*hook{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close shuts the fake down.
func (s *Server) Close() { s.srv.Close() }

// Webhook makes a flow named name and returns its URL, shaped like a Workflows
// trigger's: the sig parameter is its credential.
func (s *Server) Webhook(name string) string {
	id, sig := random(16), random(22)
	path := "/workflows/" + id + "/triggers/manual/paths/invoke"
	s.mu.Lock()
	s.hooks[path] = &hook{name: name, sig: sig}
	s.mu.Unlock()
	return s.srv.URL + path + "?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sig
}

// Signature returns the sig of the webhook named name, for tests that check it never
// leaks.
func (s *Server) Signature(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hooks {
		if h.name == name {
			return h.sig
		}
	}
	return ""
}

// FailNext answers the next n requests with f instead of serving them.
func (s *Server) FailNext(n int, f httpfake.Fault) { s.faults.FailNext(n, f) }

// FailFor answers every request with f for d (d ≤ 0 stops it).
func (s *Server) FailFor(d time.Duration, f httpfake.Fault) { s.faults.FailFor(d, f) }

// Cards returns the cards accepted, in order: every webhook's, or those of the webhooks
// named.
func (s *Server) Cards(webhooks ...string) []Card {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(webhooks) == 0 {
		return slices.Clone(s.cards)
	}
	var out []Card
	for _, c := range s.cards {
		if slices.Contains(webhooks, c.Webhook) {
			out = append(out, c)
		}
	}
	return out
}

// Stats returns what the fake counted.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
