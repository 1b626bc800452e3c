package graphsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

func TestEvolvableEnumsNeedThePreferHeader(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	users := f.sim.AddUsers(1)
	wf := f.sim.AddWorkflow(graphsim.Workflow{Category: graphsim.CategoryMover})
	run := f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ExecutionType: graphsim.ExecutionActivatedWithScope, Users: []string{users[0].ID}})
	f.sim.SetResultStatus(run.Results[0], events.StatusQuarantined)

	tests := []struct {
		name, path, prop string
	}{
		{"result status", lcw + "/" + wf.ID + "/userProcessingResults/" + run.Results[0], "processingStatus"},
		{"result execution type", lcw + "/" + wf.ID + "/userProcessingResults/" + run.Results[0], "workflowExecutionType"},
		{"run execution type", lcw + "/" + wf.ID + "/runs/" + run.ID, "workflowExecutionType"},
		{"workflow category", lcw + "/" + wf.ID, "category"},
	}
	want := map[string]string{"processingStatus": "quarantined", "workflowExecutionType": "activatedWithScope", "category": "mover"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := f.get(t, tt.path)
			if got := plain.body[tt.prop]; got != "unknownFutureValue" {
				t.Errorf("without Prefer: %s = %v, want unknownFutureValue", tt.prop, got)
			}
			if h := plain.header.Get("Preference-Applied"); h != "" {
				t.Errorf("Preference-Applied = %q without Prefer", h)
			}
			opted := f.get(t, tt.path, "Prefer", "odata.maxpagesize=10, include-unknown-enum-members")
			if got := opted.body[tt.prop]; got != want[tt.prop] {
				t.Errorf("with Prefer: %s = %v, want %s", tt.prop, got, want[tt.prop])
			}
			if h := opted.header.Get("Preference-Applied"); h != "include-unknown-enum-members" {
				t.Errorf("Preference-Applied = %q", h)
			}
		})
	}
	// A value newer than any this simulator knows is hidden the same way.
	other := f.sim.StartRun(wf.ID, f.sim.AddUsers(1)[0].ID)
	f.sim.SetResultStatus(other.Results[0], "paused")
	path := lcw + "/" + wf.ID + "/userProcessingResults/" + other.Results[0]
	if got := f.get(t, path).body["processingStatus"]; got != "unknownFutureValue" {
		t.Errorf("undeclared status without Prefer = %v, want unknownFutureValue", got)
	}
	if got := f.get(t, path, "Prefer", "include-unknown-enum-members").body["processingStatus"]; got != "paused" {
		t.Errorf("undeclared status with Prefer = %v, want paused", got)
	}

	// Filters match the real value whatever the client is shown.
	r := f.get(t, q(lcw+"/"+wf.ID+"/userProcessingResults", "$filter", "processingStatus eq 'quarantined'"))
	if n := len(r.list()); n != 1 {
		t.Errorf("filter on quarantined found %d results, want 1", n)
	}
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t, graphsim.Options{ValidToken: func(tok string) bool { return strings.HasPrefix(tok, "ok-") }})
	path := lcw
	tests := []struct {
		name, header string
		status       int
		wantMessage  string
	}{
		{"no header", "", http.StatusUnauthorized, "empty"},
		{"empty bearer", "Bearer ", http.StatusUnauthorized, "empty"},
		{"basic scheme", "Basic b2s=", http.StatusUnauthorized, "Bearer"},
		{"refused token", "Bearer nope", http.StatusUnauthorized, "validation failure"},
		{"accepted token", "Bearer ok-123", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(t, path, "Authorization", tt.header, "client-request-id", "11111111-2222-4333-8444-555555555555")
			mustStatus(t, r, tt.status)
			if tt.status == http.StatusOK {
				return
			}
			if r.errorCode() != "InvalidAuthenticationToken" || !strings.Contains(r.errorMessage(), tt.wantMessage) {
				t.Errorf("error = %s", r.raw)
			}
			assertErrorShape(t, r, "11111111-2222-4333-8444-555555555555")
		})
	}
	fixed := newFixture(t, graphsim.Options{Token: "only-this"})
	if r := fixed.get(t, path, "Authorization", "Bearer only-this"); r.status != http.StatusOK {
		t.Errorf("fixed token refused: %s", r.raw)
	}
	if r := fixed.get(t, path); r.status != http.StatusUnauthorized {
		t.Errorf("other token accepted with Options.Token set: %d", r.status)
	}
}

func TestFaults(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	results := lcw + "/" + tn.wf.ID + "/userProcessingResults"
	runs := lcw + "/" + tn.wf.ID + "/runs"

	f.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListResults, Kind: graphsim.FaultThrottle, RetryAfter: 2128 * time.Millisecond, Times: 2})
	mustStatus(t, f.get(t, runs), http.StatusOK) // another operation is not affected
	for range 2 {
		r := f.get(t, results)
		mustStatus(t, r, http.StatusTooManyRequests)
		if got := r.header.Get("Retry-After"); got != "2.128" {
			t.Errorf("Retry-After = %q, want 2.128", got)
		}
		if r.errorCode() != "TooManyRequests" {
			t.Errorf("code = %q", r.errorCode())
		}
	}
	mustStatus(t, f.get(t, results), http.StatusOK)

	f.sim.InjectFault(graphsim.Fault{Path: "/identityGovernance/lifecycleWorkflows/workflows/*/runs", Kind: graphsim.FaultUnavailable, RetryAfter: 3 * time.Second})
	f.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListRuns, Kind: graphsim.FaultUnavailable})
	f.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListRuns, Kind: graphsim.FaultGatewayTimeout})
	mustStatus(t, f.get(t, results), http.StatusOK) // the path pattern does not match results
	r := f.get(t, runs)
	mustStatus(t, r, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After = %q, want 3", r.header.Get("Retry-After"))
	}
	r = f.get(t, runs)
	mustStatus(t, r, http.StatusServiceUnavailable)
	if _, ok := r.header["Retry-After"]; ok {
		t.Errorf("503 without RetryAfter sent Retry-After %q", r.header.Get("Retry-After"))
	}
	mustStatus(t, f.get(t, runs), http.StatusGatewayTimeout)
	if n := f.sim.PendingFaults(); n != 0 {
		t.Errorf("%d faults pending after all fired", n)
	}
}

func TestBrokenBodies(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	url := f.srv.URL + lcw + "/" + tn.wf.ID + "/userProcessingResults"
	fetch := func(ctx context.Context) (*http.Response, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	f.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListResults, Kind: graphsim.FaultMalformed})
	resp, body, err := fetch(context.Background())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("malformed: %v %v", resp, err)
	}
	if jsonValid(body) {
		t.Errorf("malformed body is valid JSON: %s", body)
	}

	f.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListResults, Kind: graphsim.FaultTruncated})
	resp, body, err = fetch(context.Background())
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated body: err = %v, want unexpected EOF", err)
	}
	if resp != nil {
		if n, _ := strconv.Atoi(resp.Header.Get("Content-Length")); len(body) >= n {
			t.Errorf("truncated body has %d of %d bytes", len(body), n)
		}
	}

	f.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListResults, Kind: graphsim.FaultSlow, Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := fetch(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow answer: err = %v, want deadline exceeded", err)
	}
	f.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListResults, Kind: graphsim.FaultSlow, Delay: 10 * time.Millisecond})
	if resp, _, err := fetch(context.Background()); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("slow answer that comes: %v %v", resp, err)
	}
	// The connection survives the faults.
	if resp, body, err := fetch(context.Background()); err != nil || resp.StatusCode != 200 || !jsonValid(body) {
		t.Errorf("after faults: %v %v", resp, err)
	}
}

func TestThrottleFor(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	f.sim.ThrottleFor(1500 * time.Millisecond)
	r := f.get(t, lcw)
	mustStatus(t, r, http.StatusTooManyRequests)
	if got := r.header.Get("Retry-After"); got != "1.5" {
		t.Errorf("Retry-After = %q, want 1.5", got)
	}
	f.clock.Advance(time.Second)
	if got := f.get(t, "/v1.0/users/x").header.Get("Retry-After"); got != "0.5" {
		t.Errorf("Retry-After after 1s = %q, want 0.5", got)
	}
	f.clock.Advance(time.Second)
	mustStatus(t, f.get(t, lcw), http.StatusOK)
}

func TestStats(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	f.sim.ResetStats()
	a := f.get(t, lcw+"/"+tn.wf.ID+"/userProcessingResults")
	b := f.get(t, lcw+"/"+tn.wf.ID+"/userProcessingResults")
	c := f.get(t, lcw+"/"+tn.wf.ID+"/runs/nope")
	st := f.sim.Stats()
	if st.Requests != 3 {
		t.Errorf("Requests = %d, want 3", st.Requests)
	}
	if want := int64(len(a.raw) + len(b.raw) + len(c.raw)); st.Bytes != want {
		t.Errorf("Bytes = %d, want %d", st.Bytes, want)
	}
	if got := st.ByOp[graphsim.OpListResults]; got.Requests != 2 || got.Bytes != int64(len(a.raw)+len(b.raw)) || got.Errors != 0 {
		t.Errorf("ByOp[listResults] = %+v", got)
	}
	if got := st.ByOp[graphsim.OpGetRun]; got.Requests != 1 || got.Errors != 1 {
		t.Errorf("ByOp[getRun] = %+v", got)
	}
	f.sim.ResetStats()
	if st := f.sim.Stats(); st.Requests != 0 || len(st.ByOp) != 0 {
		t.Errorf("after reset: %+v", st)
	}

	// A listing of several pages is one listing: what counts polls.
	paged := newFixture(t, graphsim.Options{PageSize: 1})
	ptn := newTenant(t, paged)
	paged.sim.ResetStats()
	_, pages := paged.followAll(t, lcw+"/"+ptn.wf.ID+"/userProcessingResults")
	if got := paged.sim.Stats().ByOp[graphsim.OpListResults]; len(pages) < 2 || got.Requests != int64(len(pages)) || got.Listings != 1 {
		t.Errorf("one listing of %d pages counted %+v, want %d requests and 1 listing", len(pages), got, len(pages))
	}
}

func TestPatchResult(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	tn := newTenant(t, f)
	id := tn.run.Results[0] // in progress
	f.clock.Advance(10 * time.Minute)
	patch := "/beta/workflowBase/userProcessingResults/" + id
	r := f.do(t, http.MethodPatch, patch, `{"processingStatus":"failed"}`, "Content-Type", "application/json")
	mustStatus(t, r, http.StatusOK)
	if r.body["processingStatus"] != "failed" || r.body["completedDateTime"] != ts(f.clock.Now()) {
		t.Errorf("PATCH answer = %s", r.raw)
	}
	got := f.get(t, lcw+"/"+tn.wf.ID+"/userProcessingResults/"+id)
	if got.body["processingStatus"] != "failed" || got.body["failedTasksCount"] != 1.0 {
		t.Errorf("after PATCH: %s", got.raw)
	}
	run := f.get(t, lcw+"/"+tn.wf.ID+"/runs/"+tn.run.ID)
	if run.body["lastUpdatedDateTime"] != ts(f.clock.Now()) || run.body["completedDateTime"] != ts(f.clock.Now()) {
		t.Errorf("run after PATCH: %s", run.raw)
	}
	tasks := f.get(t, q(lcw+"/"+tn.wf.ID+"/userProcessingResults/"+id+"/taskProcessingResults", "$filter", "processingStatus eq 'failed'"))
	if len(tasks.list()) != 1 || tasks.list()[0]["failureReason"] == nil {
		t.Errorf("failed task results after PATCH: %s", tasks.raw)
	}

	bad := []struct {
		name, body, contentType string
		status                  int
	}{
		{"unknown property", `{"status":"failed"}`, "application/json", 400},
		{"bad enum", `{"processingStatus":"broken"}`, "application/json", 400},
		{"bad time", `{"completedDateTime":"yesterday"}`, "application/json", 400},
		{"negative count", `{"failedTasksCount":-1}`, "application/json", 400},
		{"not JSON", `processingStatus=failed`, "application/json", 400},
		{"form encoded", `processingStatus=failed`, "application/x-www-form-urlencoded", 415},
		{"read-only id", `{"id":"x"}`, "application/json", 400},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, http.MethodPatch, patch, tt.body, "Content-Type", tt.contentType)
			mustStatus(t, r, tt.status)
		})
	}
	mustStatus(t, f.do(t, http.MethodPatch, "/beta/workflowBase/userProcessingResults/nope", `{}`, "Content-Type", "application/json"), 404)
}

func jsonValid(b []byte) bool {
	var v any
	return json.Unmarshal(b, &v) == nil
}
