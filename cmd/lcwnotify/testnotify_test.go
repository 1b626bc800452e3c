package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/pagerdutytest"
	"github.com/lcwnotify/lcwnotify/internal/teamstest"
)

// fakeDestinations is a fake PagerDuty and a fake Teams, and an environment naming them.
type fakeDestinations struct {
	pd    *pagerdutytest.Server
	teams *teamstest.Server
	vars  map[string]string
}

func newFakeDestinations(t *testing.T) *fakeDestinations {
	t.Helper()
	d := &fakeDestinations{pd: pagerdutytest.New(pagerdutytest.Options{Keys: []string{pdKey, pdKey2}}), teams: teamstest.New(teamstest.Options{Limit: -1})}
	t.Cleanup(d.pd.Close)
	t.Cleanup(d.teams.Close)
	d.vars = map[string]string{
		"LCW_PAGERDUTY_ROUTING_KEY": pdKey,
		"LCW_PAGERDUTY_ROUTES":      "leaver:" + pdKey2,
		"LCW_PAGERDUTY_URL":         d.pd.URL(),
		"LCW_TEAMS_WEBHOOK_URL":     d.teams.Webhook("default"),
		"LCW_TEAMS_ROUTES":          "leaver:" + d.teams.Webhook("leavers"),
		"LCW_CONSOLE":               "true",
	}
	return d
}

func (d *fakeDestinations) secrets() []string {
	return []string{pdKey, pdKey2, d.teams.Signature("default"), d.teams.Signature("leavers")}
}

func testNotify(t *testing.T, vars map[string]string, only string) (string, error) {
	t.Helper()
	cfg, err := load(t, vars)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = testNotification(context.Background(), cfg, slog.New(slog.DiscardHandler), &out, only)
	return out.String(), err
}

// TestTestNotification: a sample goes to every destination and every key of its routes;
// PagerDuty's alert is triggered and resolved; each is reported on a line of its own,
// and no line holds a secret.
func TestTestNotification(t *testing.T) {
	d := newFakeDestinations(t)
	out, err := testNotify(t, d.vars, "")
	if err != nil {
		t.Fatalf("test-notification = %v\n%s", err, out)
	}
	for _, want := range []string{
		"ok    pagerduty  default: triggered and resolved test alert lcwnotify-test:",
		"ok    pagerduty  route:leaver: triggered and resolved",
		"ok    teams      default: sent a test notification",
		"ok    teams      route:leaver: sent",
		"ok    console    console: sent",
		"lcwnotify test notification (not a real failure)", // the console's sample itself
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	alerts := d.pd.Alerts()
	if len(alerts) != 2 || !alerts[0].Resolved || !alerts[1].Resolved || alerts[0].RoutingKey == alerts[1].RoutingKey {
		t.Errorf("alerts = %+v; want one per routing key, both resolved", alerts)
	}
	cards := d.teams.Cards()
	if len(cards) != 2 || !strings.Contains(cards[0].Text(), "not a real failure") {
		t.Errorf("%d cards; want one per webhook, marked as a test", len(cards))
	}
	for _, s := range d.secrets() {
		if strings.Contains(out, s) {
			t.Errorf("output holds a secret:\n%s", out)
		}
	}
}

// TestTestNotificationOne: naming a destination tests it alone; one that fails is
// reported, with what to check, and the command fails.
func TestTestNotificationOne(t *testing.T) {
	d := newFakeDestinations(t)
	d.teams.FailFor(time.Hour, httpfake.Fault{Status: 404, Error: "The workflow could not be found."})
	out, err := testNotify(t, d.vars, "teams")
	if err != errReported {
		t.Fatalf("test-notification teams = %v, want the failure reported\n%s", err, out)
	}
	if !strings.Contains(out, "FAIL  teams      default:") || !strings.Contains(out, "LCW_TEAMS_WEBHOOK_URL") || strings.Contains(out, "pagerduty") || strings.Contains(out, "console") {
		t.Errorf("output:\n%s\nwant Teams' failures only, with what to check", out)
	}
	if len(d.pd.Events()) != 0 {
		t.Error("PagerDuty was paged by a test of Teams")
	}
	if _, err := testNotify(t, map[string]string{"LCW_CONSOLE": "true"}, "pagerduty"); err == nil {
		t.Error("a test of an unconfigured destination succeeded")
	} else if _, ok := asConfigError(err); !ok {
		t.Errorf("a test of an unconfigured destination = %v, want a configuration error", err)
	}
}

// TestCheckDestinations: check reaches each destination's host without sending
// anything, and says what is wrong with one it cannot use.
func TestCheckDestinations(t *testing.T) {
	d := newFakeDestinations(t)
	var hits atomic.Int32
	root := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer root.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name  string
		vars  map[string]string
		wants []string
	}{
		{"reachable", d.vars, []string{"ok    pagerduty  127.0.0.1:", "2 integration keys (default, route:leaver)", "ok    teams      2 webhooks (default, route:leaver)"}},
		{"routes only", map[string]string{"LCW_PAGERDUTY_ROUTES": "leaver:" + pdKey, "LCW_PAGERDUTY_URL": root.URL},
			[]string{"ok    pagerduty", "workflows no route names are not sent here"}},
		{"unreachable", map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": pdKey, "LCW_PAGERDUTY_URL": closed.URL}, []string{"FAIL  pagerduty", "is reachable"}},
		{"retired connector", map[string]string{"LCW_TEAMS_WEBHOOK_URL": "https://contoso.webhook.office.com/webhookb2/SIGSECRET"},
			[]string{"FAIL  teams      the webhook of default is an Office 365 connector's", "Workflows flow"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(t, tc.vars)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			c := &checker{w: &out}
			c.checkDestinations(context.Background(), cfg, slog.New(slog.DiscardHandler))
			for _, want := range tc.wants {
				if !strings.Contains(out.String(), want) {
					t.Errorf("check lacks %q:\n%s", want, out.String())
				}
			}
			for _, s := range append(d.secrets(), "SIGSECRET") {
				if strings.Contains(out.String(), s) {
					t.Errorf("check printed a secret:\n%s", out.String())
				}
			}
		})
	}
	if len(d.pd.Events()) != 0 || len(d.teams.Cards()) != 0 {
		t.Error("check sent something")
	}
	if hits.Load() == 0 {
		t.Error("check did not reach the Events API's host")
	}
}
