package notify

import (
	"maps"
	"slices"
	"strings"

	"github.com/lcwnotify/lcwnotify/events"
)

// DefaultLabel labels a sink's default destination in SecretRoutes.
const DefaultLabel = "default"

// routeLabelPrefix starts the label of a routed destination, so that no route key can
// take the default's label.
const routeLabelPrefix = "route:"

// SecretRoutes routes workflows to destinations whose addresses are secrets (a PagerDuty
// routing key, a Teams webhook URL), under labels that are not: a destination key names a
// queue in logs, metrics, dead letters and the ledger, so it must never be the address
// itself. The default destination is labelled DefaultLabel, a routed one
// "route:<route key>"; routes that share an address (with each other or with the
// default) share one label, and with it one queue and one pace, because the
// destination's limits count per address.
type SecretRoutes struct {
	def     string            // the default's label, "" when there is none
	byRoute map[string]string // lower-case workflow id or category → label
	targets map[string]string // label → address
}

// NewSecretRoutes routes to def (none when empty) unless routes, keyed by a workflow id
// or category (any case), names another address.
func NewSecretRoutes(def string, routes map[string]string) SecretRoutes {
	r := SecretRoutes{byRoute: map[string]string{}, targets: map[string]string{}}
	byTarget := map[string]string{}
	if def != "" {
		r.def = DefaultLabel
		r.targets[DefaultLabel] = def
		byTarget[def] = DefaultLabel
	}
	lower := make(map[string]string, len(routes))
	for k, addr := range routes {
		if addr != "" {
			lower[strings.ToLower(k)] = addr
		}
	}
	// Sorted, so that the label two routes share is the same in every process.
	for _, key := range slices.Sorted(maps.Keys(lower)) {
		addr := lower[key]
		label, ok := byTarget[addr]
		if !ok {
			label = routeLabelPrefix + key
			byTarget[addr] = label
			r.targets[label] = addr
		}
		r.byRoute[key] = label
	}
	return r
}

// Label returns the label of wf's destination: a route for its id, else one for its
// category, else the default; "" when none applies.
func (r SecretRoutes) Label(wf events.Workflow) string {
	if l, ok := r.byRoute[strings.ToLower(wf.ID)]; ok && wf.ID != "" {
		return l
	}
	if l, ok := r.byRoute[strings.ToLower(wf.Category)]; ok && wf.Category != "" {
		return l
	}
	return r.def
}

// Target returns the address labelled label.
func (r SecretRoutes) Target(label string) (string, bool) {
	addr, ok := r.targets[label]
	return addr, ok
}

// Labels returns every label, the default's first, the others sorted.
func (r SecretRoutes) Labels() []string {
	labels := slices.Sorted(maps.Keys(r.targets))
	if i := slices.Index(labels, DefaultLabel); i > 0 {
		labels = append([]string{DefaultLabel}, slices.Delete(labels, i, i+1)...)
	}
	return labels
}

// Addresses returns every address, for tests and redaction: the secrets errors must not
// quote.
func (r SecretRoutes) Addresses() []string {
	return slices.Collect(maps.Values(r.targets))
}

// Empty reports whether no workflow has a destination.
func (r SecretRoutes) Empty() bool { return len(r.targets) == 0 }
