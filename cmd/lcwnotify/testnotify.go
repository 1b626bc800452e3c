package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// knownDestinations are the names test-notification takes, in the order destinations
// starts them.
var knownDestinations = []string{"slack", "webhook", "pagerduty", "teams", "console"}

// testTimeout bounds one destination's test.
const testTimeout = 30 * time.Second

// Sample notification: a workflow and a user no tenant has, named so that nobody takes
// it for a real failure.
const (
	testWorkflowID   = "lcwnotify-test"
	testWorkflowName = "lcwnotify test notification (not a real failure)"
)

// testNotification sends one clearly marked sample notification to each configured
// destination, or to the one named, through the same sinks `run` uses (their Render
// and Send, without NATS or the ledger), and prints one line per destination key. For
// PagerDuty the sample's alert is triggered and then resolved.
func testNotification(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer, only string) error {
	names := destinations(cfg)
	switch {
	case only != "" && !slices.Contains(knownDestinations, only):
		return &usageError{msg: fmt.Sprintf("test-notification: unknown destination %q: use %s", only, orList(knownDestinations)), cmd: "test-notification"}
	case only != "" && !slices.Contains(names, only):
		return &configError{problems: []string{fmt.Sprintf("test-notification: %s is not configured (lcwnotify help lists its settings)", only)}}
	case len(names) == 0:
		return &configError{problems: []string{errNoDestination}}
	case only != "":
		names = []string{only}
	}
	s := &service{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	all, err := s.newSinks(ctx, stdout)
	if err != nil {
		return err
	}
	c := &checker{w: stdout}
	stamp := time.Now().UTC()
	for _, d := range all {
		if !slices.Contains(names, d.name) {
			continue
		}
		failure, done, err := testEvents(cfg, stamp)
		if err != nil {
			return err
		}
		for _, key := range testKeys(d.sink, failure) {
			tctx, cancel := context.WithTimeout(ctx, testTimeout)
			what, err := sendTest(tctx, d, key, failure, done)
			cancel()
			if err != nil {
				c.fail(d.name, fmt.Errorf("%s: %w", key, err), testHint(d.name))
				continue
			}
			c.ok(d.name, "%s: %s", key, what)
		}
	}
	if c.failed {
		return errReported
	}
	return nil
}

// testKeys are the keys a test goes to: every webhook or routing key of a sink that has
// several (each can be wrong on its own), else the key of the sample.
func testKeys(sink notify.Sink, failure *events.Event) []string {
	if l, ok := sink.(interface{ Labels() []string }); ok {
		return l.Labels()
	}
	return []string{sink.Key(&notify.Notification{Event: failure})}
}

// sendTest sends the sample failure to key and, where the destination follows failures
// up (PagerDuty), its resolution; it says what reached the destination.
func sendTest(ctx context.Context, d destination, key string, failure, done *events.Event) (string, error) {
	raw, _ := failure.Marshal()
	n := &notify.Notification{Event: failure, Raw: raw}
	r, err := sendAll(ctx, d.sink, key, n)
	if err != nil {
		return "", err
	}
	if d.name != "pagerduty" {
		return "sent a test notification", nil
	}
	rawDone, _ := done.Marshal()
	res := &notify.Notification{Event: done, Raw: rawDone, Follows: &notify.Incident{Key: key, ID: r.ID, State: notify.IncidentOpen}}
	if _, err := sendAll(ctx, d.sink, key, res); err != nil {
		return "", fmt.Errorf("triggered test alert %s, but could not resolve it (resolve it in PagerDuty): %w", r.ID, err)
	}
	return "triggered and resolved test alert " + r.ID, nil
}

// sendAll renders n for key and sends every message, returning the first's receipt.
func sendAll(ctx context.Context, sink notify.Sink, key string, n *notify.Notification) (notify.Receipt, error) {
	var first notify.Receipt
	id := "test-" + n.ID()
	for _, b := range sink.Render(key, []*notify.Notification{n}, false) {
		for k, m := range b.Messages {
			r, err := sink.Send(ctx, key, m, notify.Part{Batch: id, Index: k + 1, Count: len(b.Messages)})
			if err != nil {
				return notify.Receipt{}, err
			}
			if k == 0 && first.ID == "" {
				first = r
			}
		}
	}
	return first, nil
}

// testEvents are the sample failure and the completion that resolves it.
func testEvents(cfg *config, at time.Time) (failure, done *events.Event, err error) {
	user := events.User{ID: "lcwnotify-test-user-" + at.Format("20060102T150405Z"), DisplayName: "Test User", UserPrincipalName: "test.user@lcwnotify.invalid"}
	source := string(cfg.GraphURL) + "/" + cfg.GraphVersion + "/identityGovernance/lifecycleWorkflows/workflows/" + testWorkflowID
	mk := func(status string, failed int, tasks []events.TaskResult) (*events.Event, error) {
		upr, _ := json.Marshal(map[string]any{
			"id": "lcwnotify-test-" + status + "-" + at.Format("20060102T150405Z"), "processingStatus": status,
			"failedTasksCount": failed, "totalTasksCount": 1, "totalUnprocessedTasksCount": 0,
			"workflowExecutionType": "onDemand", "workflowVersion": 1,
			"completedDateTime": at.Format(time.RFC3339), "subject": map[string]any{"id": user.ID},
		})
		prev := events.StatusInProgress
		return events.New(source, at, events.Data{
			Workflow:                 events.Workflow{ID: testWorkflowID, DisplayName: testWorkflowName, Category: "test", Version: 1},
			RunID:                    "lcwnotify-test-run",
			UserProcessingResult:     upr,
			PreviousProcessingStatus: &prev,
			TaskProcessingResults:    tasks,
			User:                     user,
		})
	}
	reason := "Nothing failed: this is a test notification sent by lcwnotify test-notification to check this destination."
	if failure, err = mk(events.StatusFailed, 1, []events.TaskResult{{ProcessingStatus: events.StatusFailed, FailureReason: &reason, Task: events.Task{DisplayName: "Sample task"}}}); err != nil {
		return nil, nil, fmt.Errorf("test-notification: the sample failure: %w", err)
	}
	if done, err = mk(events.StatusCompleted, 0, []events.TaskResult{{ProcessingStatus: events.StatusCompleted, Task: events.Task{DisplayName: "Sample task"}}}); err != nil {
		return nil, nil, fmt.Errorf("test-notification: the sample completion: %w", err)
	}
	return failure, done, nil
}

// testHint says what to check when a destination's test fails.
func testHint(name string) string {
	switch name {
	case "slack":
		return "check LCW_SLACK_TOKEN and LCW_SLACK_CHANNEL (or LCW_SLACK_WEBHOOK_URL); `lcwnotify check` tests the token's scopes"
	case "webhook":
		return "check LCW_WEBHOOK_URL and the receiver's logs (it verifies with LCW_WEBHOOK_SECRET)"
	case "pagerduty":
		return "check the integration keys (LCW_PAGERDUTY_ROUTING_KEY, LCW_PAGERDUTY_ROUTES) and LCW_PAGERDUTY_URL"
	case "teams":
		return "check the webhook URL (LCW_TEAMS_WEBHOOK_URL, LCW_TEAMS_ROUTES) and that its flow is turned on"
	}
	return "see the error"
}
