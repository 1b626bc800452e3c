package interact

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the interaction handler's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	records  *prometheus.CounterVec
	rejects  *prometheus.CounterVec
	socketUp prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_actions_total",
			Help: "Audit records of actions taken from Slack, by action and kind (requested, accepted, refused, failed).",
		}, []string{"action", "kind"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_slack_interactions_rejected_total",
			Help: "Slack interactions not acted on before any check of who sent them, by reason (unsigned, bad_signature, stale, too_large, malformed, bad_value, busy).",
		}, []string{"reason"}),
		socketUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lcwnotify_slack_socket_connected",
			Help: "1 while the Socket Mode connection to Slack is up.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.rejects, m.socketUp)
	}
	return m
}

func (m *Metrics) recorded(action, kind string) {
	if m != nil {
		m.records.WithLabelValues(action, kind).Inc()
	}
}

func (m *Metrics) rejected(reason string) {
	if m != nil {
		m.rejects.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) socket(up bool) {
	if m == nil {
		return
	}
	if up {
		m.socketUp.Set(1)
	} else {
		m.socketUp.Set(0)
	}
}
