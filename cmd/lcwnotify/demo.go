package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/notify/console"
	"github.com/lcwnotify/lcwnotify/notify/slack/interact"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// Demo settings: what the demo changes in the configuration so that it needs nothing.
const (
	// demoLookback reaches the result the scenario failed 20 minutes before it starts, so
	// the first poll announces it, as a first start with LCW_LOOKBACK=30m would.
	demoLookback = 30 * time.Minute
	// demoTenantID stands in for the tenant a real token names.
	demoTenantID = "64656d6f-0000-4000-8000-000000000000"
	// demoToken is the bearer token sent to the simulator, which accepts any.
	demoToken = "demo"
	// demoDeliveryWait bounds the wait, after the script ends, for the last notifications.
	demoDeliveryWait = 20 * time.Second
)

// demo runs the real watcher, notifiers and Slack action handler against the Graph
// simulator playing its scripted scenario, in one process with an embedded NATS server,
// prints each notification (and where Slack is configured, posts it), plays the on-call
// person who re-runs a failure from its Slack button, and ends with a summary. A
// cancelled ctx (Ctrl-C) ends it early; that is a clean stop.
func demo(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer, speed float64) error {
	out := &syncWriter{w: stdout}
	started := time.Now()

	sim := graphsim.New(graphsim.Options{})
	simURL, stopSim, err := sim.Serve("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stopSim()
	slackSide, err := startDemoSlack(out)
	if err != nil {
		return err
	}
	defer slackSide.close()
	reruns := make(chan graphsim.DemoRerun, 1)
	var script *graphsim.Demo
	var curlShown bool
	script = sim.PrepareDemo(graphsim.DemoOptions{Speed: speed, Progress: func(line string) {
		fmt.Fprintf(out, "» %s\n", line)
		if !curlShown {
			if _, ok := script.PendingResult(); ok {
				curlShown = true
				fmt.Fprintf(out, "» one result is left in progress; to fail it yourself, run:\n    %s\n", script.CurlExample(simURL))
			}
		}
	}, Rerun: func(r graphsim.DemoRerun) {
		select {
		case reruns <- r:
		default: // the script re-runs one failure; Play must not wait
		}
	}})

	dcfg, cleanup, err := demoConfig(cfg, simURL, speed)
	if err != nil {
		return err
	}
	defer cleanup()

	names := destinations(dcfg)
	expected := []string{"watcher", "actions"}
	for _, n := range names {
		expected = append(expected, "notify-"+n)
	}
	s, err := startService(ctx, dcfg, log, serviceOptions{command: "demo", serveHTTP: dcfg.HTTPAddr != "", expected: expected})
	if err != nil {
		return ignoreCancel(ctx, err)
	}
	defer s.stop()
	g, err := s.newGraphClient(graph.NewStaticCredential(demoToken), demoTenantID)
	if err != nil {
		return err
	}
	if _, err := s.addWatcher(ctx, g); err != nil {
		return ignoreCancel(ctx, err)
	}
	h, err := s.addActions(ctx, g, demoTenantID, slackSide.api())
	if err != nil {
		return ignoreCancel(ctx, err)
	}
	// The app's Request URL: the handler on an endpoint of the demo's, as `run` serves it
	// on LCW_HTTP_ADDR (which the demo serves only when it is set).
	mux := http.NewServeMux()
	mux.Handle("POST "+interact.Path, h)
	endpoint, err := serveLoopback(mux)
	if err != nil {
		return fmt.Errorf("demo: the interactions endpoint: %w", err)
	}
	defer endpoint.close()
	dests, err := s.newSinks(ctx, out)
	if err != nil {
		return ignoreCancel(ctx, err)
	}
	exp := script.Expected()
	want := tally{failures: exp.Notifications, resolved: exp.Resolutions, workflows: len(exp.WorkflowChanges)}
	counters := make(map[string]*counter, len(dests))
	for i, d := range dests {
		c := newCounter(want, d.sink)
		counters[d.name] = c
		dests[i].delivered = c.add
	}
	if err := s.addNotifiers(ctx, dests); err != nil {
		return ignoreCancel(ctx, err)
	}
	person := &onCall{out: out, slack: slackSide, endpoint: endpoint.url + interact.Path,
		secret: dcfg.SlackSigningSecret.Reveal(), told: counters[console.Name]}

	writeDemoIntro(out, dcfg, simURL, s, names, script.Duration(), person.endpoint)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	// The script stops with the service: on Ctrl-C, or when a part of it fails.
	playCtx, stopPlay := context.WithCancel(runCtx)
	defer stopPlay()
	runErr := make(chan error, 1)
	go func() {
		runErr <- s.run(runCtx)
		stopPlay()
	}()
	var clicks sync.WaitGroup
	clicks.Go(func() { person.run(runCtx, reruns) })

	summary, playErr := script.Play(playCtx)
	if playErr == nil {
		waitDelivered(playCtx, counters, demoDeliveryWait)
	}
	stop()
	clicks.Wait()
	if err := <-runErr; err != nil {
		return err
	}
	if playErr != nil {
		fmt.Fprintf(out, "\nDemo stopped early after %s.\n", time.Since(started).Round(time.Second))
		writeDelivered(out, counters, want)
		return nil
	}
	fmt.Fprintf(out, "\nDemo over in %s. %s\n", time.Since(started).Round(time.Second), describeResults(summary))
	if short := writeDelivered(out, counters, want); short != "" {
		return fmt.Errorf("demo: %s: see the errors above", short)
	}
	return nil
}

// onCall is the demo's on-call person: for the failure the script re-runs, once the
// console told it, they click its "Re-run failed tasks" button in Slack.
type onCall struct {
	out      io.Writer
	slack    *demoSlack
	endpoint string // the app's Request URL
	secret   string // the app's signing secret
	told     *counter
}

// run clicks for the re-run the script asks for, until ctx ends.
func (p *onCall) run(ctx context.Context, reruns <-chan graphsim.DemoRerun) {
	var r graphsim.DemoRerun
	select {
	case <-ctx.Done():
		return
	case r = <-reruns:
	}
	ev := p.told.waitFailure(ctx, r.ResultID, demoDeliveryWait)
	switch {
	case ctx.Err() != nil:
		return
	case ev == nil:
		fmt.Fprintf(p.out, "» the failure to re-run was not told in %s, so nobody clicked\n", demoDeliveryWait)
		return
	}
	fmt.Fprintf(p.out, "» the click reaches lcwnotify as Slack sends it: POST %s, signed with the app's signing secret\n", p.endpoint)
	if err := sendClick(ctx, p.endpoint, p.secret, p.slack.responseURL(), ev); err != nil && ctx.Err() == nil {
		fmt.Fprintf(p.out, "» the click was not taken: %v\n", err)
	}
}

// demoConfig is cfg with everything the demo provides itself: the simulator as Graph,
// an embedded NATS server in a temporary store (never LCW_DATA_DIR: the image sets it to
// the production volume, and a simulated tenant must not reach a real stream), quick polls, the
// statuses the scenario's expected notifications count, the console as a destination
// besides any configured one, and Slack actions for the demo's on-call person alone.
func demoConfig(cfg *config, simURL string, speed float64) (*config, func(), error) {
	d := *cfg
	d.GraphURL = graphURL(simURL)
	d.GraphVersion = "v1.0"
	d.GraphScope = graphScope(simURL + "/.default")
	d.PollInterval = max(time.Duration(float64(time.Second)/speed), 200*time.Millisecond)
	d.Lookback = demoLookback
	d.Workflows = nil
	d.StreamReplicas = 1
	// The scenario expects a notification for each result ending failed or
	// completedWithErrors; other statuses would end the demo with a false shortfall.
	d.NotifyStatuses = statusList{events.StatusFailed, events.StatusCompletedWithErrors}
	d.Console = true
	// The scenario's failures are made up: they must not page anyone.
	d.PagerDuty = PagerDuty{}
	// The demo's on-call person may re-run failures, and nobody else; their click is
	// signed with a secret of the demo's. A configured app-level token is dropped: its
	// Socket Mode connection would take the clicks meant for a deployment of that app.
	d.Actions = Actions{SlackSigningSecret: slackSigningSecret{newSecret(randomHex(16))}, ActionsAllowed: actorList{demoOnCallID}}
	dir, err := os.MkdirTemp("", "lcwnotify-demo-")
	if err != nil {
		return nil, nil, fmt.Errorf("demo: temporary store: %w", err)
	}
	d.NATS = NATS{DataDir: dir, NatsListen: cfg.NatsListen, NatsListenNkey: cfg.NatsListenNkey, NatsListenTLSCert: cfg.NatsListenTLSCert,
		NatsListenTLSKey: cfg.NatsListenTLSKey, NatsListenInsecure: cfg.NatsListenInsecure, NatsMaxMemory: cfg.NatsMaxMemory, NatsMaxStore: cfg.NatsMaxStore}
	return &d, func() { os.RemoveAll(dir) }, nil
}

func writeDemoIntro(w io.Writer, cfg *config, simURL string, s *service, names []string, length time.Duration, clicks string) {
	nats := "embedded, store in " + cfg.NATS.DataDir
	if url := s.nats.ClientURL(); url != "" {
		nats += fmt.Sprintf("; watch the events with: nats sub -s %s --nkey %s '%s'", url, s.nats.SubscriberKeyFile(), events.AllResults(string(cfg.SubjectPrefix)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "lcwnotify demo: a simulated Entra tenant plays a scripted day in about %s: joiner, leaver and\n"+
		"mover workflows and a few dozen users, with realistic failures; the on-call person re-runs one of them\n"+
		"with the \"Re-run failed tasks\" button of its Slack message, and it is resolved; a workflow is\n"+
		"quarantined, then released.\n", length.Round(time.Second))
	fmt.Fprintf(&b, "  Graph simulator  %s/v1.0 (any bearer token)\n", simURL)
	fmt.Fprintf(&b, "  NATS             %s\n", nats)
	fmt.Fprintf(&b, "  destinations     %s\n", strings.Join(names, ", "))
	fmt.Fprintf(&b, "  Slack actions    LCW_ACTIONS_ALLOWED=%s (@%s); signed clicks at %s\n", demoOnCallID, demoOnCallName, clicks)
	if s.http != nil {
		fmt.Fprintf(&b, "  operations       http://%s/metrics, /readyz, /healthz\n", s.http.Addr())
	}
	b.WriteString("Notifications appear below as they would read in Slack; lines starting with » follow the\n" +
		"scenario, and \"(to @" + demoOnCallName + ", only they see it)\" is what Slack shows only the person who clicked.\n")
	if cfg.Slack.Enabled() {
		b.WriteString("The click is simulated: @" + demoOnCallName + " is the demo's, not a member of your workspace, so what Slack\n" +
			"would show only them is printed here, and Slack shows the failure turn resolved but not who asked. The\n" +
			"messages in your channel carry the buttons too; the demo takes no clicks on them.\n")
	}
	b.WriteString("Ctrl-C ends the demo early.\n\n")
	io.WriteString(w, b.String())
}

func describeResults(s graphsim.DemoSummary) string {
	statuses := slices.Sorted(maps.Keys(s.ByStatus))
	slices.SortStableFunc(statuses, func(a, b string) int { return s.ByStatus[b] - s.ByStatus[a] })
	var parts []string
	for _, st := range statuses {
		parts = append(parts, fmt.Sprintf("%d %s", s.ByStatus[st], st))
	}
	return fmt.Sprintf("%d results by final status: %s.", s.Results, strings.Join(parts, ", "))
}

// syncWriter serialises writes from the scenario, the console sink and the summary, so
// that their lines never interleave.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
