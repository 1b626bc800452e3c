package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Names the stack configures lcwnotify with.
const (
	stream = "LCW"
	prefix = "lcw"
	// leaverChannel receives leaver workflows' notifications (LCW_SLACK_ROUTES), the
	// others go to the stack's channel: two channels paced independently.
	leaverChannel = "C0LEAVERS01"
	// alertsChannel is the stack's channel unless a test configures it by name
	// (harness.DefaultChannel). Tests that crash the process or lose Slack's answers use
	// ids: with a name the notifier cannot read a channel back before its first post was
	// answered (see TestChannelByNameFirstAnswerLost).
	alertsChannel = "C0ALERTS001"
)

// stack is one test's world: a restartable nats-server, the fakes, and the lcwnotify
// processes started on them. When the test ends it kills what still runs, keeps the
// processes' output as artifacts, and fails the test for any data race in them, any
// secret in their output, and any Slack post sent inside a Retry-After window.
type stack struct {
	t     *testing.T
	nats  *eventstest.Server
	js    jetstream.JetStream
	world *harness.World
	// channel is LCW_SLACK_CHANNEL, the channel of every workflow but leavers.
	channel string

	mu    sync.Mutex
	procs []*proc
}

// proc is a process the stack started; ended is set once the test killed or stopped it,
// so an exit nobody asked for is caught by waitFor.
type proc struct {
	*harness.Process
	ended bool
}

type stackOptions struct {
	slack   slacktest.Options
	webhook bool
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	binary(t) // skips with -short; builds before anything starts
	ns := eventstest.Start(t)
	_, js := ns.Connect(t)
	w, err := harness.NewWorld(harness.Options{Dir: t.TempDir(), NATSURL: ns.URL(), Slack: o.slack, Webhook: o.webhook})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	s := &stack{t: t, nats: ns, js: js, world: w, channel: alertsChannel}
	t.Cleanup(s.finish)
	return s
}

// env returns the environment of a process on this stack: the world's, with leavers
// routed to their own channel.
func (s *stack) env() map[string]string {
	env := s.world.Env()
	env["LCW_SLACK_CHANNEL"] = s.channel
	env["LCW_SLACK_ROUTES"] = "leaver:" + leaverChannel
	return env
}

// defaultChannel is the id of the channel of every workflow but leavers.
func (s *stack) defaultChannel() string { return s.world.Slack.ChannelID(s.channel) }

// start starts lcwnotify with args and env; the process is named after its command and
// start order ("run#2").
func (s *stack) start(env map[string]string, args ...string) *proc {
	s.t.Helper()
	s.mu.Lock()
	name := fmt.Sprintf("%s#%d", args[0], len(s.procs)+1)
	s.mu.Unlock()
	hp, err := harness.Start(name, binary(s.t), env, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	p := &proc{Process: hp}
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p
}

// startReady starts lcwnotify and waits until /readyz says it is ready.
func (s *stack) startReady(env map[string]string, args ...string) *proc {
	s.t.Helper()
	p := s.start(env, args...)
	s.ready(p)
	return p
}

func (s *stack) ready(p *proc) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := p.Ready(ctx); err != nil {
		s.t.Fatalf("%v\n%s stderr (tail):\n%s", err, p.Name, p.Tail(40))
	}
}

// kill crashes p with SIGKILL.
func (s *stack) kill(p *proc) {
	s.mu.Lock()
	p.ended = true
	s.mu.Unlock()
	p.Kill()
}

// stop checks that p's /metrics holds no secret, stops it with SIGTERM as an
// orchestrator would, and checks it exits 0 in time.
func (s *stack) stop(p *proc) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if text, err := p.MetricsText(ctx); err != nil {
		s.t.Errorf("%s: %v", p.Name, err)
	} else if leaks := s.world.Leaks(text); len(leaks) > 0 {
		s.t.Errorf("%s: /metrics holds secrets %q", p.Name, leaks)
	}
	s.mu.Lock()
	p.ended = true
	s.mu.Unlock()
	code, err := p.Stop(ctx)
	if err != nil {
		s.t.Errorf("%v\n%s stderr (tail):\n%s", err, p.Name, p.Tail(40))
		return
	}
	if code != 0 {
		s.t.Errorf("%s exited %d after SIGTERM, want 0 (a clean shutdown)\nstderr (tail):\n%s", p.Name, code, p.Tail(40))
	}
}

// died returns a process that exited although the test neither killed nor stopped it.
func (s *stack) died() *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		if !p.ended && p.Exited() {
			return p
		}
	}
	return nil
}

// waitFor polls cond until it holds, failing the test after limit with the condition's
// last account of where things stand, or at once if a process died unasked.
func (s *stack) waitFor(limit time.Duration, what string, cond func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if p := s.died(); p != nil {
			s.t.Fatalf("waiting for %s: %s exited with status %d\nstderr (tail):\n%s", what, p.Name, p.ExitCode(), p.Tail(40))
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: not within %s\n%s", what, limit, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPolls waits until p's watcher completed n more polls: with n ≥ 2, everything
// changed in Graph before the call has been seen.
func (s *stack) waitPolls(p *proc, n int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.WaitPolls(ctx, n); err != nil {
		s.t.Fatalf("%d more polls: %v\n%s stderr (tail):\n%s", n, err, p.Name, p.Tail(40))
	}
}

// drained reports whether sink's consumer has delivered everything and holds nothing
// unacknowledged: nothing can be delivered again.
func (s *stack) drained(sink string) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.js.Consumer(ctx, stream, notify.ConsumerName(stream, sink))
	if err != nil {
		return false, fmt.Sprintf("consumer %s: %v", sink, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return false, fmt.Sprintf("consumer %s: %v", sink, err)
	}
	return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0,
		fmt.Sprintf("consumer %s: %d not delivered yet, %d unacknowledged, %d being redelivered",
			sink, info.NumPending, info.NumAckPending, info.NumRedelivered)
}

// events returns the change events in the stream.
func (s *stack) events() []harness.StoredEvent {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs, err := harness.ReadStream(ctx, s.js, stream, prefix+".result.>")
	if err != nil {
		s.t.Fatal(err)
	}
	return evs
}

// finish runs when the test ends: it kills what still runs and checks every process's
// output and Slack's pacing.
func (s *stack) finish() {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	dir := s.t.ArtifactDir()
	for _, p := range procs {
		if !p.Exited() {
			s.kill(p)
		}
		for _, race := range p.Races() {
			s.t.Errorf("%s: data race in lcwnotify:\n%s", p.Name, race)
		}
		out := p.Stdout() + p.Stderr()
		if leaks := s.world.Leaks(out); len(leaks) > 0 {
			s.t.Errorf("%s: its output holds secrets %q", p.Name, leaks)
		}
		base := filepath.Join(dir, strings.ReplaceAll(p.Name, "#", "-"))
		_ = os.WriteFile(base+".stderr", []byte(p.Stderr()), 0o644)
		_ = os.WriteFile(base+".stdout", []byte(p.Stdout()), 0o644)
	}
	if v := s.world.Slack.Stats().Violations; v > 0 {
		s.t.Errorf("lcwnotify posted %d times to a channel inside a Retry-After window Slack had set", v)
	}
	if s.t.Failed() {
		for _, p := range procs {
			s.t.Logf("%s (exit %d) stderr, last lines:\n%s", p.Name, p.ExitCode(), p.Tail(25))
		}
		s.t.Logf("processes' whole output: %s (kept with go test -artifacts)", dir)
	}
}

// withEnv returns a copy of env with the given key/value pairs set.
func withEnv(env map[string]string, kv ...string) map[string]string {
	out := maps.Clone(env)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
