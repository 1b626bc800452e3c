package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/lcwnotify/lcwnotify/internal/status"
	"github.com/lcwnotify/lcwnotify/internal/status/statustest"
	"github.com/lcwnotify/lcwnotify/internal/webhooktest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// cli runs lcwnotify with args in this process, as main does.
func cli(t *testing.T, ctx context.Context, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut notifytest.Buffer
	code = run(ctx, append([]string{"lcwnotify"}, args...), func(k string) string { return vars[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// opsVars are the settings of the operator commands against e, as run would have them.
func opsVars(e *statustest.Env) map[string]string {
	return map[string]string{
		"LCW_NATS_URL": e.URL, "LCW_STREAM": statustest.Stream, "LCW_SUBJECT_PREFIX": statustest.Prefix,
		"LCW_SLACK_TOKEN": e.Slack.Token(), "LCW_SLACK_CHANNEL": statustest.Channel, "LCW_SLACK_API_URL": e.Slack.APIURL(),
	}
}

// opsWorld is a deployment on an external NATS server: a notifier delivering to a fake
// Slack, two failures delivered and one dead-lettered.
func opsWorld(t *testing.T) (*statustest.Env, string) {
	t.Helper()
	e := statustest.New(t)
	e.Slack.SetChannelError(statustest.Channel, "channel_not_found")
	e.Publish(e.Event(notifytest.Result{ResultID: "upr-dana", UserID: "u-dana", UserName: "Dana Dead-Letter"}))
	var dl string
	notifytest.Eventually(t, "the dead letter", func() bool {
		rep, err := e.Reader.Report(context.Background(), status.Filter{})
		if err == nil && len(rep.DeadLetters) == 1 {
			dl = rep.DeadLetters[0].ID
		}
		return dl != ""
	})
	e.Slack.SetChannelError(statustest.Channel, "")
	e.Publish(
		e.Event(notifytest.Result{ResultID: "upr-alex", UserID: "u-alex", UserName: "Alex Wilber"}),
		e.Event(notifytest.Result{WorkflowID: "wf-2", WorkflowName: "Offboard leavers", Category: "leaver", ResultID: "upr-megan",
			UserID: "u-megan", UserName: "Megan Bowen", Status: "completedWithErrors"}),
	)
	notifytest.Eventually(t, "delivered", e.Drained())
	return e, dl
}

// TestOperatorCommands runs status, dlq and replay against a real NATS server holding
// events the test made: what they print, their exit statuses, and that a replay posts
// once per dead letter or per replay name.
func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	e, dl := opsWorld(t)
	vars := opsVars(e)
	ctx := context.Background()

	code, out, errOut := cli(t, ctx, vars, "status", "--json")
	var rep status.Report
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if rep.Failures.Matching != 3 || len(rep.DeadLetters) != 1 {
		t.Errorf("status --json: %d failures, %d dead letters; want 3 and 1", rep.Failures.Matching, len(rep.DeadLetters))
	}
	for _, f := range rep.Failures.Items {
		if f.User == "Alex Wilber" && (f.State != status.StateNotified || !strings.HasPrefix(f.Deliveries[0].Link, statustest.Workspace+"archives/")) {
			t.Errorf("Alex's failure: %+v, want notified with a permalink", f)
		}
	}
	code, out, _ = cli(t, ctx, vars, "status", "--user", "megan")
	if code != 0 || !strings.Contains(out, "Megan Bowen") || strings.Contains(out, "Alex Wilber") || !strings.Contains(out, "Dead letters: 1") {
		t.Errorf("status --user megan: exit %d\n%s", code, out)
	}

	code, out, _ = cli(t, ctx, vars, "dlq", "list")
	if code != 0 || !strings.Contains(out, dl) || !strings.Contains(out, "channel_not_found") || !strings.Contains(out, "lcwnotify dlq replay "+dl) {
		t.Errorf("dlq list: exit %d\n%s", code, out)
	}
	before := len(e.Slack.Messages())
	for i, want := range []string{status.ReplaySent, status.ReplayAlready} {
		code, out, errOut = cli(t, ctx, vars, "dlq", "replay", dl)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("dlq replay %s (%d): exit %d, want %q\n%s%s", dl, i+1, code, want, out, errOut)
		}
	}
	if got := len(e.Slack.Messages()) - before; got != 1 {
		t.Errorf("two dlq replays posted %d messages, want 1", got)
	}
	if code, out, _ = cli(t, ctx, vars, "dlq", "replay", "slack-424242"); code != 1 || !strings.Contains(out, status.ReplayUnknown) {
		t.Errorf("dlq replay of no such dead letter: exit %d\n%s", code, out)
	}

	before = len(e.Slack.Messages())
	code, out, _ = cli(t, ctx, vars, "replay", "--since", "1h", "--to", "slack", "--dry-run")
	if code != 0 || !strings.Contains(out, "Would announce 3 failures") || !strings.Contains(out, "Megan Bowen") || len(e.Slack.Messages()) != before {
		t.Errorf("replay --dry-run: exit %d, %d messages posted\n%s", code, len(e.Slack.Messages())-before, out)
	}
	for i, want := range []string{"3 sent", "3 already sent"} {
		code, out, errOut = cli(t, ctx, vars, "replay", "--since", "1h", "--to", "slack", "--name", "r-test")
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("replay (%d): exit %d, want %q\n%s%s", i+1, code, want, out, errOut)
		}
	}
	named := 0
	for _, m := range e.Slack.Messages()[before:] {
		for _, who := range []string{"Alex Wilber", "Megan Bowen", "Dana Dead-Letter"} {
			named += strings.Count(m.BlockText(), who)
		}
	}
	if named != 3 {
		t.Errorf("the replays named the three users %d times, want 3", named)
	}
	if code, _, errOut = cli(t, ctx, vars, "replay", "--since", "1h", "--to", "pagerduty", "--name", "x"); code != 1 || !strings.Contains(errOut, "pagerduty") {
		t.Errorf("replay to a destination not configured: exit %d\n%s", code, errOut)
	}
}

// TestEventsTail: events tail prints the events stored after it started, those its
// filter selects, and ends cleanly when interrupted.
func TestEventsTail(t *testing.T) {
	t.Parallel()
	e := statustest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut notifytest.Buffer
	vars := opsVars(e)
	e.Publish(e.Event(notifytest.Result{ResultID: "upr-old", UserID: "u-old", UserName: "Before The Tail"}))
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"lcwnotify", "events", "tail", "--status", "failed"}, func(k string) string { return vars[k] }, &out, &errOut)
	}()
	deadline := time.Now().Add(notifytest.WaitFor)
	// Until the tail has started, what is published before it is not its to print: new
	// results (new ids, which the stream does not take for duplicates) until one shows.
	for i := 0; !strings.Contains(out.String(), "Nestor Wilke"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("events tail printed nothing in time:\n%s%s", out.String(), errOut.String())
		}
		e.Publish(
			e.Event(notifytest.Result{ResultID: fmt.Sprintf("upr-done-%d", i), UserID: "u-done", UserName: "Completed Carol", Status: "completed"}),
			e.Event(notifytest.Result{ResultID: fmt.Sprintf("upr-n-%d", i), UserID: "u-n", UserName: "Nestor Wilke"}),
		)
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("events tail ended with exit %d after Ctrl-C, want 0\n%s", code, errOut.String())
	}
	got := out.String()
	if strings.Contains(got, "Before The Tail") || strings.Contains(got, "Completed Carol") || !strings.Contains(got, "result       failed") {
		t.Errorf("events tail --status failed printed:\n%s", got)
	}
	if errOut.String() != "" {
		t.Errorf("events tail wrote to stderr in a pipe: %s", errOut.String())
	}
}

// TestOperatorHelp: every operator command answers --help with exit 0; bad usage is
// exit 2 with a pointer to help.
func TestOperatorHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"status", "--help"}, {"dlq", "--help"}, {"dlq", "list", "--help"}, {"dlq", "replay", "-h"},
		{"events", "--help"}, {"events", "tail", "--help"}, {"replay", "--help"}, {"help", "replay"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, _ := cli(t, context.Background(), nil, args...)
			name := args[0]
			if name == "help" {
				name = args[1]
			}
			if code != 0 || !strings.Contains(out, "Usage: lcwnotify "+name) {
				t.Errorf("exit %d:\n%s", code, out)
			}
		})
	}
	for _, args := range [][]string{{"dlq"}, {"dlq", "purge"}, {"dlq", "replay"}, {"dlq", "replay", "x", "--all"}, {"events"},
		{"replay", "--to", "slack"}, {"replay", "--since", "2h"}, {"status", "extra"}, {"status", "--limit", "many"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, errOut := cli(t, context.Background(), nil, args...)
			if code != 2 || !strings.Contains(errOut, "lcwnotify help "+args[0]) {
				t.Errorf("exit %d, want 2 and a pointer to help:\n%s", code, errOut)
			}
		})
	}
}

// TestOperatorCommandsThroughTheProcess: with the embedded NATS server the commands go
// through the running process's API: status and dlq list show what it delivered and
// gave up on, dlq replay re-delivers through its stage, and a wrong LCW_UI_TOKEN is
// refused.
func TestOperatorCommandsThroughTheProcess(t *testing.T) {
	t.Parallel()
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	dir := t.TempDir()
	ev1, _ := notifytest.Event(notifytest.Result{ResultID: "upr-1", UserID: "u-1", UserName: "Refused Rita"})
	ev2, _ := notifytest.Event(notifytest.Result{ResultID: "upr-2", UserID: "u-2", UserName: "Taken Tom"})
	seedEmbedded(t, dir, ev1, ev2)

	rcv := webhooktest.NewReceiver(whsec)
	t.Cleanup(rcv.Close)
	rcv.FailNext(1, httpfake.Fault{Status: 400}) // the first delivery is refused for good
	vars := map[string]string{
		"LCW_DATA_DIR": dir, "LCW_WEBHOOK_URL": rcv.URL(), "LCW_WEBHOOK_SECRET": whsec,
		"LCW_UI": "true", "LCW_UI_TOKEN": uiTokenValue, "LCW_HTTP_ADDR": freeAddr(t), "LCW_LOG_LEVEL": "debug",
		"LCW_SHUTDOWN_TIMEOUT": "5s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var procErr notifytest.Buffer
	go func() {
		done <- run(ctx, []string{"lcwnotify", "notify"}, func(k string) string { return vars[k] }, &notifytest.Buffer{}, &procErr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("notify ended with exit %d\n%s", code, procErr.String())
		}
		if strings.Contains(procErr.String(), uiTokenValue) {
			t.Error("the process's log holds LCW_UI_TOKEN")
		}
	})

	var rep status.Report
	deadline := time.Now().Add(notifytest.WaitFor)
	for len(rep.DeadLetters) != 1 || rep.Failures.Matching != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the dead letter: %+v\n%s", rep, procErr.String())
		}
		time.Sleep(100 * time.Millisecond)
		if code, out, _ := cli(t, ctx, vars, "status", "--json"); code == 0 {
			rep = status.Report{}
			_ = json.Unmarshal([]byte(out), &rep)
		}
	}
	dl := rep.DeadLetters[0]
	if dl.Sink != "webhook" || dl.Reason == "" {
		t.Errorf("dead letter %+v", dl)
	}

	wrong := maps.Clone(vars)
	wrong["LCW_UI_TOKEN"] = strings.Repeat("x", 40)
	if code, _, errOut := cli(t, ctx, wrong, "dlq", "list"); code != 1 || !strings.Contains(errOut, "LCW_UI_TOKEN") || strings.Contains(errOut, wrong["LCW_UI_TOKEN"]) {
		t.Errorf("dlq list with a wrong token: exit %d, want 1 and a refusal that does not quote it\n%s", code, errOut)
	}
	if code, out, _ := cli(t, ctx, vars, "dlq", "list"); code != 0 || !strings.Contains(out, dl.ID) {
		t.Errorf("dlq list: exit %d\n%s", code, out)
	}
	before := rcv.Count(dl.EventID)
	if code, out, errOut := cli(t, ctx, vars, "dlq", "replay", "--all"); code != 0 || !strings.Contains(out, dl.ID) || !strings.Contains(out, status.ReplaySent) {
		t.Errorf("dlq replay --all: exit %d\n%s%s", code, out, errOut)
	}
	if got := rcv.Count(dl.EventID) - before; got != 1 {
		t.Errorf("the replay delivered the dead letter %d times, want 1", got)
	}
}

// seedEmbedded stores evs in an embedded server's store in dir, as a watcher would have
// before the process under test starts on it.
func seedEmbedded(t *testing.T, dir string, evs ...*events.Event) {
	t.Helper()
	srv, err := natsembed.Start(context.Background(), natsembed.Options{Dir: dir, MaxMemory: 64 << 20, MaxStore: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := events.EnsureStream(ctx, js, events.StreamOptions{Name: "LCW", Prefix: "lcw", Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	if err := notifytest.Publish(ctx, js, "LCW", "lcw", evs...); err != nil {
		t.Fatal(err)
	}
}
