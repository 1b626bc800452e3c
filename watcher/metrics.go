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
	tracked     prometheus.Gauge
	leader      prometheus.Gauge
	failures    *prometheus.CounterVec
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
	}
	m.schedule = newScheduleMetrics(reg)
	if reg != nil {
		reg.MustRegister(m.polls, m.duration, m.lastSuccess, m.published, m.duplicates, m.tracked, m.leader, m.failures)
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
