package main

// The settings of the destinations whose addresses are secrets: a PagerDuty routing key,
// a Teams webhook URL. A route list of them is secret as a whole; the sinks route under
// labels that are not (notify.SecretRoutes).

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/pagerduty"
)

// pagerdutyKey is an Events API v2 integration key: 32 letters and digits.
type pagerdutyKey struct{ secret }

// Decode implements envconfig.Decoder. pagerduty.CheckRoutingKey never quotes the key.
func (k *pagerdutyKey) Decode(v string) error {
	if err := pagerduty.CheckRoutingKey(v); err != nil {
		return err
	}
	k.secret = newSecret(v)
	return nil
}

// secretRoutes maps a workflow category (joiner, leaver, mover) or a workflow id to a
// secret address, written key:address,…; keys are case-insensitive and kept in lower
// case. The address may itself hold ':' (a URL): the key ends at the first one.
type secretRoutes struct {
	secret
	routes map[string]string
}

// decode reads v, checking every address with check; its errors name the keys only.
func (r *secretRoutes) decode(v, what, example string, check func(string) error) error {
	routes := map[string]string{}
	var errs []string
	for i, pair := range splitList(v) {
		k, addr, ok := strings.Cut(pair, ":")
		k, addr = strings.TrimSpace(k), strings.TrimSpace(addr)
		if !ok || !isGraphID(k) {
			errs = append(errs, fmt.Sprintf("entry %d: want key:%s, the key a workflow category (joiner, leaver, mover) or id, such as %s", i+1, what, example))
			continue
		}
		if err := check(addr); err != nil {
			errs = append(errs, fmt.Sprintf("route %q: the %s: %v", k, what, err))
			continue
		}
		key := strings.ToLower(k)
		if _, dup := routes[key]; dup {
			errs = append(errs, fmt.Sprintf("%q is routed twice", k))
			continue
		}
		routes[key] = addr
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	r.secret, r.routes = newSecret(v), routes
	return nil
}

// Routes returns the routes; the addresses are secrets.
func (r secretRoutes) Routes() map[string]string { return maps.Clone(r.routes) }

// pagerdutyRoutes is LCW_PAGERDUTY_ROUTES: key:integration-key,…
type pagerdutyRoutes struct{ secretRoutes }

// Decode implements envconfig.Decoder.
func (r *pagerdutyRoutes) Decode(v string) error {
	return r.decode(v, "integration-key", "leaver:<the 32-character integration key of another service>", pagerduty.CheckRoutingKey)
}

// teamsRoutes is LCW_TEAMS_ROUTES: key:webhook-url,…
type teamsRoutes struct{ secretRoutes }

// Decode implements envconfig.Decoder.
func (r *teamsRoutes) Decode(v string) error {
	return r.decode(v, "webhook-url", "leaver:https://…/workflows/…/invoke?…&sig=…", notify.CheckEndpoint)
}
