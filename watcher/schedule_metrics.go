package watcher

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scheduleMetrics show the poll schedule: per workflow (at most maxWorkflowSeries, the
// series of a workflow no longer watched deleted) its next poll and whether it is
// active, and the active polls and mode switches.
type scheduleMetrics struct {
	nextPoll    *prometheus.GaugeVec
	active      *prometheus.GaugeVec
	activePolls *prometheus.CounterVec
	switches    *prometheus.CounterVec
}

func newScheduleMetrics(reg prometheus.Registerer) *scheduleMetrics {
	m := &scheduleMetrics{
		nextPoll: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lcwnotify_workflow_next_poll_timestamp_seconds",
			Help: "Unix time of the next poll of each watched workflow (0 while this replica does not poll).",
		}, []string{"workflow"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lcwnotify_workflow_poll_active",
			Help: "1 while a workflow is polled at LCW_POLL_ACTIVE_INTERVAL (something in it can change soon), 0 while only at LCW_POLL_INTERVAL.",
		}, []string{"workflow"}),
		activePolls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_active_polls_total",
			Help: "Active polls (the active workflows polled between two full polls), by result: success, or failure when any workflow's poll failed.",
		}, []string{"result"}),
		switches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_workflow_poll_mode_switches_total",
			Help: "Workflows changing poll mode, by the mode entered (active, idle).",
		}, []string{"mode"}),
	}
	if reg != nil {
		reg.MustRegister(m.nextPoll, m.active, m.activePolls, m.switches)
	}
	return m
}

func (m *Metrics) setSchedule(workflow string, mode PollMode, next time.Time) {
	if m == nil {
		return
	}
	v, at := 0.0, 0.0
	if mode == ModeActive {
		v = 1
	}
	if !next.IsZero() {
		at = float64(next.UnixNano()) / 1e9
	}
	m.schedule.active.WithLabelValues(workflow).Set(v)
	m.schedule.nextPoll.WithLabelValues(workflow).Set(at)
}

func (m *Metrics) forgetWorkflow(workflow string) {
	if m == nil {
		return
	}
	m.schedule.active.DeleteLabelValues(workflow)
	m.schedule.nextPoll.DeleteLabelValues(workflow)
}

func (m *Metrics) addModeSwitch(mode PollMode) {
	if m != nil {
		m.schedule.switches.WithLabelValues(string(mode)).Inc()
	}
}

func (m *Metrics) observeActivePoll(ok bool) {
	if m == nil {
		return
	}
	result := "failure"
	if ok {
		result = "success"
	}
	m.schedule.activePolls.WithLabelValues(result).Inc()
}
