package watcher

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// TestGraphAccessReadiness: once Graph refuses the results lists (the reports
// permission was removed), the poll fails and GraphAccess says which permission to
// grant, with Graph's code; a task list refused for one result does not count; once
// Graph answers again, the next poll clears it.
func TestGraphAccessReadiness(t *testing.T) {
	e := newEnv(t)
	var refuse atomic.Bool
	client := e.rewritten(func(r *http.Request, status int, body string) (int, string) {
		if refuse.Load() && strings.HasSuffix(r.URL.Path, "/userProcessingResults") {
			return http.StatusForbidden, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.",` +
				`"innerError":{"request-id":"req-1","client-request-id":"c-1"}}}`
		}
		return status, body
	})
	e.workflow("Leaver", 1)
	w := e.watcher(func(o *Options) { o.Graph = client })
	e.poll(w)
	if err := w.GraphAccess(); err != nil {
		t.Fatalf("GraphAccess() = %v before any refusal", err)
	}

	refuse.Store(true)
	e.clock.advance(time.Minute)
	if _, err := w.Poll(context.Background()); !errors.Is(err, graph.ErrForbidden) {
		t.Fatalf("poll = %v, want the 403", err)
	}
	err := w.GraphAccess()
	if !errors.Is(err, graph.ErrForbidden) {
		t.Fatalf("GraphAccess() = %v, want the refusal", err)
	}
	for _, part := range []string{graph.PermissionReports, "Authorization_RequestDenied", "list_results", "admin consent"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("GraphAccess() = %q, lacks %q", err, part)
		}
	}

	refuse.Store(false)
	e.clock.advance(time.Minute)
	e.poll(w)
	if err := w.GraphAccess(); err != nil {
		t.Errorf("GraphAccess() = %v after Graph answered again", err)
	}
}

// TestPollCountsGraphRequests: every request of a poll is counted, in PollStats and
// the per-poll histogram, the throttled ones too, matching what the simulator saw.
func TestPollCountsGraphRequests(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	for range 3 {
		e.workflow("Leaver", 1)
	}
	w := e.watcher(func(o *Options) { o.Metrics = m })
	first := e.poll(w)
	e.clock.advance(time.Minute)
	e.sim.ResetStats()
	e.sim.InjectFault(graphsim.Fault{Op: graphsim.OpListResults, Kind: graphsim.FaultThrottle, RetryAfter: 20 * time.Millisecond})
	st := e.poll(w)
	if got, want := st.GraphRequests, e.sim.Stats().Requests; got != want {
		t.Errorf("GraphRequests = %d, want the %d requests the simulator answered", got, want)
	}
	if st.GraphRequests != 1+3*3+1 || st.GraphThrottled != 1 {
		t.Errorf("GraphRequests, GraphThrottled = %d, %d; want a steady poll of 3 workflows (10) plus one throttled retry, 1", st.GraphRequests, st.GraphThrottled)
	}
	if n := testutil.CollectAndCount(m.requests); n != 1 {
		t.Fatalf("%d histogram series", n)
	}
	if got, want := histogramSum(t, reg, "lcwnotify_poll_graph_requests"), float64(first.GraphRequests+st.GraphRequests); got != want {
		t.Errorf("histogram sum = %v, want both polls' requests (%v)", got, want)
	}
}

func histogramSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}
