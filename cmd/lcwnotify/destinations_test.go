package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/pagerdutytest"
	"github.com/lcwnotify/lcwnotify/internal/teamstest"
)

// TestEachDestinationAlone: PagerDuty alone, or Teams alone, is enough for `run`: the
// failure of a workflow reaches it, and nothing holds a secret.
func TestEachDestinationAlone(t *testing.T) {
	t.Parallel()
	pd := pagerdutytest.New(pagerdutytest.Options{Keys: []string{pdKey}})
	t.Cleanup(pd.Close)
	tm := teamstest.New(teamstest.Options{})
	t.Cleanup(tm.Close)
	hook := tm.Webhook("default")
	for _, tc := range []struct {
		name      string
		vars      map[string]string
		delivered func() bool
		secrets   []string
	}{
		{"pagerduty", map[string]string{"LCW_PAGERDUTY_ROUTING_KEY": pdKey, "LCW_PAGERDUTY_URL": pd.URL()},
			func() bool { return len(pd.Alerts()) == 1 }, []string{pdKey}},
		{"teams", map[string]string{"LCW_TEAMS_WEBHOOK_URL": hook},
			func() bool { return len(tm.Cards()) == 1 && strings.Contains(tm.Cards()[0].Text(), "Adele Vance") }, []string{tm.Signature("default")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			for _, k := range []string{"LCW_SLACK_TOKEN", "LCW_SLACK_CHANNEL", "LCW_SLACK_API_URL"} {
				delete(w.env, k)
			}
			for k, v := range tc.vars {
				w.env[k] = v
			}
			wf := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard leavers", Category: graphsim.CategoryLeaver})
			p := start(t, w.env, "run")
			base := "http://" + p.httpAddr()
			eventually(t, 20*time.Second, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
			w.failOne(t, wf)
			eventually(t, 20*time.Second, "the failure at "+tc.name, tc.delivered)
			_, metrics := get(t, base+"/metrics")
			p.signal(syscall.SIGTERM)
			if code := p.wait(20 * time.Second); code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			for _, s := range tc.secrets {
				if strings.Contains(p.stdout.String()+p.stderr.String()+metrics, s) {
					t.Error("logs, output or metrics hold a secret")
				}
			}
		})
	}
}
