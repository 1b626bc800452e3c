package graph

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// posted is one action request as the fake server received it.
type posted struct {
	path, contentType, prefer, crid, auth string
	body                                  map[string]any
}

// actionServer answers POSTs with the given statuses in turn (the last one repeats)
// and records them.
func actionServer(t *testing.T, statuses ...int) (*fakeGraph, *[]posted) {
	t.Helper()
	var got []posted
	n := 0
	srv := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p := posted{path: r.URL.Path, contentType: r.Header.Get("Content-Type"), prefer: r.Header.Get("Prefer"),
			crid: r.Header.Get("client-request-id"), auth: r.Header.Get("Authorization")}
		_ = json.Unmarshal(b, &p.body)
		got = append(got, p)
		status := statuses[min(n, len(statuses)-1)]
		n++
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "0.01")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":{"code":"Code` + http.StatusText(status)[:3] + `","message":"no, ` + testToken + `","innerError":{"request-id":"rid-1"}}}`))
	})
	return srv, &got
}

func TestActivateRequestShape(t *testing.T) {
	srv, got := actionServer(t, http.StatusNoContent)
	c := newTestClient(t, srv.URL)
	if err := c.Activate(t.Context(), "wf 1", []string{"u1", "u2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.ActivateWithScope(t.Context(), "wf 1", ProcessingResultScope(TaskScopeFailed, "r1")); err != nil {
		t.Fatal(err)
	}
	if err := c.ActivateWithScope(t.Context(), "wf 1", RunScope("run-1", UserScopeFailed, TaskScopeAll)); err != nil {
		t.Fatal(err)
	}
	reqs := *got
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.contentType != "application/json" || r.prefer != preferEnums || r.crid == "" || r.auth != "Bearer "+testToken {
			t.Errorf("headers of %s = %+v", r.path, r)
		}
	}
	tests := []struct{ path, body string }{
		{"/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf 1/activate", `{"subjects":[{"id":"u1"},{"id":"u2"}]}`},
		{"/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf 1/activateWithScope",
			`{"scope":{"@odata.type":"#microsoft.graph.identityGovernance.activateProcessingResultScope","processingResults":[{"id":"r1"}],"taskScope":"failedTasks"}}`},
		{"/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf 1/activateWithScope",
			`{"scope":{"@odata.type":"#microsoft.graph.identityGovernance.activateRunScope","run":{"id":"run-1"},"taskScope":"allTasks","userScope":"failedUsers"}}`},
	}
	for i, tt := range tests {
		b, _ := json.Marshal(reqs[i].body)
		if reqs[i].path != tt.path || string(b) != tt.body {
			t.Errorf("request %d = %s %s, want %s %s", i, reqs[i].path, b, tt.path, tt.body)
		}
	}
}

func TestActivateClassifiesFailures(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		want         error
		wantRequests int
		unconfirmed  bool
	}{
		{"throttled then accepted", []int{429, 429, 204}, nil, 3, false},
		{"unavailable then accepted", []int{503, 204}, nil, 2, false},
		{"server error", []int{500, 204}, ErrUnconfirmed, 1, true},
		{"bad gateway", []int{502, 204}, ErrUnconfirmed, 1, true},
		{"forbidden", []int{403}, ErrForbidden, 1, false},
		{"conflict", []int{409}, ErrConflict, 1, false},
		{"not found", []int{404}, ErrNotFound, 1, false},
		{"throttled past the budget", []int{429}, ErrThrottled, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := actionServer(t, tt.statuses...)
			c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryTime = 300 * time.Millisecond })
			err := c.Activate(t.Context(), "wf", []string{"u1"})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.wantRequests > 0 && len(*got) != tt.wantRequests {
				t.Errorf("%d requests, want %d", len(*got), tt.wantRequests)
			}
			var ae *ActivationError
			if err != nil {
				if !errors.As(err, &ae) || (len(ae.Unconfirmed) == 1) != tt.unconfirmed || len(ae.Activated) != 0 {
					t.Errorf("err = %#v", err)
				}
				assertNoSecret(t, testToken, err.Error(), c.logs.String())
			}
		})
	}
}

// failFirst fails the first request before writing it, as a refused connection does.
type failFirst struct {
	next  http.RoundTripper
	calls atomic.Int32
}

func (f *failFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.calls.Add(1) == 1 {
		return nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	}
	return f.next.RoundTrip(r)
}

func TestActivateRetriesAConnectionThatNeverCarriedIt(t *testing.T) {
	srv, got := actionServer(t, http.StatusNoContent)
	rt := &failFirst{next: http.DefaultTransport}
	c := newTestClient(t, srv.URL, func(o *Options) { o.HTTPClient = &http.Client{Transport: rt} })
	if err := c.Activate(t.Context(), "wf", []string{"u1"}); err != nil {
		t.Fatal(err)
	}
	if rt.calls.Load() != 2 || len(*got) != 1 {
		t.Errorf("%d attempts, %d reached the server; want 2 and 1", rt.calls.Load(), len(*got))
	}
}

func TestActivateErrorBodyNotJSON(t *testing.T) {
	srv := newFakeGraph(t, serveBody(http.StatusBadRequest, "<html>Bad Request</html>"))
	c := newTestClient(t, srv.URL)
	err := c.Activate(t.Context(), "wf", []string{"u1"})
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != 400 || ge.Code != "" || ge.ClientRequestID == "" {
		t.Errorf("err = %#v, want a 400 *Error with the client-request-id", err)
	}
}

func TestPermissions(t *testing.T) {
	tests := []struct {
		name, token string
		want        []string
		can         bool
		wantErr     bool
	}{
		{"app roles", jwt(`{"tid":"t","roles":["LifecycleWorkflows-Reports.Read.All","LifecycleWorkflows-Workflow.Activate"]}`),
			[]string{"LifecycleWorkflows-Reports.Read.All", "LifecycleWorkflows-Workflow.Activate"}, true, false},
		{"broader role", jwt(`{"roles":["LifecycleWorkflows.ReadWrite.All"]}`), []string{"LifecycleWorkflows.ReadWrite.All"}, true, false},
		{"read only", jwt(`{"roles":["LifecycleWorkflows-Reports.Read.All"]}`), []string{"LifecycleWorkflows-Reports.Read.All"}, false, false},
		{"delegated scopes", jwt(`{"scp":"User.Read LifecycleWorkflows-Workflow.Activate"}`), []string{"User.Read", "LifecycleWorkflows-Workflow.Activate"}, true, false},
		{"no claims", jwt(`{"tid":"t"}`), nil, false, false},
		{"not a JWT", "opaque", nil, false, true},
		{"payload not JSON", "a." + b64("nope") + ".c", nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, "https://graph.example", func(o *Options) { o.Credential = NewStaticCredential(tt.token) })
			got, err := c.Permissions(t.Context())
			if (err != nil) != tt.wantErr || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Permissions() = %q, %v; want %q", got, err, tt.want)
			}
			can, err := c.CanActivate(t.Context())
			if (err != nil) != tt.wantErr || can != tt.can {
				t.Errorf("CanActivate() = %v, %v; want %v", can, err, tt.can)
			}
			if err != nil {
				assertNoSecret(t, tt.token, err.Error())
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// jwt returns a JWT-shaped token with the given claims and a signature nobody checks.
func jwt(claims string) string { return b64(`{"typ":"JWT"}`) + "." + b64(claims) + "." + b64("sig") }
