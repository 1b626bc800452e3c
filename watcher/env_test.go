package watcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// env is a Graph simulator served over HTTP and read with the real client, a real
// nats-server, and a clock shared by the simulator and the watchers that a test moves.
type env struct {
	t     testing.TB
	clock *fakeClock
	sim   *graphsim.Sim
	graph *graph.Client
	srv   *eventstest.Server
	nc    *nats.Conn
	js    jetstream.JetStream
	log   *slog.Logger
	url   string            // the simulator's base URL
	names map[string]string // result id → short name, for readable assertions
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clock := &fakeClock{t: t0}
	return newEnvOn(t, clock, graphsim.Options{Now: clock.now, Seed: 1, PageSize: 50})
}

// newEnvOn is newEnv with the simulator's options given; clock is the test's clock
// (nil when the test runs the watcher on a simClock of its own).
func newEnvOn(t testing.TB, clock *fakeClock, so graphsim.Options) *env {
	t.Helper()
	sim := graphsim.New(so)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	client, err := graph.New(graph.Options{
		BaseURL:      hs.URL,
		Credential:   graph.NewStaticCredential("test-token"),
		TenantID:     "tenant-1",
		MaxRetryTime: 10 * time.Second,
		Logger:       log,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := eventstest.Start(t)
	nc, js := srv.Connect(t)
	return &env{t: t, clock: clock, sim: sim, graph: client, srv: srv, nc: nc, js: js, log: log, url: hs.URL, names: map[string]string{}}
}

// rewritten returns a Graph client that reads the simulator through a proxy, which
// may replace the status and body of any answer: Graph sending what the simulator
// would not.
func (e *env) rewritten(rewrite func(r *http.Request, status int, body string) (int, string)) *graph.Client {
	e.t.Helper()
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		e.sim.ServeHTTP(rec, r)
		status, body := rewrite(r, rec.Code, rec.Body.String())
		maps.Copy(rw.Header(), rec.Header())
		rw.Header().Del("Content-Length")
		rw.WriteHeader(status)
		_, _ = io.WriteString(rw, body)
	}))
	e.t.Cleanup(proxy.Close)
	client, err := graph.New(graph.Options{BaseURL: proxy.URL, Credential: graph.NewStaticCredential("test-token"),
		TenantID: "tenant-1", MaxRetryTime: 10 * time.Second, Logger: e.log})
	if err != nil {
		e.t.Fatal(err)
	}
	return client
}

// reconnected waits until the connection is back after a NATS restart.
func (e *env) reconnected() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !e.nc.IsConnected() {
		if time.Now().After(deadline) {
			e.t.Fatal("not reconnected to NATS within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// options are the Options every test starts from.
func (e *env) options() Options {
	return Options{
		Graph:          e.graph,
		JS:             e.js,
		Stream:         "LCW",
		Prefix:         "lcw",
		PollInterval:   time.Minute,
		Overlap:        10 * time.Minute,
		PublishTimeout: 2 * time.Second,
		Logger:         e.log,
	}
}

// watcher returns a new Watcher on the environment's NATS and simulator, as a new
// process would be; mod changes its options.
func (e *env) watcher(mod ...func(*Options)) *Watcher {
	e.t.Helper()
	o := e.options()
	for _, m := range mod {
		m(&o)
	}
	w, err := New(context.Background(), o)
	if err != nil {
		e.t.Fatal(err)
	}
	if o.Clock == nil {
		w.now = e.clock.now
		w.lease.now = e.clock.now
	}
	return w
}

// poll polls once and fails the test on an error.
func (e *env) poll(w *Watcher) PollStats {
	e.t.Helper()
	st, err := w.Poll(context.Background())
	if err != nil {
		e.t.Fatalf("poll: %v", err)
	}
	return st
}

// workflow adds a workflow with n users ready to be run.
func (e *env) workflow(name string, n int) (graphsim.Workflow, []string) {
	wf := e.sim.AddWorkflow(graphsim.Workflow{DisplayName: name, Category: graphsim.CategoryLeaver})
	var ids []string
	for _, u := range e.sim.AddUsers(n) {
		ids = append(ids, u.ID)
	}
	return wf, ids
}

// messages returns every message in the stream, in order.
func (e *env) messages() []jetstream.RawStreamMsg {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, "LCW")
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			e.t.Fatalf("message %d: %v", seq, err)
		}
		out = append(out, *m)
	}
	return out
}

// events decodes every result event in the stream.
func (e *env) events() []*events.Event {
	e.t.Helper()
	var out []*events.Event
	for _, m := range e.messages() {
		if !strings.HasPrefix(m.Subject, "lcw.result.") {
			continue
		}
		ev, err := events.Decode(m.Data)
		if err != nil {
			e.t.Fatalf("stream message on %s: %v", m.Subject, err)
		}
		r, _ := ev.Data.Result()
		if want := events.ResultSubject("lcw", ev.Data.Workflow.ID, r.ProcessingStatus); m.Subject != want {
			e.t.Errorf("event %s on subject %s, want %s", ev.ID, m.Subject, want)
		}
		if m.Header.Get("Nats-Msg-Id") != ev.ID || m.Header.Get("Content-Type") != events.ContentType {
			e.t.Errorf("event %s headers %v", ev.ID, m.Header)
		}
		out = append(out, ev)
	}
	return out
}

// run starts a run of wf for users scheduled at (zero: now) and names its results
// name0, name1, … in the order of users.
func (e *env) run(wf graphsim.Workflow, name string, at time.Time, users ...string) []string {
	run := e.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: at, Users: users})
	for i, id := range run.Results {
		e.names[id] = fmt.Sprintf("%s%d", name, i)
	}
	return run.Results
}

// set moves result id to status at (zero: now).
func (e *env) set(id, status string, at time.Time) {
	e.sim.UpdateResult(id, graphsim.ResultUpdate{Status: status, At: at})
}

// change1 reduces an event to what most tests assert: "result: previous → status".
func (e *env) change1(ev *events.Event) string {
	r, _ := ev.Data.Result()
	prev := "null"
	if p := ev.Data.PreviousProcessingStatus; p != nil {
		prev = *p
	}
	name := e.names[r.ID]
	if name == "" {
		name = r.ID
	}
	return name + ": " + prev + " → " + r.ProcessingStatus
}

// changes returns the stream's events from the n-th on as "id: prev → status", sorted
// (the order across results is not part of the contract).
func (e *env) changes(from int) []string {
	e.t.Helper()
	evs := e.events()
	var out []string
	for _, ev := range evs[min(from, len(evs)):] {
		out = append(out, e.change1(ev))
	}
	slices.Sort(out)
	return out
}

// wantChanges asserts the events published since the stream held from of them.
func (e *env) wantChanges(from int, want ...string) int {
	e.t.Helper()
	got := e.changes(from)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		e.t.Errorf("events published:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	return len(e.events())
}

// workflowEvents decodes every workflow event in the stream, checking its subject and
// headers.
func (e *env) workflowEvents() []*events.WorkflowEvent {
	e.t.Helper()
	var out []*events.WorkflowEvent
	for _, m := range e.messages() {
		if !strings.HasPrefix(m.Subject, "lcw.workflow.") {
			continue
		}
		ev, err := events.DecodeWorkflowEvent(m.Data)
		if err != nil {
			e.t.Fatalf("stream message on %s: %v", m.Subject, err)
		}
		if want := ev.SubjectFor("lcw"); m.Subject != want {
			e.t.Errorf("workflow event %s on subject %s, want %s", ev.ID, m.Subject, want)
		}
		if m.Header.Get("Nats-Msg-Id") != ev.ID || m.Header.Get("Content-Type") != events.ContentType {
			e.t.Errorf("workflow event %s headers %v", ev.ID, m.Header)
		}
		out = append(out, ev)
	}
	return out
}

// wantStates asserts the workflow events in the stream, in order, as
// "workflow name: change".
func (e *env) wantStates(want ...string) {
	e.t.Helper()
	var got []string
	for _, ev := range e.workflowEvents() {
		got = append(got, ev.Data.Workflow.DisplayName+": "+ev.Data.Change)
	}
	if !slices.Equal(got, want) {
		e.t.Errorf("workflow events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// noDuplicates asserts that the stream holds every event id once.
func (e *env) noDuplicates() {
	e.t.Helper()
	seen := map[string]int{}
	for _, m := range e.messages() {
		seen[m.Header.Get("Nats-Msg-Id")]++
	}
	for id, n := range seen {
		if n > 1 {
			e.t.Errorf("event %s stored %d times", id, n)
		}
	}
}

// requests returns how many Graph requests the simulator answered since the last reset,
// by operation.
func (e *env) requests() map[graphsim.Operation]int64 {
	out := map[graphsim.Operation]int64{}
	for op, s := range e.sim.Stats().ByOp {
		out[op] = s.Requests
	}
	return out
}

// mark returns the stored watermark of workflow id.
func (e *env) mark(w *Watcher, id string) mark {
	e.t.Helper()
	s := newState(w.state.kv, e.log)
	if err := s.load(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	f := s.flows[id]
	if f == nil || f.mark == nil {
		return mark{}
	}
	return *f.mark
}

// errCrash stands for the process dying where the test hook runs.
var errCrash = errors.New("killed between publishing and recording")

// crash makes w stop after publishing a batch and before recording it.
func crash(w *Watcher) { w.afterPublish = func(string) error { return errCrash } }
