package notifytest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Test-speed timings for Dispatchers in tests.
const (
	AckWait    = time.Second
	MinBackoff = 20 * time.Millisecond
	MaxBackoff = 400 * time.Millisecond
	// CallTimeout and LeaseTTL bound a call to a destination and a crashed process's
	// claims: a test recovers from a crash in seconds.
	CallTimeout = time.Second
	LeaseTTL    = 3 * time.Second
	// WaitFor bounds every wait in Eventually.
	WaitFor = 20 * time.Second
)

// DispatcherOptions returns options for a Dispatcher of sink on stream with test-speed
// timings, notifying failed and completedWithErrors.
func DispatcherOptions(js jetstream.JetStream, stream, prefix string, sink notify.Sink) notify.DispatcherOptions {
	return notify.DispatcherOptions{
		JS: js, Stream: stream, Prefix: prefix,
		Statuses:      []string{"failed", "completedWithErrors"},
		Sink:          sink,
		AckWait:       AckWait,
		MinBackoff:    MinBackoff,
		MaxBackoff:    MaxBackoff,
		ShutdownGrace: 2 * time.Second,
		CallTimeout:   CallTimeout,
		LeaseTTL:      LeaseTTL,
	}
}

// RunDispatcher starts a Dispatcher with o, waits until it is ready, and returns a
// function that stops it, waits for Run to return and reports how long that took. The
// Dispatcher is stopped when the test ends, if not before.
func RunDispatcher(t testing.TB, o notify.DispatcherOptions) (stop func() time.Duration) {
	t.Helper()
	d, err := notify.NewDispatcher(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	// A process that crashes at once (its connection closed) is never seen ready.
	Eventually(t, "dispatcher ready", func() bool { return d.Ready() || o.JS.Conn().IsClosed() })
	var once sync.Once
	var took time.Duration
	stop = func() time.Duration {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case err := <-done:
				if err != nil && !o.JS.Conn().IsClosed() { // a closed connection is a simulated crash
					t.Errorf("Run = %v, want nil after a clean shutdown", err)
				}
			case <-time.After(WaitFor):
				t.Errorf("dispatcher did not stop within %s", WaitFor)
			}
			took = time.Since(start)
		})
		return took
	}
	t.Cleanup(func() { stop() })
	return stop
}

// Eventually polls cond until it holds, failing the test after WaitFor.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", WaitFor, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ConsumerInfo returns the state of sink's durable consumer.
func ConsumerInfo(t testing.TB, js jetstream.JetStream, stream, sink string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := js.Consumer(context.Background(), stream, notify.ConsumerName(stream, sink))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// Drained returns a condition that holds when sink's consumer has nothing left to
// deliver and nothing unacknowledged. Right after a publish the consumer may not have
// counted the new messages yet, so it also requires the consumer to have delivered the
// last message its filters match.
func Drained(t testing.TB, js jetstream.JetStream, stream, sink string) func() bool {
	return func() bool {
		info := ConsumerInfo(t, js, stream, sink)
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return false
		}
		s, err := js.Stream(context.Background(), stream)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range info.Config.FilterSubjects {
			last, err := s.GetLastMsgForSubject(context.Background(), f)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Delivered.Stream < last.Sequence {
				return false
			}
		}
		return true
	}
}

// DeadLetters reads every dead letter of sink, with their raw JSON.
func DeadLetters(t testing.TB, js jetstream.JetStream, stream, prefix, sink string) ([]notify.DeadLetter, [][]byte) {
	t.Helper()
	c, err := js.OrderedConsumer(context.Background(), stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.DeadLetterSubject(prefix, sink)},
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.FetchNoWait(1000)
	if err != nil {
		t.Fatal(err)
	}
	var dls []notify.DeadLetter
	var raws [][]byte
	for m := range batch.Messages() {
		var dl notify.DeadLetter
		if err := json.Unmarshal(m.Data(), &dl); err != nil {
			t.Fatalf("dead letter is not JSON: %v", err)
		}
		if got := m.Headers().Get(notify.ReasonHeader); got != dl.Reason {
			t.Errorf("%s header = %q, want %q", notify.ReasonHeader, got, dl.Reason)
		}
		dls = append(dls, dl)
		raws = append(raws, m.Data())
	}
	return dls, raws
}

// Metric returns the value of the counter or gauge called name whose labels include the
// given name/value pairs, or 0 when there is none.
func Metric(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// RunStage starts a delivery Stage with o, stopped when the test ends.
func RunStage(t testing.TB, o notify.StageOptions) *notify.Stage {
	t.Helper()
	st, err := notify.NewStage(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	// Run serves once it has started; Deliver before then is refused.
	Eventually(t, "stage running", st.Running)
	return st
}
