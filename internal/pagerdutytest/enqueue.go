package pagerdutytest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// severities PagerDuty accepts.
var severities = []string{"critical", "error", "warning", "info"}

// request is an event as it arrives, every field optional so that the fake can say
// which one is missing or of the wrong type.
type request struct {
	RoutingKey  *string          `json:"routing_key"`
	EventAction *string          `json:"event_action"`
	DedupKey    *string          `json:"dedup_key"`
	Payload     *json.RawMessage `json:"payload"`
	Client      *string          `json:"client"`
	ClientURL   *string          `json:"client_url"`
	Links       []Link           `json:"links"`
	Images      []struct {
		Src string `json:"src"`
	} `json:"images"`
}

func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	body, tooLarge := readBody(r)
	now := time.Now()
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()
	if f, faulty := s.faults.Take(); faulty {
		s.fault(w, f, body, now)
		return
	}
	if r.Method != http.MethodPost {
		answer(w, http.StatusMethodNotAllowed, map[string]string{"status": "error", "message": "only POST"})
		return
	}
	if tooLarge {
		answer(w, http.StatusRequestEntityTooLarge, map[string]string{"status": "invalid event", "message": "Request too large"})
		return
	}
	ev, errs := s.parse(r, body, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(errs) > 0 {
		s.stats.Refused++
		answer(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
		return
	}
	if s.limited(ev.RoutingKey, now) {
		s.stats.RateLimited++
		answer(w, http.StatusTooManyRequests, map[string]string{"status": "throttle event", "message": "Requests for this service are arriving too quickly.  Please retry later."})
		return
	}
	s.apply(ev)
	answer(w, http.StatusAccepted, map[string]string{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

// fault answers with f; a lost response is accepted first, as if PagerDuty took the
// event and the answer never came back.
func (s *Server) fault(w http.ResponseWriter, f httpfake.Fault, body []byte, now time.Time) {
	if f.LoseResponse {
		if ev, errs := s.parse(&http.Request{Header: http.Header{"Content-Type": {"application/json"}}}, body, now); len(errs) == 0 {
			s.mu.Lock()
			s.apply(ev)
			s.mu.Unlock()
		}
		httpfake.DropConnection(w)
		return
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	code := max(f.Status, 400)
	if f.Error != "" {
		answer(w, code, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{f.Error}})
		return
	}
	w.WriteHeader(code)
}

func readBody(r *http.Request) ([]byte, bool) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	return b, len(b) > MaxBody
}

// parse checks body as PagerDuty checks an event and returns it, or every problem.
func (s *Server) parse(r *http.Request, body []byte, now time.Time) (Event, []string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return Event{}, []string{"Content-Type must be application/json"}
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return Event{}, []string{"Event object is not valid JSON: " + err.Error()}
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	ev := Event{Raw: body, Received: now, Links: req.Links}
	switch {
	case req.RoutingKey == nil:
		bad("'routing_key' is missing or blank")
	case len(*req.RoutingKey) != RoutingKeyLen:
		bad("Length of 'routing_key' is incorrect (should be %d characters)", RoutingKeyLen)
	case len(s.opts.Keys) > 0 && !slices.Contains(s.opts.Keys, *req.RoutingKey):
		bad("Invalid routing key")
	default:
		ev.RoutingKey = *req.RoutingKey
	}
	if req.EventAction == nil || !slices.Contains([]string{"trigger", "acknowledge", "resolve"}, *req.EventAction) {
		bad("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')")
	} else {
		ev.Action = *req.EventAction
	}
	if req.DedupKey != nil {
		ev.DedupKey = *req.DedupKey
		if utf8.RuneCountInString(ev.DedupKey) > MaxDedupKey {
			bad("'dedup_key' is too long (maximum is %d characters)", MaxDedupKey)
		}
	}
	if ev.Action == "trigger" {
		p, perrs := parsePayload(req.Payload)
		errs = append(errs, perrs...)
		ev.Payload = p
		if ev.DedupKey == "" {
			ev.DedupKey = fmt.Sprintf("generated-%d", now.UnixNano())
		}
	} else if ev.Action != "" && ev.DedupKey == "" {
		bad("'dedup_key' is missing or blank")
	}
	if req.Client != nil {
		ev.Client = *req.Client
	}
	if req.ClientURL != nil && !absolute(*req.ClientURL) {
		bad("'client_url' is not a URL")
	}
	for _, l := range req.Links {
		if !absolute(l.Href) {
			bad("'links' entries need an 'href' URL")
		}
	}
	for _, img := range req.Images {
		if u, err := url.Parse(img.Src); err != nil || u.Scheme != "https" {
			bad("'images' entries need an https 'src'")
		}
	}
	return ev, errs
}

// parsePayload checks a trigger's payload: summary, source and severity required, the
// summary at most 1024 characters, the severity one of four, custom_details an object.
func parsePayload(raw *json.RawMessage) (*Payload, []string) {
	if raw == nil {
		return nil, []string{"'payload' is missing"}
	}
	var p Payload
	if err := json.Unmarshal(*raw, &p); err != nil {
		return nil, []string{"'payload' is invalid: " + err.Error()}
	}
	var errs []string
	switch n := utf8.RuneCountInString(p.Summary); {
	case p.Summary == "":
		errs = append(errs, "'payload.summary' is missing or blank")
	case n > MaxSummary:
		errs = append(errs, fmt.Sprintf("'payload.summary' is too long (%d characters, maximum is %d)", n, MaxSummary))
	}
	if p.Source == "" {
		errs = append(errs, "'payload.source' is missing or blank")
	}
	if !slices.Contains(severities, p.Severity) {
		errs = append(errs, "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')")
	}
	if p.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339Nano, p.Timestamp); err != nil {
			errs = append(errs, "'payload.timestamp' is not an ISO 8601 timestamp")
		}
	}
	return &p, errs
}

func absolute(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http")
}
