// Package pagerdutytest is a fake PagerDuty Events API v2 for tests: an httptest server
// that takes POST /v2/enqueue as PagerDuty documents it, refuses what PagerDuty refuses
// (a malformed event, a routing key not 32 characters long, a summary over 1024
// characters, an unknown severity) with 400 and PagerDuty's {"status","message","errors"},
// answers 429 past its rate limit per routing key, keeps alerts as dedup_key makes
// PagerDuty keep them, records what it accepted, and injects faults.
package pagerdutytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// Documented limits of the Events API v2.
const (
	RoutingKeyLen = 32
	MaxSummary    = 1024
	MaxDedupKey   = 255
	MaxBody       = 512 << 10
	// DefaultLimit events per DefaultWindow per routing key: "approximately 120
	// calls/minute per integration key", counted over the 60 seconds before each call.
	DefaultLimit  = 120
	DefaultWindow = time.Minute
)

// Options configure a fake.
type Options struct {
	// Keys are the routing keys the fake knows; an event with another is refused.
	// Empty accepts any well-formed key.
	Keys []string
	// Limit events per Window per routing key are taken; the next one within the window
	// gets 429. Zero means DefaultLimit and DefaultWindow; a negative Limit none.
	Limit  int
	Window time.Duration
}

// Server is a fake Events API. Close it when done.
type Server struct {
	srv    *httptest.Server
	opts   Options
	faults httpfake.Script

	mu     sync.Mutex
	events []Event
	alerts []*Alert
	calls  map[string][]time.Time // routing key → times of the calls in the window
	stats  Stats
}

// Event is one event the fake accepted.
type Event struct {
	RoutingKey, Action, DedupKey string
	// Payload is the trigger's payload, nil for acknowledge and resolve.
	Payload *Payload
	Links   []Link
	Client  string
	// Raw is the request body.
	Raw      []byte
	Received time.Time
}

// Payload is a trigger's payload.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp"`
	Component     string         `json:"component"`
	Group         string         `json:"group"`
	Class         string         `json:"class"`
	CustomDetails map[string]any `json:"custom_details"`
}

// Link is one of an event's links.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// Alert is an alert as PagerDuty keeps it: opened by a trigger, deduplicated on its
// dedup_key (and routing key) while open, closed by a resolve.
type Alert struct {
	RoutingKey, DedupKey string
	// Triggers counts the triggers it took: the first opened it, the others were
	// deduplicated into it.
	Triggers int
	Resolved bool
	// Summary and Severity are the latest trigger's.
	Summary, Severity  string
	Opened, ResolvedAt time.Time
}

// Stats counts what the fake saw.
type Stats struct {
	Requests int
	Accepted int
	// Refused counts 400 answers: events PagerDuty would never take.
	Refused int
	// RateLimited counts 429 answers.
	RateLimited int
	// Dropped counts resolves and acknowledges for no open alert, which PagerDuty drops.
	Dropped int
}

// New starts a fake on a loopback port.
func New(opts Options) *Server {
	if opts.Limit == 0 {
		opts.Limit = DefaultLimit
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	s := &Server{opts: opts, calls: map[string][]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/enqueue", s.enqueue)
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the Events API root (LCW_PAGERDUTY_URL): events go to URL()+"/v2/enqueue".
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the fake down.
func (s *Server) Close() { s.srv.Close() }

// FailNext answers the next n requests with f instead of serving them.
func (s *Server) FailNext(n int, f httpfake.Fault) { s.faults.FailNext(n, f) }

// FailFor answers every request with f for d (d ≤ 0 stops it).
func (s *Server) FailFor(d time.Duration, f httpfake.Fault) { s.faults.FailFor(d, f) }

// Events returns every event the fake accepted, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Alerts returns every alert, in the order they opened.
func (s *Server) Alerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alert, len(s.alerts))
	for i, a := range s.alerts {
		out[i] = *a
	}
	return out
}

// Alert returns the latest alert of dedupKey at routingKey.
func (s *Server) Alert(routingKey, dedupKey string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.latest(routingKey, dedupKey); a != nil {
		return *a, true
	}
	return Alert{}, false
}

// Stats returns what the fake counted.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// RoutingKey returns a routing key made from seed: 32 hexadecimal digits, as PagerDuty's
// integration keys are.
func RoutingKey(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])[:RoutingKeyLen]
}

func (s *Server) latest(routingKey, dedupKey string) *Alert {
	for i := len(s.alerts) - 1; i >= 0; i-- {
		if a := s.alerts[i]; a.RoutingKey == routingKey && a.DedupKey == dedupKey {
			return a
		}
	}
	return nil
}

// apply records ev and does to the alerts what PagerDuty does: an acknowledge or resolve
// that finds no open alert is dropped.
func (s *Server) apply(ev Event) {
	s.events = append(s.events, ev)
	s.stats.Accepted++
	open := s.latest(ev.RoutingKey, ev.DedupKey)
	if open != nil && open.Resolved {
		open = nil
	}
	switch ev.Action {
	case "trigger":
		if open == nil {
			open = &Alert{RoutingKey: ev.RoutingKey, DedupKey: ev.DedupKey, Opened: ev.Received}
			s.alerts = append(s.alerts, open)
		}
		open.Triggers++
		open.Summary, open.Severity = ev.Payload.Summary, ev.Payload.Severity
	case "resolve":
		if open == nil {
			s.stats.Dropped++
			return
		}
		open.Resolved, open.ResolvedAt = true, ev.Received
	case "acknowledge":
		if open == nil {
			s.stats.Dropped++
		}
	}
}

// limited reports whether routingKey is past its limit, counting this call.
func (s *Server) limited(routingKey string, now time.Time) bool {
	if s.opts.Limit < 0 {
		return false
	}
	calls := slices.DeleteFunc(s.calls[routingKey], func(t time.Time) bool { return now.Sub(t) >= s.opts.Window })
	if len(calls) >= s.opts.Limit {
		s.calls[routingKey] = calls
		return true
	}
	s.calls[routingKey] = append(calls, now)
	return false
}

// answer writes PagerDuty's JSON answer.
func answer(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
