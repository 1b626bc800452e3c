package pagerduty

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// The Events API v2 alert event, as PagerDuty documents it
// (https://developer.pagerduty.com/docs/send-alert-event): routing_key, event_action
// and dedup_key at the top, the alert's content in payload (trigger only).

// Event actions.
const (
	actionTrigger = "trigger"
	actionResolve = "resolve"
)

// PagerDuty's limits on one event.
const (
	maxSummary  = 1024 // characters of payload.summary
	maxDedupKey = 255  // characters of dedup_key
	// maxEventBytes keeps an event well under the 512 KB PagerDuty accepts.
	maxEventBytes = 400 << 10
	// maxField bounds the other short fields (component, group, class, source), of which
	// PagerDuty documents no limit, to what an alert list can show.
	maxField = 1024
)

// event is one Events API v2 request body.
type event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
	Links       []link   `json:"links,omitempty"`
}

// payload is a trigger's content, in the PagerDuty Common Event Format.
type payload struct {
	Summary       string `json:"summary"`
	Source        string `json:"source"`
	Severity      string `json:"severity"`
	Timestamp     string `json:"timestamp,omitempty"`
	Component     string `json:"component,omitempty"`
	Group         string `json:"group,omitempty"`
	Class         string `json:"class,omitempty"`
	CustomDetails any    `json:"custom_details,omitempty"`
}

type link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// response is what the Events API answers: {"status":"success","message":"Event
// processed","dedup_key":…} with 202, {"status":"invalid event","message":"Event object
// is invalid","errors":[…]} with 400.
type response struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}

// dedupKey makes key fit PagerDuty's limit: a key of Graph ids ("<workflowId>:<subjectId>",
// two GUIDs) always does; anything longer is replaced by a digest of it, the same every
// time.
func dedupKey(key string) string {
	if utf8.RuneCountInString(key) <= maxDedupKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "lcw:" + hex.EncodeToString(sum[:])
}

// cut shortens s to at most n characters, ending it with "…" when it cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return strings.TrimRight(string(runes[:max(n-1, 0)]), " ") + "…"
}
