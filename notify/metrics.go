package notify

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the notifiers' Prometheus metrics. One value serves every Dispatcher and
// sink of a process; a nil *Metrics records nothing, which suits tests.
type Metrics struct {
	sent          *prometheus.CounterVec
	failed        *prometheus.CounterVec
	deadLettered  *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	pending       *prometheus.GaugeVec
	slackMessages *prometheus.CounterVec
	slackLimited  prometheus.Counter
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
		slackMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_slack_messages_total",
			Help: "Slack messages posted, by kind of destination (default, route, webhook).",
		}, []string{"channel_kind"}),
		slackLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lcwnotify_slack_rate_limited_seconds_total",
			Help: "Seconds of Retry-After that Slack imposed on lcwnotify.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.deadLettered, m.latency, m.pending, m.slackMessages, m.slackLimited)
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

// SlackMessage counts one Slack message posted to a destination of the given kind.
func (m *Metrics) SlackMessage(kind string) {
	if m == nil {
		return
	}
	m.slackMessages.WithLabelValues(kind).Inc()
}

// SlackRateLimited adds a Retry-After that Slack imposed.
func (m *Metrics) SlackRateLimited(d time.Duration) {
	if m == nil {
		return
	}
	m.slackLimited.Add(d.Seconds())
}
