package interact

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

const (
	testSecret  = "8f742231b10e8888abcd99yyyzzz85a5"
	allowedUser = "U0ALLOWED1"
	otherUser   = "U0ALLOWED2"
	groupUser   = "U0INGROUP1"
	strangers   = "U0STRANGER"
	onCallGroup = "S0ONCALL01"
	testChannel = "C0ALERTS01"
	testTS      = "1777700000.000100"
)

// tenant is a simulated Graph tenant with a joiner workflow and one finished run whose
// first user failed, a fake Slack, and a NATS server with the stream.
type tenant struct {
	sim    *graphsim.Sim
	graph  *graph.Client
	slack  *slacktest.Slack
	nats   *eventstest.Server
	js     jetstream.JetStream
	pub    *events.Publisher
	wf     graphsim.Workflow
	run    graphsim.Run
	users  []graphsim.User
	failed string // the failed result
	done   string // the completed result
	logs   *notifytest.Buffer
}

// jwt returns a JWT-shaped token whose roles claim the simulator reads.
func jwt(roles ...string) string {
	claims, _ := json.Marshal(map[string]any{"tid": "tenant-1", "roles": roles})
	return "eyJ0eXAiOiJKV1QifQ." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
}

func newTenant(t testing.TB, opts graphsim.Options, token string) *tenant {
	t.Helper()
	opts.Seed = 7
	sim := graphsim.New(opts)
	gsrv := httptest.NewServer(sim)
	t.Cleanup(gsrv.Close)
	users := sim.AddUsers(3)
	wf := sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner})
	run := sim.StartRun(wf.ID, users[0].ID, users[1].ID)
	sim.SetResultStatus(run.Results[0], events.StatusFailed, graphsim.TaskFailure{Task: "Assign licenses to user", Reason: graphsim.ReasonNoLicenses})
	sim.SetResultStatus(run.Results[1], events.StatusCompleted)
	if token == "" {
		token = jwt(graphsim.RoleReportsRead, graphsim.RoleWorkflowReadBasic, graphsim.RoleWorkflowActivate, graphsim.RoleUserRead)
	}
	gc, err := graph.New(graph.Options{BaseURL: gsrv.URL, Credential: graph.NewStaticCredential(token), MaxRetryTime: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fs := slacktest.New(slacktest.Options{Interval: -1, Scopes: slacktest.DefaultScopes + ",usergroups:read"})
	t.Cleanup(fs.Close)
	t.Cleanup(fs.CloseSockets)
	fs.SetUserGroup(onCallGroup, groupUser, "U0SOMEONE1")
	ns := eventstest.Start(t)
	_, js := ns.Connect(t)
	if _, err := events.EnsureStream(t.Context(), js, events.StreamOptions{Name: "LCW", Prefix: "lcw"}); err != nil {
		t.Fatal(err)
	}
	logs := &notifytest.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("handler logs:\n%s", logs.String())
		}
	})
	return &tenant{sim: sim, graph: gc, slack: fs, nats: ns, js: js, pub: events.NewPublisher(js, "LCW", "lcw"),
		wf: wf, run: run, users: users, failed: run.Results[0], done: run.Results[1], logs: logs}
}

// options are a handler's options against the tenant: HTTP and Socket Mode, quick
// leases, a short grace, and no sweep unless a test asks for one.
func (tn *tenant) options() Options {
	return Options{
		JS: tn.js, Stream: "LCW", Publisher: tn.pub, Graph: tn.graph, TenantID: "tenant-1",
		Allowed:  []string{allowedUser, otherUser, onCallGroup},
		BotToken: tn.slack.Token(), SigningSecret: testSecret, APIURL: tn.slack.APIURL(),
		Logger:      slog.New(slog.NewJSONHandler(tn.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		CallTimeout: time.Second, Grace: 50 * time.Millisecond, SweepInterval: time.Hour,
	}
}

// running is a handler whose Run goes on until the test ends or stop is called.
type running struct {
	*Handler
	srv  *httptest.Server
	stop func()
}

func (tn *tenant) start(t *testing.T, mod func(*Options)) *running {
	t.Helper()
	o := tn.options()
	if mod != nil {
		mod(&o)
	}
	h, err := New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return runHandler(t, h)
}

func runHandler(t *testing.T, h *Handler) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(stop)
	waitFor(t, "the handler to run", func() bool { return h.accepting.Load() })
	return &running{Handler: h, srv: srv, stop: stop}
}

// waitFor polls cond until it holds, failing the test after a generous deadline (the
// machine is shared; nothing here measures time).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// value returns the value of the button for action on the tenant's failure.
func (tn *tenant) value(t *testing.T, actionID string) string {
	t.Helper()
	action, _ := lcwslack.ActionOf(actionID)
	v, err := lcwslack.EncodeActionValue(action, lcwslack.ActionTarget{
		WorkflowID: tn.wf.ID, ResultID: tn.failed, SubjectID: tn.users[0].ID, RunID: tn.run.ID,
		EventID: events.ID(tn.wf.ID, tn.failed, events.StatusFailed), WorkflowName: tn.wf.DisplayName, UserName: tn.users[0].DisplayName,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// click is user's click on the button with actionID.
func (tn *tenant) click(t *testing.T, user, actionID string) *slacktest.BlockActions {
	t.Helper()
	return &slacktest.BlockActions{UserID: user, UserName: strings.ToLower(user), ChannelID: testChannel, MessageTS: testTS,
		ResponseURL: tn.slack.ResponseURL(), ActionID: actionID, BlockID: "lcw_actions.x", Value: tn.value(t, actionID)}
}

// signed returns the request Slack would POST for payload at ts.
func signed(t *testing.T, url string, payload []byte, ts time.Time, secret string) *http.Request {
	t.Helper()
	body := slacktest.Form(payload)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = slacktest.Sign(secret, ts, body)
	return req
}

// post sends a click over HTTP, signed, and returns the status.
func (r *running) post(t *testing.T, c *slacktest.BlockActions) int {
	t.Helper()
	return do(t, signed(t, r.srv.URL, c.Payload(), time.Now(), testSecret))
}

func do(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// records returns the action records in the stream, in order.
func (tn *tenant) records(t *testing.T) []*events.ActionEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := tn.js.Stream(ctx, "LCW")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*events.ActionEvent
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil || !strings.HasPrefix(m.Subject, "lcw.action.") {
			continue
		}
		ev, err := events.DecodeActionEvent(m.Data)
		if err != nil {
			t.Fatalf("record %d: %v", seq, err)
		}
		if m.Subject != ev.SubjectFor("lcw") {
			t.Errorf("record on %s, want %s", m.Subject, ev.SubjectFor("lcw"))
		}
		out = append(out, ev)
	}
	return out
}

// kinds lists the kinds of records, in order.
func kinds(recs []*events.ActionEvent) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Data.Kind)
	}
	return out
}

func count(recs []*events.ActionEvent, kind string) int {
	n := 0
	for _, r := range recs {
		if r.Data.Kind == kind {
			n++
		}
	}
	return n
}

// waitRecords waits until the stream holds records of the kinds wanted (at least as
// many of each), and returns them all.
func (tn *tenant) waitRecords(t *testing.T, want ...string) []*events.ActionEvent {
	t.Helper()
	var recs []*events.ActionEvent
	waitFor(t, "records "+strings.Join(want, ","), func() bool {
		recs = tn.records(t)
		for _, k := range want {
			if count(recs, k) < countOf(want, k) {
				return false
			}
		}
		return true
	})
	return recs
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// activations are the simulator's accepted activations.
func (tn *tenant) activations() []graphsim.Activation { return tn.sim.Activations() }

// ephemeralTexts returns the texts of the ephemerals taken so far.
func (tn *tenant) ephemeralTexts() []string {
	var out []string
	for _, e := range tn.slack.Ephemerals() {
		out = append(out, e.Text)
	}
	return out
}

func containsText(texts []string, sub string) bool {
	return slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, sub) })
}

// settleTime gives workers that might wrongly act a moment to do so before a test
// asserts that nothing happened; it is not a measurement.
func settleTime() { time.Sleep(300 * time.Millisecond) }
