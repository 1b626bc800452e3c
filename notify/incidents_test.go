package notify_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/nats-io/nats.go"
)

// groupSink lays out every notification of a round in one message, one message a
// second, and can be read back. It remembers the incident each notification followed.
type groupSink struct {
	// interval is the pace of messages; zero means a second.
	interval time.Duration
	mu       sync.Mutex
	sent     []groupMsg
	follows  map[string]*notify.Incident // by event id
	// crash, when set, runs once a message is taken; its answer is then lost.
	crash func()
}

type groupMsg struct {
	ids  []string
	part notify.Part
}

func (s *groupSink) Name() string                    { return "group" }
func (s *groupSink) Key(*notify.Notification) string { return "k" }
func (s *groupSink) Rate(string) notify.Rate {
	return notify.Rate{Interval: cmp.Or(s.interval, time.Second), Burst: 1}
}
func (s *groupSink) Render(_ string, ns []*notify.Notification, _ bool) []notify.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := notify.Batch{}
	var ids []string
	for i, n := range ns {
		b.Items = append(b.Items, i)
		ids = append(ids, n.ID())
		if n.Follows != nil {
			inc := *n.Follows
			s.follows[n.ID()] = &inc
		}
	}
	b.Messages = []notify.Message{ids}
	return []notify.Batch{b}
}

func (s *groupSink) Send(_ context.Context, _ string, m notify.Message, p notify.Part) (notify.Receipt, error) {
	s.mu.Lock()
	s.sent = append(s.sent, groupMsg{ids: m.([]string), part: p})
	id := fmt.Sprint(len(s.sent))
	crash := s.crash
	s.crash = nil
	s.mu.Unlock()
	if crash != nil {
		crash()
		return notify.Receipt{}, notify.Retryable(errors.New("taken, but the answer was lost"), 0)
	}
	return notify.Receipt{ID: id}, nil
}

func (s *groupSink) Find(_ context.Context, _ string, _ time.Time, batches []notify.Sought) (map[string]notify.Found, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := map[string]notify.Found{}
	for i, m := range s.sent {
		if slices.ContainsFunc(batches, func(b notify.Sought) bool { return b.Batch == m.part.Batch }) {
			found[m.part.Batch] = notify.Found{Parts: 1, Count: 1, Receipt: notify.Receipt{ID: fmt.Sprint(i + 1)}}
		}
	}
	return found, nil
}

func (s *groupSink) messagesWith(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.sent {
		if slices.Contains(m.ids, id) {
			n++
		}
	}
	return n
}

// stageEnv runs Stages for one sink on a real NATS server, each on a connection of its
// own as a process would.
type stageEnv struct {
	t    *testing.T
	srv  *eventstest.Server
	sink notify.Sink
}

func newStageEnv(t *testing.T, sink notify.Sink) *stageEnv {
	t.Parallel()
	return &stageEnv{t: t, srv: eventstest.Start(t), sink: sink}
}

func (e *stageEnv) stage() (*notify.Stage, *nats.Conn) {
	t := e.t
	nc, js := e.srv.Connect(t)
	if _, err := events.EnsureStream(context.Background(), js, events.StreamOptions{Name: "LCW", Prefix: "lcw"}); err != nil {
		t.Fatal(err)
	}
	st, err := notify.NewStage(context.Background(), notify.StageOptions{JS: js, Stream: "LCW", Sink: e.sink,
		CallTimeout: time.Second, LeaseTTL: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !st.Running() {
		time.Sleep(time.Millisecond)
	}
	return st, nc
}

// result is a notification of user's result entering status, at stream sequence seq.
func (e *stageEnv) result(user, status string, seq uint64) *notify.Notification {
	ev, err := notifytest.Event(notifytest.Result{ResultID: fmt.Sprintf("upr-%s-%s-%d", user, status, seq), UserID: user, UserName: "User " + user, Status: status})
	if err != nil {
		e.t.Fatal(err)
	}
	return &notify.Notification{Event: ev, Seq: seq}
}

// deliver delivers n, again while it is deferred.
func (e *stageEnv) deliver(st *notify.Stage, n *notify.Notification) error {
	deadline := time.Now().Add(notifytest.WaitFor)
	for {
		err := st.Deliver(context.Background(), n)
		if err == nil || !notify.Classify(err).Deferred || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestCrashAfterGroupedMessageKeepsItGrouped: a process dies after the destination took
// a message that told several users' failures, before it recorded them. The next
// process finds the message and records each failure's incident as part of a group, so
// that a user's later success is told beside the message, not by re-rendering the
// others' message as that user's alone.
func TestCrashAfterGroupedMessageKeepsItGrouped(t *testing.T) {
	sink := &groupSink{follows: map[string]*notify.Incident{}}
	e := newStageEnv(t, sink)
	stage, result, deliver := e.stage, func(user, status string) *notify.Notification { return e.result(user, status, 0) }, e.deliver
	stA, ncA := stage()
	if err := stA.Deliver(context.Background(), result("u-0", events.StatusFailed)); err != nil {
		t.Fatal(err) // the key's first message: alone; the pace holds the next ones together
	}
	sink.mu.Lock()
	sink.crash = func() { ncA.Close() }
	sink.mu.Unlock()
	failures := []*notify.Notification{result("u-1", events.StatusFailed), result("u-2", events.StatusFailed), result("u-3", events.StatusFailed)}
	var wg sync.WaitGroup
	for _, n := range failures {
		wg.Go(func() { _ = stA.Deliver(context.Background(), n) })
	}
	wg.Wait()
	if got := sink.messagesWith(failures[0].ID()); got != 1 {
		t.Fatalf("the grouped message was sent %d times before the crash, want 1", got)
	}

	stB, _ := stage()
	for _, n := range failures {
		if err := deliver(stB, n); err != nil {
			t.Fatalf("the next process: %v", err)
		}
		if got := sink.messagesWith(n.ID()); got != 1 {
			t.Errorf("%s told %d times, want 1 (found at the destination)", n.ID(), got)
		}
	}
	done := result("u-2", events.StatusCompleted)
	if err := deliver(stB, done); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	inc := sink.follows[done.ID()]
	sink.mu.Unlock()
	switch {
	case inc == nil:
		t.Fatal("the success followed no incident")
	case !inc.Grouped:
		t.Errorf("the success follows %+v: not grouped, so a sink would re-render the whole message as u-2's", inc)
	case inc.EventID != failures[1].ID():
		t.Errorf("the success follows %s, want u-2's failure %s", inc.EventID, failures[1].ID())
	}
}

// TestSuccessWaitsForTheFailureItResolves: a user's success comes while the failure it
// resolves waits for the destination's pace. It is deferred, not dropped, and told as
// the failure's resolution once the failure is delivered. A success older than the
// failure (delivered out of order) resolves nothing.
func TestSuccessWaitsForTheFailureItResolves(t *testing.T) {
	sink := &groupSink{interval: 3 * time.Second, follows: map[string]*notify.Incident{}}
	e := newStageEnv(t, sink)
	st, _ := e.stage()
	if err := st.Deliver(context.Background(), e.result("u-0", events.StatusFailed, 1)); err != nil {
		t.Fatal(err) // the key's first message: the next one waits a second
	}
	failure := e.result("u-1", events.StatusFailed, 2)
	stale := e.result("u-1", events.StatusCompleted, 1)
	success := e.result("u-1", events.StatusCompleted, 3)
	delivered := make(chan error, 1)
	go func() { delivered <- st.Deliver(context.Background(), failure) }()

	// While the failure is queued (three seconds): the success is deferred, not dropped,
	// and the older success not told.
	var err error
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		err = st.Deliver(context.Background(), success)
		if notify.Classify(err).Deferred {
			break
		}
		if err == nil {
			t.Fatal("the success was told before the failure it resolves")
		}
	}
	if c := notify.Classify(err); !c.Deferred || c.Reason != "awaiting_opening" {
		t.Fatalf("the success while its failure is queued: %v, want it deferred, not dropped", err)
	}
	if err := st.Deliver(context.Background(), stale); !errors.Is(err, notify.ErrNotTaken) {
		t.Errorf("a success older than the failure: %v, want it not told", err)
	}
	if err := <-delivered; err != nil {
		t.Fatalf("the failure: %v", err)
	}
	if err := e.deliver(st, success); err != nil {
		t.Fatalf("the success once the failure is told: %v", err)
	}
	sink.mu.Lock()
	inc := sink.follows[success.ID()]
	sink.mu.Unlock()
	if inc == nil || inc.EventID != failure.ID() {
		t.Fatalf("the success follows %+v, want the failure %s", inc, failure.ID())
	}
	if err := st.Deliver(context.Background(), stale); !errors.Is(err, notify.ErrNotTaken) {
		t.Errorf("a success older than the failure, after it: %v, want it not told", err)
	}
	if got := sink.messagesWith(stale.ID()); got != 0 {
		t.Errorf("the older success was sent %d times", got)
	}
}
