package main

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/watcher/graph/graphtest"
)

// Recognisable secrets: none may appear in logs, metrics or output.
const (
	clientSecret = "CLIENT-S3CR3T-value"
	slackToken   = "xoxb-1-SLACK-S3CR3T-token"
)

// world is what a real deployment talks to, faked on loopback: an Entra token authority
// (over TLS), Graph (the simulator) and Slack.
type world struct {
	authority *graphtest.Authority
	sim       *graphsim.Sim
	simURL    string
	slack     *slacktest.Slack
	env       map[string]string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{authority: graphtest.NewAuthority(), sim: graphsim.New(graphsim.Options{})}
	t.Cleanup(w.authority.Close)
	w.authority.RequireClientSecret(clientSecret)
	url, stop, err := w.sim.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })
	w.simURL = url
	w.slack = slacktest.New(slacktest.Options{Token: slackToken, Interval: -1})
	t.Cleanup(w.slack.Close)

	ca := filepath.Join(t.TempDir(), "authority.pem")
	if err := os.WriteFile(ca, w.authority.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	w.env = baseEnv(t)
	for k, v := range map[string]string{
		"LCW_GRAPH_URL":                        url,
		"LCW_AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
		"AZURE_AUTHORITY_HOST":                 w.authority.URL(),
		"AZURE_TENANT_ID":                      "5f5c0a1e-0000-4000-8000-000000000001",
		"AZURE_CLIENT_ID":                      "11111111-2222-3333-4444-555555555555",
		"AZURE_CLIENT_SECRET":                  clientSecret,
		"AZURE_TOKEN_CREDENTIALS":              "EnvironmentCredential",
		"SSL_CERT_FILE":                        ca,
		"LCW_SLACK_TOKEN":                      slackToken,
		"LCW_SLACK_CHANNEL":                    "#lcw-alerts",
		"LCW_SLACK_API_URL":                    w.slack.APIURL(),
		"LCW_POLL_INTERVAL":                    "1s",
		"LCW_LOG_LEVEL":                        "debug", // the most there is to leak from
		"LCW_SHUTDOWN_TIMEOUT":                 "10s",
	} {
		w.env[k] = v
	}
	return w
}

// failOne runs a workflow for one new user whose result ends failed, and returns the
// result id.
func (w *world) failOne(t *testing.T, wf graphsim.Workflow) string {
	t.Helper()
	u := w.sim.AddUser(graphsim.User{DisplayName: "Adele Vance"})
	run := w.sim.StartRun(wf.ID, u.ID)
	id := run.Results[0]
	w.sim.SetResultStatus(id, events.StatusInProgress)
	w.sim.SetResultStatus(id, events.StatusFailed, graphsim.TaskFailure{Task: wf.Tasks[0].DisplayName, Reason: "Insufficient privileges to complete the operation."})
	return id
}

func noSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{clientSecret, "SLACK-S3CR3T"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds the secret %q", where, secret)
		}
	}
}

// TestRunDeliversAndShutsDownCleanly: `lcwnotify run` against the simulator and a fake
// Slack posts one message for a failure, exactly one across a restart, serves health and
// metrics, and stops cleanly on SIGTERM. No secret reaches its logs or metrics.
func TestRunDeliversAndShutsDownCleanly(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	wf := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner})

	p := start(t, w.env, "run")
	base := "http://" + p.httpAddr()
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d %s, want 200", code, body)
	}
	eventually(t, 20*time.Second, "/readyz to answer 200", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	_, ready := get(t, base+"/readyz")
	for _, want := range []string{`"nats":"ok"`, `"watcher":"ok"`, `"notify-slack":"ok"`} {
		if !strings.Contains(ready, want) {
			t.Errorf("/readyz %s lacks %s", ready, want)
		}
	}

	w.failOne(t, wf)
	eventually(t, 20*time.Second, "the Slack message", func() bool { return len(w.slack.Messages()) >= 1 })
	time.Sleep(3 * time.Second) // three more polls: nothing more to say
	if msgs := w.slack.Messages(); len(msgs) != 1 {
		t.Fatalf("Slack got %d messages, want 1", len(msgs))
	} else if text := msgs[0].Text + msgs[0].BlockText(); !strings.Contains(text, "Adele Vance") || !strings.Contains(text, "Onboard new hires") {
		t.Errorf("message does not name the user and the workflow: %s", text)
	}

	code, metrics := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`lcwnotify_build_info{commit="` + testCommit + `"`,
		`lcwnotify_notifications_sent_total{sink="slack"} 1`,
		`lcwnotify_nats_connected 1`,
		`lcwnotify_watcher_leader 1`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	noSecrets(t, "/metrics", metrics)

	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, "stopped cleanly") {
		t.Errorf("log lacks the clean stop")
	}
	noSecrets(t, "the log", logs)

	// Again on the same store: the failure is not announced twice; a new one is.
	p2 := start(t, w.env, "run")
	base = "http://" + p2.httpAddr()
	eventually(t, 20*time.Second, "/readyz after the restart", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	w.failOne(t, wf)
	eventually(t, 20*time.Second, "the second Slack message", func() bool { return len(w.slack.Messages()) >= 2 })
	time.Sleep(2 * time.Second)
	if n := len(w.slack.Messages()); n != 2 {
		t.Errorf("Slack got %d messages after the restart and a second failure, want 2", n)
	}
	p2.signal(syscall.SIGINT)
	if code := p2.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGINT, want 0", code)
	}
	noSecrets(t, "the log", p2.stderr.String())
}

// TestRunSplit: two watchers and a notifier as separate processes on one NATS server
// deliver a failure once; one watcher polls, the other stands by. (The embedded server's
// listener admits read-only subscribers only, so processes that work together share an
// external server.)
func TestRunSplit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	wf := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard leavers", Category: graphsim.CategoryLeaver})

	natsAddr := freeAddr(t)
	natsAt(t, natsAddr, t.TempDir())
	watchEnv := maps.Clone(w.env)
	delete(watchEnv, "LCW_DATA_DIR")
	watchEnv["LCW_NATS_URL"] = "nats://" + natsAddr
	watch := start(t, watchEnv, "watch")
	watchBase := "http://" + watch.httpAddr()
	eventually(t, 20*time.Second, "the watcher to be ready", func() bool {
		code, _ := get(t, watchBase+"/readyz")
		return code == 200
	})

	// A second watcher on the same host and NATS, with the default instance name: it must
	// stand by, not poll alongside the first.
	standbyEnv := maps.Clone(w.env)
	delete(standbyEnv, "LCW_DATA_DIR")
	standbyEnv["LCW_NATS_URL"] = "nats://" + natsAddr
	standby := start(t, standbyEnv, "watch")
	standbyBase := "http://" + standby.httpAddr()
	eventually(t, 20*time.Second, "the standby watcher to be ready", func() bool {
		code, _ := get(t, standbyBase+"/readyz")
		return code == 200
	})

	notifyEnv := maps.Clone(w.env)
	delete(notifyEnv, "LCW_DATA_DIR")
	notifyEnv["LCW_NATS_URL"] = "nats://" + natsAddr
	for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"} {
		delete(notifyEnv, k) // a notifier needs no Graph credentials
	}
	notifier := start(t, notifyEnv, "notify")
	notifyBase := "http://" + notifier.httpAddr()
	eventually(t, 20*time.Second, "the notifier to be ready", func() bool {
		code, _ := get(t, notifyBase+"/readyz")
		return code == 200
	})

	w.failOne(t, wf)
	eventually(t, 20*time.Second, "the Slack message", func() bool { return len(w.slack.Messages()) >= 1 })
	time.Sleep(2 * time.Second)
	if n := len(w.slack.Messages()); n != 1 {
		t.Errorf("Slack got %d messages, want 1", n)
	}
	_, m1 := get(t, watchBase+"/metrics")
	_, m2 := get(t, standbyBase+"/metrics")
	if !strings.Contains(m1, "lcwnotify_watcher_leader 1") || !strings.Contains(m2, "lcwnotify_watcher_leader 0") {
		t.Errorf("want the first watcher leading and the second standing by; leader gauges:\n%s\n%s",
			grepLines(m1, "lcwnotify_watcher_leader "), grepLines(m2, "lcwnotify_watcher_leader "))
	}
	notifier.signal(syscall.SIGTERM)
	standby.signal(syscall.SIGTERM)
	watch.signal(syscall.SIGTERM)
	if code := notifier.wait(20 * time.Second); code != 0 {
		t.Errorf("notify: exit %d, want 0", code)
	}
	if code := standby.wait(20 * time.Second); code != 0 {
		t.Errorf("standby watch: exit %d, want 0", code)
	}
	if code := watch.wait(20 * time.Second); code != 0 {
		t.Errorf("watch: exit %d, want 0", code)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestCheck: one line per check, exit 0 when all pass, 1 with a line saying what failed.
func TestCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires"})

	code, out, errOut := runBinary(t, w.env, "check")
	if code != 0 {
		t.Fatalf("check: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"ok    config", "ok    token", "ok    graph      listed 1 lifecycle workflows", "ok    nats", "ok    slack"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	noSecrets(t, "check's output", out+errOut)

	// While a running lcwnotify holds the embedded store, check cannot open it: it says
	// so without failing, and still checks Slack.
	running := start(t, w.env, "watch")
	running.httpAddr()
	code, out, _ = runBinary(t, w.env, "check")
	if code != 0 || !strings.Contains(out, "skip  nats") || !strings.Contains(out, "ok    slack") {
		t.Errorf("check beside a running lcwnotify: exit %d, want 0, a skipped nats line and Slack checked:\n%s", code, out)
	}
	running.signal(syscall.SIGTERM)
	running.wait(20 * time.Second)

	bad := maps.Clone(w.env)
	bad["AZURE_CLIENT_SECRET"] = "wrong-" + clientSecret
	bad["LCW_SLACK_TOKEN"] = "xoxb-wrong-SLACK-S3CR3T"
	code, out, errOut = runBinary(t, bad, "check")
	if code != 1 {
		t.Fatalf("check with bad credentials: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"FAIL  token", "FAIL  slack", "ok    nats"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	noSecrets(t, "check's output", out+errOut)
}

// TestShutdownLetsPostsInFlightFinish: SIGTERM while a post to Slack is in flight (Slack
// is slow to answer) does not cut it short: the message goes out, then the process exits 0.
func TestShutdownLetsPostsInFlightFinish(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	wf := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires"})
	const slowness = 3 * time.Second
	target, _ := url.Parse(w.slack.APIURL())
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	var posting atomic.Bool
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
			posting.Store(true)
			time.Sleep(slowness)
		}
		proxy.ServeHTTP(rw, r)
	}))
	defer slow.Close()
	w.env["LCW_SLACK_API_URL"] = slow.URL + "/api/"

	p := start(t, w.env, "run")
	base := "http://" + p.httpAddr()
	eventually(t, 20*time.Second, "/readyz to answer 200", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	w.failOne(t, wf)
	eventually(t, 20*time.Second, "the post to start", posting.Load)
	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	if n := len(w.slack.Messages()); n != 1 {
		t.Errorf("Slack got %d messages, want the one in flight at SIGTERM", n)
	}
}

// TestDemoWithSlack: with Slack configured, the demo also posts there, every expected
// notification, the failures with the re-run buttons; the click on one stays simulated
// (the on-call person's answers are printed, never sent to the workspace, and the
// configured app's Socket Mode is never opened), and Slack shows the failure resolved.
func TestDemoWithSlack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := baseEnv(t)
	delete(env, "LCW_HTTP_ADDR")
	for _, k := range []string{"LCW_SLACK_TOKEN", "LCW_SLACK_CHANNEL", "LCW_SLACK_API_URL"} {
		env[k] = w.env[k]
	}
	env["LCW_SLACK_APP_TOKEN"] = w.slack.AppToken()
	env["LCW_ACTIONS_ALLOWED"] = "U0REALPERSON"
	code, out, errOut := runBinary(t, env, "demo", "-speed", "6")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var want, console, slack int
	for _, l := range strings.Split(out, "\n") {
		if _, err := fmt.Sscanf(l, "Notifications: %d expected, %d delivered to console, %d delivered to slack.", &want, &console, &slack); err == nil {
			break
		}
	}
	if want == 0 || console != want || slack != want {
		t.Errorf("expected %d, console %d, slack %d; want all equal:\n%s", want, console, slack, out)
	}
	for _, want := range []string{
		"destinations     slack, console",
		"The click is simulated",
		"(to @oncall, only they see it) Graph accepted",
		"Resolutions: 1 expected, 1 delivered to console, 1 delivered to slack.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	var buttons, resolved int
	for _, m := range w.slack.Messages() {
		if m.Thread != "" {
			continue
		}
		if strings.Contains(string(m.Blocks), lcwslack.ActionIDRerunFailedTasks) {
			buttons++
		}
		if strings.Contains(m.BlockText(), "Resolved") {
			resolved++
		}
	}
	if buttons == 0 || resolved != 1 {
		t.Errorf("%d Slack messages with the re-run buttons, %d resolved; want the failures' buttons, and the re-run's failure resolved", buttons, resolved)
	}
	if e := w.slack.Ephemerals(); len(e) != 0 || w.slack.SocketConnections() != 0 {
		t.Errorf("%d ephemerals sent to the workspace, %d Socket Mode connections: want none", len(e), w.slack.SocketConnections())
	}
	noSecrets(t, "the demo's output", out+errOut)
}

// TestHTTPAddrInUse: a taken LCW_HTTP_ADDR fails the start with exit 1 and says so.
func TestHTTPAddrInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	env := baseEnv(t)
	env["LCW_HTTP_ADDR"] = l.Addr().String()
	env["LCW_CONSOLE"] = "true"
	code, _, errOut := runBinary(t, env, "notify")
	if code != 1 || !strings.Contains(errOut, "LCW_HTTP_ADDR") || !strings.Contains(errOut, "address already in use") {
		t.Errorf("exit %d, stderr %q; want 1 and the address in use", code, errOut)
	}
}

// TestStoreInUse: a second process on a store another one holds exits 1 and says what
// to do.
func TestStoreInUse(t *testing.T) {
	t.Parallel()
	env := baseEnv(t)
	env["LCW_CONSOLE"] = "true"
	first := start(t, env, "notify")
	first.httpAddr()
	eventually(t, 15*time.Second, "the first process to start", func() bool {
		return strings.Contains(first.stderr.String(), "lcwnotify started")
	})
	code, _, errOut := runBinary(t, env, "notify")
	if code != 1 || !strings.Contains(errOut, "in use by another process") || !strings.Contains(errOut, "one lcwnotify per LCW_DATA_DIR") {
		t.Errorf("exit %d, stderr %q; want 1, the store in use and what to do", code, errOut)
	}
	first.signal(syscall.SIGTERM)
	if code := first.wait(20 * time.Second); code != 0 {
		t.Errorf("first process: exit %d after SIGTERM, want 0", code)
	}
}
