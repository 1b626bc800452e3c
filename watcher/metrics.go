package watcher

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the watcher's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	polls       *prometheus.CounterVec
	duration    prometheus.Histogram
	lastSuccess prometheus.Gauge
	published   *prometheus.CounterVec
	duplicates  prometheus.Counter
	wfEvents    *prometheus.CounterVec
	digests     *prometheus.CounterVec
	tracked     prometheus.Gauge
	leader      prometheus.Gauge
	failures    *prometheus.CounterVec
	requests    prometheus.Histogram
	schedule    *scheduleMetrics
}

// NewMetrics creates the watcher's metrics and registers them with reg (nil: not
// registered). One value serves a process.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_polls_total",
			Help: "Polls of Microsoft Graph, by result: success, or failure when any workflow's poll failed (that workflow advanced nothing and is retried).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lcwnotify_poll_duration_seconds",
			Help:    "Duration of one poll of every watched workflow, publishing included.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lcwnotify_last_successful_poll_timestamp_seconds",
			Help: "Unix time at which the last poll in which every workflow succeeded ended.",
		}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_events_published_total",
			Help: "Change events stored in the stream, by the processingStatus they announce.",
		}, []string{"status"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lcwnotify_events_duplicate_total",
			Help: "Change events the stream already held (a re-publication after a crash or by a second watcher), absorbed by its duplicate window.",
		}),
		wfEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_workflow_events_published_total",
			Help: "Workflow events stored in the stream, by change: quarantined, released, disabled, enabled.",
		}, []string{"change"}),
		digests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_digests_total",
			Help: "Digests (LCW_DIGEST) by outcome: published (whole), partial (published, some figures missing), failed (an attempt that will be retried), skipped (a period missed while no watcher ran).",
		}, []string{"outcome"}),
		tracked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lcwnotify_tracked_results",
			Help: "userProcessingResults in the watcher's state: not final yet, or final and still inside the poll overlap.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lcwnotify_watcher_leader",
			Help: "1 when this replica holds the polling lease, 0 when it stands by.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_workflow_poll_failures_total",
			Help: "Failed polls of one workflow, by reason (graph, nats, conflict, canceled).",
		}, []string{"reason"}),
		requests: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lcwnotify_poll_graph_requests",
			Help: "Microsoft Graph HTTP requests one poll sent, retries included: a steady poll is one workflow list and three lists per workflow.",
			// Steady polls of 1, 10 and 100 workflows are 4, 31 and 301 requests.
			Buckets: []float64{5, 10, 20, 35, 50, 100, 200, 350, 500, 1000, 2000, 5000, 10000},
		}),
	}
	m.schedule = newScheduleMetrics(reg)
	if reg != nil {
		reg.MustRegister(m.polls, m.duration, m.lastSuccess, m.published, m.duplicates, m.wfEvents, m.digests, m.tracked, m.leader, m.failures, m.requests)
	}
	return m
}

func (m *Metrics) observePoll(ok bool, d time.Duration, end time.Time) {
	if m == nil {
		return
	}
	result := "failure"
	if ok {
		result = "success"
		m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	}
	m.polls.WithLabelValues(result).Inc()
	m.duration.Observe(d.Seconds())
}

func (m *Metrics) addPublished(status string) {
	if m != nil {
		m.published.WithLabelValues(status).Inc()
	}
}

func (m *Metrics) addDuplicate() {
	if m != nil {
		m.duplicates.Inc()
	}
}

func (m *Metrics) addWorkflowEvent(change string) {
	if m != nil {
		m.wfEvents.WithLabelValues(change).Inc()
	}
}

func (m *Metrics) addDigest(outcome string) {
	if m != nil {
		m.digests.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) setTracked(n int) {
	if m != nil {
		m.tracked.Set(float64(n))
	}
}

func (m *Metrics) setLeader(held bool) {
	if m == nil {
		return
	}
	v := 0.0
	if held {
		v = 1
	}
	m.leader.Set(v)
}

func (m *Metrics) addFailure(reason string) {
	if m != nil {
		m.failures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) observeGraphRequests(n int64) {
	if m != nil {
		m.requests.Observe(float64(n))
	}
}
