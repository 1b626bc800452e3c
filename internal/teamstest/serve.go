package teamstest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
)

// refuse answers as Logic Apps, which runs Workflows, answers a refusal.
func refuse(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": errCode, "message": msg}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, int64(s.opts.MaxBytes)*4))
	now := time.Now()
	s.mu.Lock()
	s.stats.Requests++
	h := s.hooks[r.URL.Path]
	s.mu.Unlock()
	f, faulty := s.faults.Take()
	switch {
	case faulty && !f.LoseResponse:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		refuse(w, max(f.Status, 400), "InjectedFault", f.Error)
		return
	case h == nil:
		refuse(w, http.StatusNotFound, "WorkflowNotFound", "The workflow could not be found.")
		return
	case r.URL.Query().Get("sig") != h.sig:
		refuse(w, http.StatusUnauthorized, "DirectApiInvalidAuthorizationSignature", "The provided authorization signature is invalid.")
		return
	case r.Method != http.MethodPost:
		refuse(w, http.StatusMethodNotAllowed, "TriggerRequestMethodNotValid", "The HTTP method for this request is not valid: expected 'Post'.")
		return
	}
	if s.throttled(h, now) {
		w.Header().Set("Retry-After", s.opts.RetryAfter)
		refuse(w, http.StatusTooManyRequests, "WorkflowRequestsThrottled", "Number of requests exceeded the limit.")
		return
	}
	if len(body) > s.opts.MaxBytes {
		s.count(func(st *Stats) { st.TooLarge++ })
		refuse(w, http.StatusRequestEntityTooLarge, "MessageSizeTooLarge", fmt.Sprintf("The message is %d bytes; at most %d are taken.", len(body), s.opts.MaxBytes))
		return
	}
	cards, err := parse(r.Header.Get("Content-Type"), body)
	if err != nil {
		s.count(func(st *Stats) { st.Refused++ })
		refuse(w, http.StatusBadRequest, "InvalidRequestContent", err.Error())
		return
	}
	s.mu.Lock()
	for _, c := range cards {
		c.Webhook, c.Bytes, c.Received = h.name, len(body), now
		s.cards = append(s.cards, c)
	}
	s.stats.Posted++
	s.mu.Unlock()
	if faulty && f.LoseResponse {
		httpfake.DropConnection(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

// throttled reports whether h is past its limit, counting this request, and sets a
// Retry-After window when it is.
func (s *Server) throttled(h *hook, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(h.limitedUntil) {
		s.stats.Violations++
	}
	if s.opts.Limit < 0 {
		return false
	}
	h.calls = slices.DeleteFunc(h.calls, func(t time.Time) bool { return now.Sub(t) >= s.opts.Window })
	if len(h.calls) >= s.opts.Limit {
		s.stats.RateLimited++
		if secs, err := strconv.Atoi(s.opts.RetryAfter); err == nil {
			h.limitedUntil = now.Add(time.Duration(secs) * time.Second)
		}
		return true
	}
	h.calls = append(h.calls, now)
	return false
}

// parse checks a request as the flow's trigger and Teams would, and returns its cards.
func parse(contentType string, body []byte) ([]Card, error) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return nil, fmt.Errorf("the request's Content-Type must be application/json, not %q", contentType)
	}
	var env struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string          `json:"contentType"`
			Content     json.RawMessage `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("the body is not the message JSON: %v", err)
	}
	if env.Type != "message" || len(env.Attachments) == 0 {
		return nil, fmt.Errorf(`want {"type":"message","attachments":[…]} with at least one attachment`)
	}
	var cards []Card
	for i, a := range env.Attachments {
		if a.ContentType != "application/vnd.microsoft.card.adaptive" {
			return nil, fmt.Errorf("attachment %d: contentType %q is not an Adaptive Card", i, a.ContentType)
		}
		c, err := parseCard(a.Content)
		if err != nil {
			return nil, fmt.Errorf("attachment %d: %v", i, err)
		}
		cards = append(cards, c)
	}
	return cards, nil
}

func parseCard(raw json.RawMessage) (Card, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return Card{}, fmt.Errorf("the card is not a JSON object")
	}
	if m["type"] != "AdaptiveCard" {
		return Card{}, fmt.Errorf(`the card's type must be "AdaptiveCard"`)
	}
	v, _ := m["version"].(string)
	if !versionAtMost(v, MaxVersion) {
		return Card{}, fmt.Errorf("card version %q: Teams renders Adaptive Cards up to %s", v, MaxVersion)
	}
	body, ok := m["body"].([]any)
	if !ok || len(body) == 0 {
		return Card{}, fmt.Errorf("the card has no body")
	}
	c := Card{Card: m}
	if err := walk(body, &c); err != nil {
		return Card{}, err
	}
	if acts, ok := m["actions"]; ok {
		list, ok := acts.([]any)
		if !ok {
			return Card{}, fmt.Errorf("actions must be an array")
		}
		for _, a := range list {
			act, err := parseAction(a)
			if err != nil {
				return Card{}, err
			}
			if act != nil {
				c.Actions = append(c.Actions, *act)
			}
		}
	}
	return c, nil
}

// Values Adaptive Cards 1.5 allows.
var (
	elementTypes = []string{"TextBlock", "RichTextBlock", "Image", "Media", "Container", "ColumnSet", "Column", "FactSet", "ImageSet", "ActionSet", "Table"}
	enums        = map[string][]string{
		"size":    {"Default", "Small", "Medium", "Large", "ExtraLarge"},
		"weight":  {"Default", "Lighter", "Bolder"},
		"color":   {"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"},
		"spacing": {"None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"},
		"style":   {"default", "emphasis", "good", "attention", "warning", "accent"},
	}
	actionTypes = []string{"Action.OpenUrl", "Action.Submit", "Action.ShowCard", "Action.ToggleVisibility", "Action.Execute"}
)

// walk checks elements and collects their texts.
func walk(elements []any, c *Card) error {
	for i, e := range elements {
		el, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("element %d is not an object", i)
		}
		typ, _ := el["type"].(string)
		if !slices.Contains(elementTypes, typ) {
			return fmt.Errorf("element %d: unknown type %q", i, typ)
		}
		for prop, allowed := range enums {
			if v, ok := el[prop]; ok {
				if s, ok := v.(string); !ok || !slices.Contains(allowed, s) {
					return fmt.Errorf("element %d: %s %v is not one of %v", i, prop, v, allowed)
				}
			}
		}
		switch typ {
		case "TextBlock":
			t, ok := el["text"].(string)
			if !ok || t == "" {
				return fmt.Errorf("element %d: a TextBlock needs text", i)
			}
			c.Texts = append(c.Texts, t)
		case "Container", "Column":
			items, ok := el["items"].([]any)
			if !ok {
				return fmt.Errorf("element %d: a %s needs items", i, typ)
			}
			if err := walk(items, c); err != nil {
				return err
			}
		case "FactSet":
			facts, ok := el["facts"].([]any)
			if !ok {
				return fmt.Errorf("element %d: a FactSet needs facts", i)
			}
			for _, f := range facts {
				fm, _ := f.(map[string]any)
				t, ok1 := fm["title"].(string)
				v, ok2 := fm["value"].(string)
				if !ok1 || !ok2 {
					return fmt.Errorf("element %d: a fact needs a title and a value", i)
				}
				c.Texts = append(c.Texts, t+" "+v)
			}
		}
	}
	return nil
}

func parseAction(a any) (*Action, error) {
	am, ok := a.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("an action is not an object")
	}
	typ, _ := am["type"].(string)
	if !slices.Contains(actionTypes, typ) {
		return nil, fmt.Errorf("unknown action type %q", typ)
	}
	if typ != "Action.OpenUrl" {
		return nil, nil
	}
	title, _ := am["title"].(string)
	raw, _ := am["url"].(string)
	if u, err := url.Parse(raw); err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("Action.OpenUrl needs an absolute url")
	}
	return &Action{Title: title, URL: raw}, nil
}

// versionAtMost compares "major.minor" versions.
func versionAtMost(v, most string) bool {
	parse := func(s string) (int, int, bool) {
		a, b, ok := strings.Cut(s, ".")
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		return x, y, ok && err1 == nil && err2 == nil
	}
	x, y, ok := parse(v)
	mx, my, _ := parse(most)
	return ok && (x < mx || x == mx && y <= my)
}
