package slack

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Slack notifier's own Prometheus metrics, beside the delivery stage's
// (lcwnotify_destination_*{sink="slack"}). A nil *Metrics records nothing.
type Metrics struct {
	messages *prometheus.CounterVec
	limited  prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_slack_messages_total",
			Help: "Slack messages posted, by kind of destination (default, route, webhook).",
		}, []string{"channel_kind"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lcwnotify_slack_rate_limited_seconds_total",
			Help: "Seconds of Retry-After that Slack imposed on lcwnotify.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.limited)
	}
	return m
}

func (m *Metrics) message(kind string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(kind).Inc()
}

func (m *Metrics) rateLimited(d time.Duration) {
	if m == nil {
		return
	}
	m.limited.Add(d.Seconds())
}
