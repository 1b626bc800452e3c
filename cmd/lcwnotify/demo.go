package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/notify"
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

// demo runs the real watcher and notifiers against the Graph simulator playing its
// scripted scenario, in one process with an embedded NATS server, prints each
// notification (and where Slack is configured, posts it), and ends with a summary.
// A cancelled ctx (Ctrl-C) ends it early; that is a clean stop.
func demo(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer, speed float64) error {
	out := &syncWriter{w: stdout}
	started := time.Now()

	sim := graphsim.New(graphsim.Options{})
	simURL, stopSim, err := sim.Serve("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stopSim()
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
	}})

	dcfg, cleanup, err := demoConfig(cfg, simURL, speed)
	if err != nil {
		return err
	}
	defer cleanup()

	names := destinations(dcfg)
	expected := []string{"watcher"}
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
	dests, err := s.newSinks(ctx, out)
	if err != nil {
		return ignoreCancel(ctx, err)
	}
	counters := make(map[string]*counter, len(dests))
	for i, d := range dests {
		c := &counter{}
		counters[d.name] = c
		dests[i].delivered = c.add
	}
	if err := s.addNotifiers(ctx, dests); err != nil {
		return ignoreCancel(ctx, err)
	}

	writeDemoIntro(out, dcfg, simURL, s, names)
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

	want := script.Expected().Notifications
	summary, playErr := script.Play(playCtx)
	if playErr == nil {
		waitDelivered(playCtx, counters, want, demoDeliveryWait)
	}
	stop()
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

// demoConfig is cfg with everything the demo provides itself: the simulator as Graph,
// an embedded NATS server in a temporary store (never LCW_DATA_DIR: the image sets it to
// the production volume, and a simulated tenant must not reach a real stream), quick polls, the
// statuses the scenario's expected notifications count, and the console as a
// destination besides any configured one.
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
	dir, err := os.MkdirTemp("", "lcwnotify-demo-")
	if err != nil {
		return nil, nil, fmt.Errorf("demo: temporary store: %w", err)
	}
	d.NATS = NATS{DataDir: dir, NatsListen: cfg.NatsListen, NatsListenNkey: cfg.NatsListenNkey, NatsListenTLSCert: cfg.NatsListenTLSCert,
		NatsListenTLSKey: cfg.NatsListenTLSKey, NatsListenInsecure: cfg.NatsListenInsecure, NatsMaxMemory: cfg.NatsMaxMemory, NatsMaxStore: cfg.NatsMaxStore}
	return &d, func() { os.RemoveAll(dir) }, nil
}

func writeDemoIntro(w io.Writer, cfg *config, simURL string, s *service, names []string) {
	nats := "embedded, store in " + cfg.NATS.DataDir
	if url := s.nats.ClientURL(); url != "" {
		nats += fmt.Sprintf("; watch the events with: nats sub -s %s --nkey %s '%s'", url, s.nats.SubscriberKeyFile(), events.AllResults(string(cfg.SubjectPrefix)))
	}
	var b strings.Builder
	b.WriteString("lcwnotify demo: a simulated Entra tenant plays a scripted scenario for about a minute or less:\n" +
		"joiner, leaver and mover workflows, a few dozen users, realistic failures.\n")
	fmt.Fprintf(&b, "  Graph simulator  %s/v1.0 (any bearer token)\n", simURL)
	fmt.Fprintf(&b, "  NATS             %s\n", nats)
	fmt.Fprintf(&b, "  destinations     %s\n", strings.Join(names, ", "))
	if s.http != nil {
		fmt.Fprintf(&b, "  operations       http://%s/metrics, /readyz, /healthz\n", s.http.Addr())
	}
	b.WriteString("Notifications appear below as they would read in Slack; lines starting with » follow the\n" +
		"scenario. Ctrl-C ends the demo early.\n\n")
	io.WriteString(w, b.String())
}

// waitDelivered waits until every sink delivered want events, for at most limit.
func waitDelivered(ctx context.Context, counters map[string]*counter, want int, limit time.Duration) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		for _, c := range counters {
			done = done && c.count() >= want
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// writeDelivered prints notifications expected against delivered per destination, and
// returns what fell short, or "".
func writeDelivered(w io.Writer, counters map[string]*counter, want int) (short string) {
	var parts, shorts []string
	for _, name := range slices.Sorted(maps.Keys(counters)) {
		n := counters[name].count()
		parts = append(parts, fmt.Sprintf("%d delivered to %s", n, name))
		if n < want {
			shorts = append(shorts, fmt.Sprintf("%d of %d notifications delivered to %s", n, want, name))
		}
	}
	fmt.Fprintf(w, "Notifications: %d expected, %s.\n", want, strings.Join(parts, ", "))
	return strings.Join(shorts, "; ")
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

// counter counts the distinct events a destination had delivered (a redelivery of one
// it already had counts once).
type counter struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (c *counter) add(n *notify.Notification) {
	if n.Event == nil {
		return
	}
	r, err := n.Event.Data.Result()
	if err != nil || !events.IsFailure(r.ProcessingStatus) {
		return // a resolution, not a notification the scenario counts
	}
	ev := n.Event
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = make(map[string]bool)
	}
	c.ids[ev.ID] = true
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
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
