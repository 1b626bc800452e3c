package main

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestThrottleSampler: the page tells of the throttling within the last window only,
// from the process's own counters, starting from what they held at the start.
func TestThrottleSampler(t *testing.T) {
	reg := prometheus.NewRegistry()
	waited := prometheus.NewCounter(prometheus.CounterOpts{Name: "lcwnotify_graph_throttled_seconds_total"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lcwnotify_graph_requests_total"}, []string{"operation", "code"})
	reg.MustRegister(waited, requests)
	waited.Add(100) // before the start: not counted
	requests.WithLabelValues("list_results", "429").Add(7)

	ts := newThrottleSampler(reg)
	start := time.Now()
	waited.Add(2.5)
	requests.WithLabelValues("list_results", "429").Add(2)
	requests.WithLabelValues("list_runs", "503").Inc()
	requests.WithLabelValues("list_runs", "200").Add(50)
	for _, tc := range []struct {
		name    string
		at      time.Duration
		waited  time.Duration
		answers int
	}{
		{"within the window", time.Minute, 2500 * time.Millisecond, 3},
		{"later, still within", 10 * time.Minute, 2500 * time.Millisecond, 3},
		{"past the window", 40 * time.Minute, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, answers, window := ts.throttled(start.Add(tc.at))
			if got != tc.waited || answers != tc.answers || window != throttleWindow {
				t.Errorf("throttled = %v on %d answers in %v, want %v on %d", got, answers, window, tc.waited, tc.answers)
			}
		})
	}
}
