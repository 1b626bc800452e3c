package graph

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRetryMetrics: each retry is counted by reason, and a RequestCount in the context
// sees every request and the throttled ones.
func TestRetryMetrics(t *testing.T) {
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}
	tests := []struct {
		name          string
		first         http.HandlerFunc
		reason        string
		wantThrottled int64
	}{
		{"429", withHeader(graphError(429, "TooManyRequests"), "Retry-After", "0.01"), "throttled", 1},
		{"503", withHeader(graphError(503, "ServiceUnavailable"), "Retry-After", "0.01"), "throttled", 1},
		{"500", graphError(500, "InternalServerError"), "server_error", 0},
		{"hang up", hangUp, "connection", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeGraph(t, sequence(tt.first, serveBody(200, emptyPage)))
			c := newTestClient(t, srv.URL)
			var n RequestCount
			if _, err := c.ListResults(WithRequestCount(t.Context(), &n), "wf", dateRange); err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(c.metrics.retries.WithLabelValues(opListResults, tt.reason)); got != 1 {
				t.Errorf("retries{reason=%s} = %v, want 1", tt.reason, got)
			}
			if got := testutil.CollectAndCount(c.metrics.retries); got != 1 {
				t.Errorf("%d retry series, want 1", got)
			}
			if n.Requests() != 2 || n.Throttled() != tt.wantThrottled {
				t.Errorf("RequestCount = %d requests, %d throttled; want 2, %d", n.Requests(), n.Throttled(), tt.wantThrottled)
			}
		})
	}
}
