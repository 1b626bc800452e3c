package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
)

// memSink is a destination in memory: it records every message it takes, one per
// Interval at most like Slack, and lays out up to perMessage notifications a message,
// or parts messages for one alone when parts > 1.
type memSink struct {
	rate       Rate
	perMessage int
	parts      int
	// hook, when set, runs before a message is taken; an error refuses it.
	hook func(m memMessage) error

	mu      sync.Mutex
	msgs    []memMessage
	active  int
	most    int
	follows map[string]Incident // the incident each notification followed, by event id
}

// errTaken, from a memSink's hook, has the message taken and its answer lost.
var errTaken = errors.New("taken, but the answer was lost")

// memMessage is one message: the events it carries, and the part of its batch.
type memMessage struct {
	IDs  []string
	Part Part
	At   time.Time
}

func (s *memSink) Name() string             { return "mem" }
func (s *memSink) Key(*Notification) string { return "k" }
func (s *memSink) Rate(string) Rate         { return s.rate }
func (s *memSink) messages() []memMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}
func (s *memSink) mostAtOnce() int                   { s.mu.Lock(); defer s.mu.Unlock(); return s.most }
func (s *memSink) withHook(h func(memMessage) error) { s.mu.Lock(); s.hook = h; s.mu.Unlock() }

// followed returns the incident the notification id followed when it was laid out; nil
// when it followed none.
func (s *memSink) followed(id string) *Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inc, ok := s.follows[id]; ok {
		return &inc
	}
	return nil
}

func (s *memSink) Render(_ string, ns []*Notification, _ bool) []Batch {
	per := s.perMessage
	if per <= 0 {
		per = len(ns)
	}
	var out []Batch
	for start := 0; start < len(ns); start += per {
		end := min(start+per, len(ns))
		b := Batch{}
		var ids []string
		for i := start; i < end; i++ {
			b.Items = append(b.Items, i)
			ids = append(ids, ns[i].Event.ID)
			if f := ns[i].Follows; f != nil {
				s.mu.Lock()
				if s.follows == nil {
					s.follows = map[string]Incident{}
				}
				s.follows[ns[i].Event.ID] = *f
				s.mu.Unlock()
			}
		}
		if len(ids) == 1 && s.parts > 1 {
			for range s.parts {
				b.Messages = append(b.Messages, memMessage{IDs: ids})
			}
		} else {
			b.Messages = []Message{memMessage{IDs: ids}}
		}
		out = append(out, b)
	}
	return out
}

func (s *memSink) Send(ctx context.Context, _ string, m Message, p Part) (Receipt, error) {
	msg := m.(memMessage)
	msg.Part, msg.At = p, time.Now()
	s.mu.Lock()
	hook := s.hook
	s.active++
	s.most = max(s.most, s.active)
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.active--; s.mu.Unlock() }()
	if hook != nil {
		if err := hook(msg); errors.Is(err, errTaken) {
			s.mu.Lock()
			s.msgs = append(s.msgs, msg)
			s.mu.Unlock()
			return Receipt{}, Retryable(err, 0)
		} else if err != nil {
			return Receipt{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Receipt{}, Unsent(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, msg)
	return Receipt{ID: fmt.Sprint(len(s.msgs))}, nil
}

// count returns how many messages named id in part index (0: any part).
func (s *memSink) count(id string, index int) int {
	n := 0
	for _, m := range s.messages() {
		if slices.Contains(m.IDs, id) && (index == 0 || m.Part.Index == index) {
			n++
		}
	}
	return n
}

// memFinder is a memSink that can be read back.
type memFinder struct{ *memSink }

func (f memFinder) Find(_ context.Context, _ string, _ time.Time, batches []Sought) (map[string]Found, error) {
	found := map[string]Found{}
	for i, m := range f.messages() {
		if !slices.ContainsFunc(batches, func(b Sought) bool { return b.Batch == m.Part.Batch }) {
			continue
		}
		fd := found[m.Part.Batch]
		if fd.Receipt.ID == "" {
			fd.Receipt.ID = fmt.Sprint(i + 1) // as Send answered it
		}
		fd.Parts, fd.Count = max(fd.Parts, m.Part.Index), m.Part.Count
		found[m.Part.Batch] = fd
	}
	return found, nil
}

type stageEnv struct {
	t   *testing.T
	srv *eventstest.Server
}

func newStageEnv(t *testing.T) *stageEnv {
	t.Parallel()
	return &stageEnv{t: t, srv: eventstest.Start(t)}
}

// stage starts a Stage for sink on a connection of its own, as one process would, and
// returns it with that connection.
func (e *stageEnv) stage(sink Sink) (*Stage, *nats.Conn) {
	e.t.Helper()
	nc, js := e.srv.Connect(e.t)
	if _, err := events.EnsureStream(context.Background(), js, events.StreamOptions{Name: "LCW", Prefix: "lcw"}); err != nil {
		e.t.Fatal(err)
	}
	st, err := NewStage(context.Background(), StageOptions{JS: js, Stream: "LCW", Sink: sink,
		CallTimeout: time.Second, LeaseTTL: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	for !st.Running() {
		time.Sleep(time.Millisecond)
	}
	return st, nc
}

func note(t *testing.T, name string) *Notification {
	t.Helper()
	ev := &events.Event{Envelope: events.Envelope{ID: "lcw1-" + name, Time: time.Now()}}
	return &Notification{Event: ev}
}

// deliverEventually delivers n, again while another process's claim on it holds.
func deliverEventually(t *testing.T, st *Stage, n *Notification) error {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := st.Deliver(context.Background(), n)
		if err == nil || !Classify(err).Deferred || time.Now().After(deadline) {
			return err
		}
		time.Sleep(Classify(err).RetryAfter)
	}
}

// TestLeavingCallerDoesNotStallTheKey: a caller gives up (its context ends) while its
// notification waits for the key's pace; the one queued behind it is still sent.
func TestLeavingCallerDoesNotStallTheKey(t *testing.T) {
	e := newStageEnv(t)
	sink := &memSink{rate: Rate{Interval: 700 * time.Millisecond, Burst: 1}}
	st, _ := e.stage(sink)
	ctx := context.Background()
	if err := st.Deliver(ctx, note(t, "first")); err != nil {
		t.Fatal(err)
	}
	leavingCtx, leave := context.WithCancel(ctx)
	leaving := make(chan error, 1)
	go func() { leaving <- st.Deliver(leavingCtx, note(t, "leaving")) }()
	staying := make(chan error, 1)
	go func() { staying <- st.Deliver(ctx, note(t, "staying")) }()
	time.Sleep(100 * time.Millisecond) // both queued behind the pace
	leave()
	if err := <-leaving; !errors.Is(err, context.Canceled) {
		t.Errorf("the leaving caller's Deliver = %v, want context.Canceled", err)
	}
	select {
	case err := <-staying:
		if err != nil {
			t.Errorf("the staying caller's Deliver = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the notification queued behind a leaving caller was never sent")
	}
	if sink.count("lcw1-leaving", 0) != 0 || sink.count("lcw1-staying", 0) != 1 || sink.count("lcw1-first", 0) != 1 {
		t.Errorf("sent %+v, want first and staying once each, leaving never", sink.messages())
	}
}

// TestConcurrentCallersShareRounds: many callers arrive at once on an idle paced key; one
// is sent at once, the rest share one or two messages, each caller learns its own
// outcome, and the key is left idle.
func TestConcurrentCallersShareRounds(t *testing.T) {
	e := newStageEnv(t)
	sink := &memSink{rate: Rate{Interval: 300 * time.Millisecond, Burst: 1}}
	st, _ := e.stage(sink)
	errs := make(chan error, 50)
	for i := range 50 {
		go func() { errs <- st.Deliver(context.Background(), note(t, fmt.Sprintf("u%02d", i))) }()
	}
	for range 50 {
		if err := <-errs; err != nil {
			t.Errorf("Deliver = %v", err)
		}
	}
	if got := len(sink.messages()); got > 4 {
		t.Errorf("%d messages for 50 concurrent notifications, want at most 4", got)
	}
	for i := range 50 {
		if c := sink.count(fmt.Sprintf("lcw1-u%02d", i), 0); c != 1 {
			t.Errorf("u%02d sent %d times, want 1", i, c)
		}
	}
	msgs := sink.messages()
	for k := 1; k < len(msgs); k++ {
		if gap := msgs[k].At.Sub(msgs[k-1].At); gap < 300*time.Millisecond {
			t.Errorf("messages %d and %d %v apart, want the pace of 300ms", k, k+1, gap)
		}
	}
	q := st.keys["k"]
	idle := func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.working && len(q.items) == 0
	}
	deadline := time.Now().Add(5 * time.Second)
	for !idle() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !idle() {
		t.Error("key left with a worker or notifications queued")
	}
}

// TestUnpacedKeySendsConcurrently: a key without a pace takes several messages at once,
// as many as Parallel, and a slow one holds none of the others back.
func TestUnpacedKeySendsConcurrently(t *testing.T) {
	e := newStageEnv(t)
	sink := &memSink{perMessage: 1}
	sink.withHook(func(memMessage) error { time.Sleep(200 * time.Millisecond); return nil })
	st, _ := e.stage(sink)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range 40 {
		wg.Go(func() {
			if err := st.Deliver(context.Background(), note(t, fmt.Sprintf("c%02d", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most := sink.mostAtOnce(); most < 2 || most > DefaultParallel {
		t.Errorf("%d messages at once, want several and at most %d", most, DefaultParallel)
	}
	if took := time.Since(start); took > 40*200*time.Millisecond/2 {
		t.Errorf("40 slow messages took %v: sent one at a time", took)
	}
}

// TestLongSharedRetryAfterKeepsTheClaim: another replica's 429 holds the key longer than
// this process's lease. Waiting for the shared pace must keep renewing the lease, so that
// the notification claimed before the wait is still this process's to send when the
// window ends, rather than abandoned as a claim of a lapsed term.
func TestLongSharedRetryAfterKeepsTheClaim(t *testing.T) {
	e := newStageEnv(t)
	sink := &memSink{rate: Rate{Interval: 50 * time.Millisecond, Burst: 1}}
	st, _ := e.stage(sink)
	ctx := context.Background()
	window := time.Now().Add(st.ledger.ttl + time.Second)
	if err := st.ledger.paceBack(ctx, paceKey("k"), sink.rate, window); err != nil {
		t.Fatal(err)
	}
	if err := st.Deliver(ctx, note(t, "patient")); err != nil {
		t.Errorf("Deliver after another replica's long Retry-After = %v, want nil", err)
	}
	msgs := sink.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if msgs[0].At.Before(window) {
		t.Errorf("sent %v inside the shared Retry-After window", window.Sub(msgs[0].At))
	}
}

// TestCrashMidBatchResumes: a notification needs three messages, and its process dies
// right after the destination took the second, before it could record that. The next
// process sends only the third where the destination can be read back, and the second and
// third where it cannot (the ledger recorded the first): never the whole batch again.
func TestCrashMidBatchResumes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		finder   bool
		wantPart []int // times each part is sent
	}{
		{"read back", true, []int{1, 1, 1}},
		{"ledger only", false, []int{1, 2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStageEnv(t)
			mem := &memSink{parts: 3}
			var sink Sink = mem
			if tc.finder {
				sink = memFinder{mem}
			}
			stA, ncA := e.stage(sink)
			n := note(t, "huge")
			mem.withHook(func(m memMessage) error {
				if m.Part.Index == 2 {
					ncA.Close() // the process is gone: nothing more reaches NATS
					return errTaken
				}
				return nil
			})
			if err := stA.Deliver(context.Background(), n); err == nil {
				t.Fatal("the first process delivered all three parts")
			}
			mem.withHook(nil)
			stB, _ := e.stage(sink)
			if err := deliverEventually(t, stB, n); err != nil {
				t.Fatalf("the next process: Deliver = %v", err)
			}
			for k, want := range tc.wantPart {
				if got := mem.count(n.Event.ID, k+1); got != want {
					t.Errorf("part %d sent %d times, want %d", k+1, got, want)
				}
			}
			total := 0
			for _, n := range tc.wantPart {
				total += n
			}
			if err := stB.Deliver(context.Background(), n); err != nil || len(mem.messages()) != total {
				t.Errorf("delivered again: %v, %d messages; want nil and nothing more sent", err, len(mem.messages()))
			}
		})
	}
}

// badLayout loses every other notification it is given, as a buggy sink might.
type badLayout struct{ *memSink }

func (b badLayout) Render(key string, ns []*Notification, lead bool) []Batch {
	if len(ns) == 1 {
		return b.memSink.Render(key, ns, lead)
	}
	out := b.memSink.Render(key, ns, lead)
	for k, batch := range out {
		batch.Items = slices.DeleteFunc(batch.Items, func(i int) bool { return i%2 == 1 })
		var ids []string
		for _, i := range batch.Items {
			ids = append(ids, ns[i].Event.ID)
		}
		batch.Messages = []Message{memMessage{IDs: ids}}
		out[k] = batch
	}
	return out
}

// TestLostLayoutIsSentAlone: a notification the sink's layout leaves out is still sent,
// alone, and every caller gets an outcome.
func TestLostLayoutIsSentAlone(t *testing.T) {
	e := newStageEnv(t)
	mem := &memSink{rate: Rate{Interval: 200 * time.Millisecond, Burst: 1}}
	st, _ := e.stage(badLayout{mem})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if err := st.Deliver(context.Background(), note(t, fmt.Sprintf("l%d", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range 6 {
		if got := mem.count(fmt.Sprintf("lcw1-l%d", i), 0); got != 1 {
			t.Errorf("l%d sent %d times, want 1", i, got)
		}
	}
}

// TestDeliverOutsideRunIsRefused: without Run nothing would send; Deliver says so.
func TestDeliverOutsideRunIsRefused(t *testing.T) {
	e := newStageEnv(t)
	_, js := e.srv.Connect(t)
	st, err := NewStage(context.Background(), StageOptions{JS: js, Stream: "LCW", Sink: &memSink{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Deliver(context.Background(), note(t, "early")); !errors.Is(err, errNotRunning) {
		t.Errorf("Deliver before Run = %v, want %v", err, errNotRunning)
	}
}

// TestNewStageRefusesBadOptions names what is wrong.
func TestNewStageRefusesBadOptions(t *testing.T) {
	e := newStageEnv(t)
	_, js := e.srv.Connect(t)
	for name, o := range map[string]StageOptions{
		"no JetStream":  {Stream: "LCW", Sink: &memSink{}},
		"no sink":       {JS: js, Stream: "LCW"},
		"bad stream":    {JS: js, Stream: "a.b", Sink: &memSink{}},
		"negative time": {JS: js, Stream: "LCW", Sink: &memSink{}, CallTimeout: -time.Second},
	} {
		if _, err := NewStage(context.Background(), o); err == nil || !strings.HasPrefix(err.Error(), "notify: ") && !errors.Is(err, events.ErrInvalidConfig) {
			t.Errorf("%s: NewStage = %v, want an error", name, err)
		}
	}
}

// TestReplaySendsAgainOnce: a replay of a delivered notification is sent again, once per
// replay however often it is asked, and the destination's health shows the answers.
func TestReplaySendsAgainOnce(t *testing.T) {
	e := newStageEnv(t)
	sink := &memSink{}
	st, _ := e.stage(sink)
	ctx := context.Background()
	n := note(t, "told")
	for range 2 {
		if err := st.Deliver(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, replay := range []string{"r1", "r1", "r2"} {
		again := *n
		again.Replay = replay
		if err := st.Deliver(ctx, &again); err != nil {
			t.Fatal(err)
		}
	}
	if got := sink.count(n.Event.ID, 0); got != 3 {
		t.Errorf("sent %d times, want 3: once, and once for each of two replays", got)
	}
	sink.withHook(func(memMessage) error { return Permanent(errors.New("refused for the test"), "refused") })
	_ = st.Deliver(ctx, note(t, "refused"))
	h := st.Health()
	if h.Sink != "mem" || h.LastSuccess.IsZero() || h.LastError == "" || h.LastErrorAt.Before(h.LastSuccess) || len(h.Keys) != 1 || h.Keys[0].Key != "k" {
		t.Errorf("health = %+v, want the last success, then the refusal, for key k", h)
	}
}
