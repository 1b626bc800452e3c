package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/teams"
)

// reachTimeout bounds reaching one destination host.
const reachTimeout = 15 * time.Second

// checkPagerDuty checks the PagerDuty settings without paging anyone: the integration
// keys are well-formed (loading the configuration checked that) and the Events API's
// host answers over TLS.
func (c *checker) checkPagerDuty(ctx context.Context, cfg *config) {
	pc := pagerdutySinkConfig(cfg)
	routes := notify.NewSecretRoutes(pc.RoutingKey, pc.Routes)
	host := hostOf(string(cfg.PagerdutyURL))
	if err := reach(ctx, string(cfg.PagerdutyURL)); err != nil {
		c.fail("pagerduty", err, "check that "+host+" is reachable (proxy, firewall) and LCW_PAGERDUTY_URL")
		return
	}
	severity := cfg.PagerdutySeverity
	if severity == "" {
		severity = "error (warning for completedWithErrors)"
	}
	c.ok("pagerduty", "%s answers over TLS; %s; severity %s%s (nothing sent: `lcwnotify test-notification pagerduty` triggers and resolves a test alert)",
		host, keysOf(routes, "integration key"), severity, unrouted(routes))
}

// checkTeams checks every Teams webhook without posting: its URL is not a retired Office
// 365 connector's and its host answers over TLS.
func (c *checker) checkTeams(ctx context.Context, cfg *config) {
	tc := teamsSinkConfig(cfg)
	routes := notify.NewSecretRoutes(tc.WebhookURL, tc.Routes)
	var hosts []string
	for _, label := range routes.Labels() {
		hook, _ := routes.Target(label)
		if teams.RetiredConnector(hook) {
			c.fail("teams", fmt.Errorf("the webhook of %s is an Office 365 connector's, which Microsoft retired", label),
				"create a Workflows flow \"post to a channel when a webhook request is received\" and use its URL (docs/teams.md)")
			return
		}
		if err := reach(ctx, hook); err != nil {
			c.fail("teams", fmt.Errorf("the webhook of %s: %w", label, err), "check that the host is reachable (proxy, firewall) and the URL")
			return
		}
		if h := hostOf(hook); !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	c.ok("teams", "%s at %s answer over TLS%s (not called: `lcwnotify test-notification teams` posts a test card)",
		keysOf(routes, "webhook"), strings.Join(hosts, ", "), unrouted(routes))
}

// reach makes one request to the root of raw's host, never to raw itself (its path and
// query may hold a credential, and posting there would notify), with the destinations'
// rules: no redirect followed, proxies from the environment. Any HTTP answer means the
// host is reachable and its certificate valid. Errors name the host only.
func reach(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	root := u.Scheme + "://" + u.Host + "/"
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, root, nil)
	if err != nil {
		return fmt.Errorf("%s cannot be requested", u.Host)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", u.Host, notify.Redact(err, raw))
	}
	resp.Body.Close()
	return nil
}

// keysOf describes the labels of routes: "1 integration key (default)", "3 webhooks
// (default, route:joiner, route:leaver)".
func keysOf(routes notify.SecretRoutes, noun string) string {
	labels := routes.Labels()
	if len(labels) != 1 {
		noun += "s"
	}
	return fmt.Sprintf("%d %s (%s)", len(labels), noun, strings.Join(labels, ", "))
}

// unrouted warns when workflows without a route go nowhere.
func unrouted(routes notify.SecretRoutes) string {
	if _, ok := routes.Target(notify.DefaultLabel); ok {
		return ""
	}
	return "; workflows no route names are not sent here"
}
