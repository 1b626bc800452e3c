package graph

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the client's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	throttled prometheus.Counter
	retries   *prometheus.CounterVec
	malformed *prometheus.CounterVec
}

// NewMetrics creates the client's metrics and registers them with reg (when not nil).
// Registering twice with the same registry reuses the collectors already there, so
// several clients may share one registry.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_graph_requests_total",
			Help: "Microsoft Graph HTTP requests (every attempt), by operation and HTTP status code (\"error\" for transport failures).",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lcwnotify_graph_request_duration_seconds",
			Help:    "Duration of Microsoft Graph HTTP requests (every attempt, body included), by operation.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lcwnotify_graph_throttled_seconds_total",
			Help: "Time spent waiting because Microsoft Graph answered 429 or 503.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_graph_retries_total",
			Help: "Microsoft Graph requests sent again, by operation and reason (throttled: 429 or 503; server_error: 500, 502 or 504; connection: no complete answer).",
		}, []string{"operation", "reason"}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcwnotify_graph_malformed_items_total",
			Help: "Items in Microsoft Graph responses skipped because they lack an id or a processing status, by operation.",
		}, []string{"operation"}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.duration = register(reg, m.duration)
		m.throttled = register(reg, m.throttled)
		m.retries = register(reg, m.retries)
		m.malformed = register(reg, m.malformed)
	}
	return m
}

// register registers c, or returns the equal collector already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: a metric of the same name with another shape
	}
	return c
}

func (m *Metrics) observeRequest(op string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(op, code).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
}

func (m *Metrics) addThrottled(d time.Duration) {
	if m == nil {
		return
	}
	m.throttled.Add(d.Seconds())
}

func (m *Metrics) addRetry(op, reason string) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(op, reason).Inc()
}

func (m *Metrics) addMalformed(op string) {
	if m == nil {
		return
	}
	m.malformed.WithLabelValues(op).Inc()
}

// RequestCount counts the Graph requests made under a context (WithRequestCount):
// every HTTP request, retries and the request sent again after a 401 included. The
// watcher counts a poll with it. It is safe for concurrent use.
type RequestCount struct {
	requests, throttled atomic.Int64
}

// Requests returns how many requests were sent.
func (n *RequestCount) Requests() int64 { return n.requests.Load() }

// Throttled returns how many of them Graph answered 429 or 503.
func (n *RequestCount) Throttled() int64 { return n.throttled.Load() }

func (n *RequestCount) add(status int) {
	if n == nil {
		return
	}
	n.requests.Add(1)
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		n.throttled.Add(1)
	}
}

type requestCountKey struct{}

// WithRequestCount returns a context under which the Client's requests are added to n.
func WithRequestCount(ctx context.Context, n *RequestCount) context.Context {
	return context.WithValue(ctx, requestCountKey{}, n)
}

func countFrom(ctx context.Context) *RequestCount {
	n, _ := ctx.Value(requestCountKey{}).(*RequestCount)
	return n
}
