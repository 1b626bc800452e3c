package main

// The list settings: comma-separated values, trimmed, with empty and repeated entries
// dropped (envconfig's own []string keeps " b" and ""), and route lists.

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify/slack/interact"
)

// splitList splits a comma-separated value, trims each entry, and drops empty and
// repeated entries.
func splitList(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// decodeList splits v and checks every entry with check; the error names every bad
// entry, so that one run shows them all.
func decodeList(v string, check func(entry string) error) ([]string, error) {
	entries := splitList(v)
	var errs []string
	for _, e := range entries {
		if err := check(e); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return entries, nil
}

// list is a comma-separated list of any values.
type list []string

// Decode implements envconfig.Decoder.
func (l *list) Decode(v string) error {
	*l = splitList(v)
	return nil
}

// String writes l as Decode reads it back.
func (l list) String() string { return strings.Join(l, ",") }

// workflowIDs is a comma-separated list of Lifecycle Workflow ids.
type workflowIDs []string

// Decode implements envconfig.Decoder.
func (w *workflowIDs) Decode(v string) error {
	ids, err := decodeList(v, func(id string) error {
		if !isGraphID(id) {
			return fmt.Errorf("%q is not a workflow id: ids are letters, digits, '-', '_' and '.'", id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	*w = ids
	return nil
}

// String writes w as Decode reads it back.
func (w workflowIDs) String() string { return strings.Join(w, ",") }

// knownStatuses are the processing statuses Graph documents.
var knownStatuses = []string{
	events.StatusQueued, events.StatusInProgress, events.StatusCompleted, events.StatusCompletedWithErrors,
	events.StatusCanceled, events.StatusFailed, events.StatusUnknownFutureValue, events.StatusCanceling,
	events.StatusQuarantined,
}

// statusList is a non-empty comma-separated list of processing statuses.
type statusList []string

// Decode implements envconfig.Decoder.
func (s *statusList) Decode(v string) error {
	sts, err := decodeList(v, func(st string) error {
		if !slices.Contains(knownStatuses, st) {
			return fmt.Errorf("%q is not a processing status; use %s", st, suggestStatus(st))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(sts) == 0 {
		return errors.New("no status given; the default is failed,completedWithErrors")
	}
	*s = sts
	return nil
}

func suggestStatus(st string) string {
	for _, k := range knownStatuses {
		if strings.EqualFold(k, st) {
			return fmt.Sprintf("%q (statuses are case-sensitive)", k)
		}
	}
	return strings.Join(knownStatuses, ", ")
}

// routeList maps a workflow category (joiner, leaver, mover) or a workflow id to a
// destination: a Slack channel, or the name of a PagerDuty key or Teams webhook. It is
// written key:target,…; keys are case-insensitive and kept in lower case.
type routeList map[string]string

// Decode implements envconfig.Decoder.
func (r *routeList) Decode(v string) error {
	routes := routeList{}
	var errs []string
	for pair := range strings.SplitSeq(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, target, ok := strings.Cut(pair, ":")
		k, target = strings.TrimSpace(k), strings.TrimSpace(target)
		if !ok || !isGraphID(k) || !isTarget(target) {
			errs = append(errs, fmt.Sprintf("%q: want key:target, the key a workflow category (joiner, leaver, mover) or id, such as leaver:C0123ABCD", pair))
			continue
		}
		key := strings.ToLower(k)
		if prev, dup := routes[key]; dup {
			errs = append(errs, fmt.Sprintf("%q is routed twice (%s and %s)", k, prev, target))
			continue
		}
		routes[key] = target
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	*r = routes
	return nil
}

// String writes r as Decode reads it back, keys sorted.
func (r routeList) String() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(r)) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + ":" + r[k])
	}
	return b.String()
}

// natsURLs is LCW_NATS_URL: NATS server URLs, comma-separated. They may carry
// credentials (nats://user:pass@host), so the list is a secret; Servers is the same list
// fit for logs.
type natsURLs struct {
	secret
	Servers []string
}

// natsSchemes are the URL schemes nats.go connects with.
var natsSchemes = []string{"nats", "tls", "ws", "wss"}

// Decode implements envconfig.Decoder. Its errors never quote an entry: it may carry a
// password.
func (n *natsURLs) Decode(v string) error {
	entries := splitList(v)
	var servers, errs []string
	for i, raw := range entries {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || !slices.Contains(natsSchemes, u.Scheme) {
			errs = append(errs, fmt.Sprintf("entry %d is not a NATS URL: use nats://host:4222 or tls://host:4222, comma-separated", i+1))
			continue
		}
		servers = append(servers, u.Scheme+"://"+u.Host)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	if len(entries) == 0 {
		return errors.New("no server given: leave it empty for the embedded server")
	}
	*n = natsURLs{secret: newSecret(strings.Join(entries, ",")), Servers: servers}
	return nil
}

// entries returns the URLs as given, credentials included.
func (n natsURLs) entries() []string { return splitList(n.Reveal()) }

// actorList is a comma-separated list of Slack user ids (U…, W…) and user group ids
// (S…).
type actorList []string

// Decode implements envconfig.Decoder.
func (a *actorList) Decode(v string) error {
	ids, err := decodeList(v, func(id string) error { return interact.ParseAllowed([]string{id}) })
	if err != nil {
		return err
	}
	*a = ids
	return nil
}

// String writes a as Decode reads it back.
func (a actorList) String() string { return strings.Join(a, ",") }
