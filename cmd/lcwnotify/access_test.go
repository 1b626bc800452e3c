package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// TestGraphRefusalInReadyzAndCheck: when Graph refuses the application (a permission
// or its consent missing), /readyz fails with what to grant, and so does check; once
// Graph grants it again, /readyz recovers without a restart.
func TestGraphRefusalInReadyzAndCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard new hires"})
	target, _ := url.Parse(w.simURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refuse atomic.Value // the path suffix Graph refuses, "" for none
	refuse.Store("")
	graph := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if s := refuse.Load().(string); s != "" && strings.HasSuffix(r.URL.Path, s) {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusForbidden)
			_, _ = rw.Write([]byte(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"req-403"}}}`))
			return
		}
		proxy.ServeHTTP(rw, r)
	}))
	defer graph.Close()
	w.env["LCW_GRAPH_URL"] = graph.URL

	refuse.Store("/workflows")
	code, out, _ := runBinary(t, w.env, "check")
	if code != 1 || !strings.Contains(out, "FAIL  graph") || !strings.Contains(out, "LifecycleWorkflows-Workflow.ReadBasic.All") ||
		!strings.Contains(out, "the refused token carries it") {
		t.Errorf("check with the workflows refused: exit %d, want 1 and the permission to grant:\n%s", code, out)
	}

	refuse.Store("/userProcessingResults")
	p := start(t, w.env, "watch")
	base := "http://" + p.httpAddr()
	var body string
	eventually(t, 20*time.Second, "/readyz to name the missing permission", func() bool {
		var status int
		status, body = get(t, base+"/readyz")
		return status == http.StatusServiceUnavailable && strings.Contains(body, "LifecycleWorkflows-Reports.Read.All")
	})
	for _, want := range []string{"Authorization_RequestDenied", "list_results", "admin consent"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz lacks %q: %s", want, body)
		}
	}
	noSecrets(t, "/readyz", body)

	refuse.Store("")
	eventually(t, 20*time.Second, "/readyz to recover", func() bool {
		status, _ := get(t, base+"/readyz")
		return status == http.StatusOK
	})
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
}
