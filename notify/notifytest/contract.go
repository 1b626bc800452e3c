package notifytest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Harness connects the contract suite to one kind of sink and its destination.
type Harness struct {
	// NewSink builds the sink as a freshly started process would, on js. The suite calls
	// it once per simulated process, on the same destination.
	NewSink func(t *testing.T, js jetstream.JetStream, stream string, log *slog.Logger) notify.Sink
	// Count reports how many times the destination received ev.
	Count func(ev *events.Event) int
	// Outage makes the destination fail retryably (5xx) while on; nil skips that test.
	Outage func(on bool)
	// Reject makes the destination refuse every delivery permanently (a revoked token, a
	// 4xx) while on; nil skips that test.
	Reject func(on bool)
	// LoseNextResponse makes the destination take the next delivery and never answer;
	// nil skips those tests.
	LoseNextResponse func()
	// ExactlyOnce claims the sink never repeats a delivery, even when a process dies
	// between delivering and acknowledging. Otherwise the suite checks at least once.
	ExactlyOnce bool
	// Secrets must never appear in logs or dead letters.
	Secrets []string
}

// Suite settings: short timers so a test takes seconds.
const (
	suiteStream = "LCWT"
	suitePrefix = "lcwt"
)

// TestSink runs the contract every notify.Sink must meet, against a real nats-server, a
// real Dispatcher and the destination newHarness sets up (fresh for each subtest).
func TestSink(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Run("DeliveredOnce", func(t *testing.T) {
		e := newEnv(t, newHarness)
		evs := e.events(6)
		e.publish(evs...)
		stop := e.run(e.js, e.newSink(e.js))
		defer stop()
		e.eventually("every event delivered", func() bool { return e.allCounted(evs, 1) })
		e.eventually("consumer drained", e.drained)
		time.Sleep(AckWait * 3 / 2)
		for _, ev := range evs {
			if got := e.h.Count(ev); got != 1 {
				t.Errorf("event %s delivered %d times, want 1", ev.ID, got)
			}
		}
	})

	// A process can die, or lose the destination's answer, between delivering and
	// acknowledging; the event must still be delivered once (at least once, for sinks that
	// do not claim exactly once).
	for _, tc := range []struct {
		name        string
		lose, crash bool
	}{
		{"CrashBetweenDeliveryAndAck", false, true},
		{"LostResponse", true, false},
		{"LostResponseThenCrash", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, newHarness)
			if tc.lose {
				if e.h.LoseNextResponse == nil {
					t.Skip("the destination cannot lose responses")
				}
				e.h.LoseNextResponse()
			}
			ev := e.events(1)[0]
			e.publish(ev)
			if tc.crash {
				e.crashThenRecover(tc.lose)
			} else {
				stop := e.run(e.js, e.newSink(e.js))
				defer stop()
				e.eventually("event acknowledged", e.drained)
			}
			e.checkCount(ev)
		})
	}

	t.Run("OutageThenRecovery", func(t *testing.T) {
		e := newEnv(t, newHarness)
		if e.h.Outage == nil {
			t.Skip("the destination has no outages")
		}
		evs := e.events(4)
		e.h.Outage(true)
		e.publish(evs...)
		stop := e.run(e.js, e.newSink(e.js))
		defer stop()
		time.Sleep(AckWait)
		for _, ev := range evs {
			if got := e.h.Count(ev); got != 0 {
				t.Fatalf("event %s delivered %d times during the outage", ev.ID, got)
			}
		}
		e.h.Outage(false)
		e.eventually("every event delivered after the outage", func() bool { return e.allCounted(evs, 1) })
		e.eventually("consumer drained", e.drained)
		for _, ev := range evs {
			e.checkCount(ev)
		}
	})

	t.Run("PermanentErrorDeadLetters", func(t *testing.T) {
		e := newEnv(t, newHarness)
		if e.h.Reject == nil {
			t.Skip("the destination never refuses")
		}
		ev := e.events(1)[0]
		e.h.Reject(true)
		e.publish(ev)
		sink := e.newSink(e.js)
		stop := e.run(e.js, sink)
		defer stop()
		dl := e.deadLetter(sink.Name())
		if dl.Sink != sink.Name() || dl.EventID != ev.ID || dl.Reason == "" || dl.Error == "" || dl.Attempts != 1 {
			t.Errorf("dead letter = %+v, want sink %s, event %s, a reason and an error, 1 attempt", dl, sink.Name(), ev.ID)
		}
		if back, err := events.Decode(dl.Event); err != nil || back.ID != ev.ID {
			t.Errorf("dead letter's event decodes to %v, %v; want event %s", back, err, ev.ID)
		}
		e.h.Reject(false)
		e.eventually("consumer settled", e.drained)
		time.Sleep(AckWait * 3 / 2)
		if info := e.consumer(sink.Name()); info.NumRedelivered != 0 {
			t.Errorf("consumer redelivered %d messages after a permanent error, want 0", info.NumRedelivered)
		}
		if got := e.h.Count(ev); got != 0 {
			t.Errorf("event delivered %d times after a permanent error, want 0", got)
		}
	})
}

// env is one subtest's world: a NATS server, the harness, and captured logs.
type env struct {
	t    *testing.T
	srv  *eventstest.Server
	js   jetstream.JetStream
	h    *Harness
	logs *Buffer
	log  *slog.Logger
	name string
}

func newEnv(t *testing.T, newHarness func(t *testing.T) *Harness) *env {
	t.Parallel()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	logs := &Buffer{}
	e := &env{t: t, srv: srv, js: js, h: newHarness(t), logs: logs,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	t.Cleanup(e.checkSecrets)
	return e
}

func (e *env) newSink(js jetstream.JetStream) notify.Sink {
	s := e.h.NewSink(e.t, js, suiteStream, e.log)
	e.name = s.Name()
	return s
}

// events builds n failures, across two workflows, with unique user names.
func (e *env) events(n int) []*events.Event {
	evs := make([]*events.Event, n)
	for i := range n {
		wf := fmt.Sprintf("wf-%d", i%2+1)
		ev, err := Event(Result{
			WorkflowID:   wf,
			WorkflowName: "Workflow " + wf,
			ResultID:     fmt.Sprintf("%s-upr-%03d", e.t.Name(), i),
			UserName:     fmt.Sprintf("Contract User %03d", i),
			UPN:          fmt.Sprintf("contract%03d@contoso.example", i),
		})
		if err != nil {
			e.t.Fatal(err)
		}
		evs[i] = ev
	}
	return evs
}

func (e *env) publish(evs ...*events.Event) {
	e.t.Helper()
	if err := Publish(context.Background(), e.js, suiteStream, suitePrefix, evs...); err != nil {
		e.t.Fatal(err)
	}
}

// run starts a Dispatcher for sink on js, as one process would, and returns a function
// that stops it and waits.
func (e *env) run(js jetstream.JetStream, sink notify.Sink) (stop func() time.Duration) {
	e.t.Helper()
	o := DispatcherOptions(js, suiteStream, suitePrefix, sink)
	o.Logger = e.log
	return RunDispatcher(e.t, o)
}

// crashThenRecover runs a process that dies right after its first delivery succeeds (or,
// with always, returns at all), then a new process on the same consumer and ledger, until
// the new one has settled everything.
func (e *env) crashThenRecover(always bool) {
	e.t.Helper()
	nc, js := e.srv.Connect(e.t)
	crashed := make(chan struct{})
	c := &crashAfter{crash: func() { nc.Close(); close(crashed) }, always: always}
	stopA := e.run(js, c.wrap(e.newSink(js)))
	select {
	case <-crashed:
	case <-time.After(WaitFor):
		e.t.Fatal("the first process never delivered")
	}
	stopA()
	stopB := e.run(e.js, e.newSink(e.js))
	defer stopB()
	e.eventually("event acknowledged by the new process", e.drained)
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	Eventually(e.t, what, cond)
}

func (e *env) allCounted(evs []*events.Event, atLeast int) bool {
	for _, ev := range evs {
		if e.h.Count(ev) < atLeast {
			return false
		}
	}
	return true
}

// checkCount asserts ev was delivered once, or at least once for sinks that do not
// claim exactly once.
func (e *env) checkCount(ev *events.Event) {
	e.t.Helper()
	got := e.h.Count(ev)
	switch {
	case e.h.ExactlyOnce && got != 1:
		e.t.Errorf("event %s delivered %d times, want exactly 1", ev.ID, got)
	case got < 1:
		e.t.Errorf("event %s delivered %d times, want at least 1", ev.ID, got)
	}
}

func (e *env) consumer(name string) *jetstream.ConsumerInfo {
	e.t.Helper()
	return ConsumerInfo(e.t, e.js, suiteStream, name)
}

// drained reports that the sink's consumer has nothing left: all delivered, all settled.
func (e *env) drained() bool {
	return Drained(e.t, e.js, suiteStream, e.name)()
}

func (e *env) deadLetter(sink string) notify.DeadLetter {
	e.t.Helper()
	var dls []notify.DeadLetter
	var raws [][]byte
	e.eventually("a dead letter", func() bool {
		dls, raws = DeadLetters(e.t, e.js, suiteStream, suitePrefix, sink)
		return len(dls) > 0
	})
	if len(dls) != 1 {
		e.t.Errorf("%d dead letters, want 1", len(dls))
	}
	for _, sec := range e.h.Secrets {
		if sec != "" && bytes.Contains(raws[0], []byte(sec)) {
			e.t.Errorf("dead letter contains a secret")
		}
	}
	return dls[0]
}

func (e *env) checkSecrets() {
	logs := e.logs.String()
	for _, sec := range e.h.Secrets {
		if sec != "" && strings.Contains(logs, sec) {
			e.t.Errorf("logs contain a secret")
		}
	}
}

// crashAfter is a sink whose process dies (its NATS connection closes, so nothing more
// is recorded or acknowledged) right after its first message is sent, or, with always,
// after its first send returns at all.
type crashAfter struct {
	crash  func()
	always bool
	once   sync.Once
}

func (c *crashAfter) wrap(s notify.Sink) notify.Sink {
	return WrapSend(s, func(ctx context.Context, key string, m notify.Message, p notify.Part) (notify.Receipt, error) {
		r, err := s.Send(ctx, key, m, p)
		if err == nil || c.always {
			c.once.Do(c.crash)
		}
		return r, err
	})
}
