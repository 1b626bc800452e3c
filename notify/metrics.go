package notify

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the notifiers' Prometheus metrics. One value serves every Dispatcher and
// sink of a process; a nil *Metrics records nothing, which suits tests.
type Metrics struct {
	sent         *prometheus.CounterVec
	failed       *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	pending      *prometheus.GaugeVec
	messages     *prometheus.CounterVec
	limited      *prometheus.CounterVec
	queue        *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_notifications_sent_total",
			Help: "Change events delivered, by sink. An event covered by a grouped Slack message counts once.",
		}, []string{"sink"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_notifications_failed_total",
			Help: "Delivery attempts that failed, by sink and reason (retried or dead-lettered).",
		}, []string{"sink", "reason"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_notifications_dead_lettered_total",
			Help: "Change events given up on and recorded on <prefix>.dlq.<sink>, by sink.",
		}, []string{"sink"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lcwnotify_change_to_notification_seconds",
			Help:    "Time from the watcher observing a change to its notification being delivered, by sink.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600},
		}, []string{"sink"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lcwnotify_consumer_pending",
			Help: "Change events a sink has not finished with: not yet delivered to it plus delivered but not yet acknowledged.",
		}, []string{"sink"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_destination_messages_total",
			Help: "Messages a destination took, by sink. A grouped message carries several events; a long one is several messages.",
		}, []string{"sink"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_destination_rate_limited_seconds_total",
			Help: "Seconds of Retry-After that destinations imposed, by sink.",
		}, []string{"sink"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lcwnotify_delivery_queued",
			Help: "Events waiting in this process for their destination key's pace, by sink.",
		}, []string{"sink"}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.deadLettered, m.latency, m.pending, m.messages, m.limited, m.queue)
	}
	return m
}

// forSink creates sink's series at zero, so that a dashboard's rate() and an alert on a
// counter that has not moved yet see the sink from the start.
func (m *Metrics) forSink(sink string) {
	if m == nil {
		return
	}
	m.sent.WithLabelValues(sink)
	m.deadLettered.WithLabelValues(sink)
	m.latency.WithLabelValues(sink)
	m.pending.WithLabelValues(sink)
}

func (m *Metrics) delivered(sink string, took time.Duration) {
	if m == nil {
		return
	}
	m.sent.WithLabelValues(sink).Inc()
	m.latency.WithLabelValues(sink).Observe(took.Seconds())
}

func (m *Metrics) failure(sink, reason string) {
	if m == nil {
		return
	}
	m.failed.WithLabelValues(sink, reason).Inc()
}

func (m *Metrics) deadLetter(sink string) {
	if m == nil {
		return
	}
	m.deadLettered.WithLabelValues(sink).Inc()
}

func (m *Metrics) setPending(sink string, n uint64) {
	if m == nil {
		return
	}
	m.pending.WithLabelValues(sink).Set(float64(n))
}

// forStage creates a stage's series at zero.
func (m *Metrics) forStage(sink string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(sink)
	m.limited.WithLabelValues(sink)
	m.queue.WithLabelValues(sink)
}

func (m *Metrics) message(sink string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(sink).Inc()
}

func (m *Metrics) rateLimited(sink string, d time.Duration) {
	if m == nil {
		return
	}
	m.limited.WithLabelValues(sink).Add(d.Seconds())
}

func (m *Metrics) queued(sink string, n int) {
	if m == nil {
		return
	}
	m.queue.WithLabelValues(sink).Add(float64(n))
}
