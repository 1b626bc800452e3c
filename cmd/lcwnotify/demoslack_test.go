package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/notify/slack/interact"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// TestDemoClick: the demo's click, made as Slack makes it, is taken by lcwnotify's own
// action handler: signed with the app's secret it re-runs the failure's failed tasks in
// Graph once, and the on-call person reads the handler's answers on the console; the
// same click signed with another secret is refused (401) and does nothing; a second
// click is answered "already requested", the on-call person named as @oncall.
func TestDemoClick(t *testing.T) {
	sim := graphsim.New(graphsim.Options{})
	gsrv := httptest.NewServer(sim)
	t.Cleanup(gsrv.Close)
	users := sim.AddUsers(1)
	wf := sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires", Category: graphsim.CategoryJoiner})
	run := sim.StartRun(wf.ID, users[0].ID)
	sim.SetResultStatus(run.Results[0], events.StatusFailed, graphsim.TaskFailure{Task: "Assign licenses to user", Reason: graphsim.ReasonNoLicenses})
	g, err := graph.New(graph.Options{BaseURL: gsrv.URL, Credential: graph.NewStaticCredential(demoToken), MaxRetryTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	failure, err := notifytest.Event(notifytest.Result{WorkflowID: wf.ID, WorkflowName: wf.DisplayName, ResultID: run.Results[0], RunID: run.ID,
		UserID: users[0].ID, UserName: users[0].DisplayName, Status: events.StatusFailed})
	if err != nil {
		t.Fatal(err)
	}

	ns := eventstest.Start(t)
	_, js := ns.Connect(t)
	if _, err := events.EnsureStream(t.Context(), js, events.StreamOptions{Name: "LCW", Prefix: "lcw"}); err != nil {
		t.Fatal(err)
	}
	out := &notifytest.Buffer{}
	fake, err := startDemoSlack(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.close)
	secret := randomHex(16)
	h, err := interact.New(t.Context(), interact.Options{JS: js, Stream: "LCW", Publisher: events.NewPublisher(js, "LCW", "lcw"), Graph: g,
		TenantID: demoTenantID, Allowed: []string{demoOnCallID}, BotToken: fake.api().token, SigningSecret: secret, APIURL: fake.api().url})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, 10*time.Second, "the handler to run", func() bool { return h.Ready() == nil })
	mux := http.NewServeMux()
	mux.Handle("POST "+interact.Path, h)
	endpoint, err := serveLoopback(mux)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(endpoint.close)
	to := endpoint.url + interact.Path

	if err := sendClick(t.Context(), to, randomHex(16), fake.responseURL(), failure); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a click signed with another secret: %v, want refused with 401", err)
	}
	if err := sendClick(t.Context(), to, secret, fake.responseURL(), failure); err != nil {
		t.Fatalf("the click: %v", err)
	}
	eventually(t, 10*time.Second, "Graph's answer told", func() bool { return strings.Contains(out.String(), "Graph accepted") })
	acts := sim.Activations()
	if len(acts) != 1 || acts[0].Scope != graphsim.ScopeProcessingResults || acts[0].TaskScope != "failedTasks" ||
		len(acts[0].ProcessingResults) != 1 || acts[0].ProcessingResults[0] != run.Results[0] {
		t.Errorf("activations %+v: want one re-run of the failure's failed tasks", acts)
	}
	for _, want := range []string{
		"(to @oncall, only they see it) Re-running the failed tasks of " + users[0].DisplayName + " in Onboard new hires… (checking with Microsoft Graph first)\n\n",
		"(to @oncall, only they see it) Graph accepted: the failed tasks of " + users[0].DisplayName + " in Onboard new hires are running again.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the console lacks %q:\n%s", want, out.String())
		}
	}

	if err := sendClick(t.Context(), to, secret, fake.responseURL(), failure); err != nil {
		t.Fatalf("the second click: %v", err)
	}
	eventually(t, 10*time.Second, "the second click answered", func() bool {
		return strings.Contains(out.String(), "(to @oncall, only they see it) Nothing was done: already requested by @oncall at ")
	})
	if n := len(sim.Activations()); n != 1 {
		t.Errorf("%d activations after a second click, want still 1", n)
	}
	if strings.Count(out.String(), "(to @oncall") != 3 {
		t.Errorf("the console shows other answers than the three clicks' (the forged one has none):\n%s", out.String())
	}
}

// TestDemoSlack: the demo's Slack answers only the handler's calls as Slack would, and
// prints only what the on-call person would read: not a post with another token, to
// another user, or to another response_url.
func TestDemoSlack(t *testing.T) {
	out := &notifytest.Buffer{}
	fake, err := startDemoSlack(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.close)
	api := fake.api()
	ephemeral := func(token, user string) url.Values {
		return url.Values{"token": {token}, "channel": {"C0DEMO"}, "user": {user}, "text": {"*Hello* &lt;there&gt;"}}
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		json   string
		status int
		error  string // Slack's, for the Web API
		print  string
	}{
		{"chat.postEphemeral", "/api/chat.postEphemeral", ephemeral(api.token, demoOnCallID), "", 200, "", "(to @oncall, only they see it) Hello <there>\n\n"},
		{"another token", "/api/chat.postEphemeral", ephemeral("xoxb-other", demoOnCallID), "", 200, "invalid_auth", ""},
		{"another user", "/api/chat.postEphemeral", ephemeral(api.token, "U0SOMEONE"), "", 200, "user_not_in_channel", ""},
		{"another method", "/api/usergroups.users.list", url.Values{"token": {api.token}}, "", 200, "unknown_method", ""},
		{"the response_url", fake.hook, nil, `{"response_type":"ephemeral","text":"Graph accepted: *Alex*"}`, 200, "", "(to @oncall, only they see it) Graph accepted: Alex\n\n"},
		{"another response_url", "/actions/" + demoTeamID + "/1/2", nil, `{"text":"hi"}`, 404, "", ""},
		{"a response without text", fake.hook, nil, `{"response_type":"ephemeral"}`, 400, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(out.String())
			var resp *http.Response
			var err error
			if tc.form != nil {
				resp, err = http.PostForm(fake.srv.url+tc.path, tc.form)
			} else {
				resp, err = http.Post(fake.srv.url+tc.path, "application/json", strings.NewReader(tc.json))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status || body.Error != tc.error || (tc.status == 200 && body.OK != (tc.error == "")) {
				t.Errorf("answer %d %+v, want %d error %q", resp.StatusCode, body, tc.status, tc.error)
			}
			if got := out.String()[before:]; got != tc.print {
				t.Errorf("printed %q, want %q", got, tc.print)
			}
		})
	}
}

func TestPlainMrkdwn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Re-running the failed tasks of *Adele Vance* in *Onboard new hires*…", "Re-running the failed tasks of Adele Vance in Onboard new hires…"},
		{"already requested by <@" + demoOnCallID + "> at 09:00 UTC", "already requested by @oncall at 09:00 UTC"},
		{"<@U0OTHER01> may not re-run workflows", "@U0OTHER01 may not re-run workflows"},
		// Text from Graph, escaped by the handler, shows as written, and stays inert.
		{"*&lt;!channel&gt; Mallory ∗bold∗ &amp;co*", "<!channel> Mallory ∗bold∗ &co"},
		{"&amp;lt; stays &amp;lt;", "&lt; stays &lt;"},
	}
	for _, tc := range tests {
		if got := plainMrkdwn(tc.in); got != tc.want {
			t.Errorf("plainMrkdwn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
