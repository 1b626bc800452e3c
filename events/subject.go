package events

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// idVersion prefixes every event id so that a future change of the derivation can never
// collide with ids already stored or acknowledged by consumers.
const idVersion = "lcw1-"

// ID returns the deterministic id of the event announcing that the userProcessingResult
// resultID of workflow workflowID has entered status. The same result and status always
// give the same id, so JetStream's duplicate window and the notifiers' ledgers can
// recognise a re-publication after a crash. Ids are opaque: never parse them.
func ID(workflowID, resultID, status string) string {
	return hashID(workflowID, resultID, status)
}

// hashID derives an event id from parts: the same parts, the same id. The first part of
// the ids of events other than result changes names their kind, so that no two kinds
// share an id.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return idVersion + hex.EncodeToString(h.Sum(nil)[:16])
}

// Token turns s into one NATS subject token. Graph ids and enum values are plain
// ASCII today, but they are opaque strings from outside: anything that could split or
// wildcard a subject (dots, '*', '>', whitespace, control or non-ASCII bytes) becomes '_'.
func Token(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isTokenByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// ResultSubject is the subject of a change event: <prefix>.result.<workflowId>.<status>.
func ResultSubject(prefix, workflowID, status string) string {
	return prefix + ".result." + Token(workflowID) + "." + Token(status)
}

// ResultFilter is the subject filter matching every change into status, of any workflow.
func ResultFilter(prefix, status string) string {
	return prefix + ".result.*." + Token(status)
}

// AllResults is the subject filter matching every change event.
func AllResults(prefix string) string {
	return prefix + ".result.>"
}

// WorkflowSubject is the subject of a workflow event:
// <prefix>.workflow.<workflowId>.<change>.
func WorkflowSubject(prefix, workflowID, change string) string {
	return prefix + ".workflow." + Token(workflowID) + "." + Token(change)
}

// AllWorkflows is the subject filter matching every workflow event.
func AllWorkflows(prefix string) string { return prefix + ".workflow.>" }

// ActionSubject is the subject of an action event: <prefix>.action.<workflowId>.<kind>.
func ActionSubject(prefix, workflowID, kind string) string {
	return prefix + ".action." + Token(workflowID) + "." + Token(kind)
}

// ActionFilter is the subject filter matching the action events of kind, of any
// workflow: the watcher follows <prefix>.action.*.accepted to learn of lcwnotify's own
// activations.
func ActionFilter(prefix, kind string) string {
	return prefix + ".action.*." + Token(kind)
}

// AllActions is the subject filter matching every action event.
func AllActions(prefix string) string { return prefix + ".action.>" }

// DigestSubject is the subject of a digest: <prefix>.digest.report.
func DigestSubject(prefix string) string { return prefix + ".digest.report" }

// AllDigests is the subject filter matching every digest.
func AllDigests(prefix string) string { return prefix + ".digest.>" }

// DeadLetterSubject is where a notifier records events it gave up on: <prefix>.dlq.<sink>.
func DeadLetterSubject(prefix, sink string) string {
	return prefix + ".dlq." + Token(sink)
}

// ValidatePrefix reports whether prefix can start subjects: one or more dot-separated
// tokens of letters, digits, '-' and '_'.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("%w: subject prefix is empty", ErrInvalidConfig)
	}
	for _, tok := range strings.Split(prefix, ".") {
		if !validName(tok) {
			return fmt.Errorf("%w: subject prefix %q: each dot-separated part must be letters, digits, '-' or '_'", ErrInvalidConfig, prefix)
		}
	}
	return nil
}

// ValidateStreamName reports whether name can name a JetStream stream and the key-value
// buckets derived from it: letters, digits, '-' and '_', at most 32 characters so derived
// bucket names stay within NATS limits.
func ValidateStreamName(name string) error {
	if !validName(name) || len(name) > 32 {
		return fmt.Errorf("%w: stream name %q: use 1 to 32 letters, digits, '-' or '_'", ErrInvalidConfig, name)
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}
