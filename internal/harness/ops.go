package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// opsClient reads the operations endpoint; every request has its own short deadline.
var opsClient = &http.Client{Timeout: 5 * time.Second}

// get fetches path from the operations server.
func (p *Process) get(ctx context.Context, path string) (int, []byte, error) {
	addr, err := p.HTTPAddr(ctx)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := opsClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Readiness is /readyz's answer.
type Readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// Ready waits until /readyz answers 200: NATS is connected, the watcher completed a poll
// (or stands by) and the notifiers consume.
func (p *Process) Ready(ctx context.Context) error {
	var last Readiness
	err := poll(ctx, 50*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("%w with status %d", errExited, p.ExitCode())
		}
		status, body, err := p.get(ctx, "/readyz")
		if err != nil {
			return false, nil // not listening yet
		}
		_ = json.Unmarshal(body, &last)
		return status == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready (last /readyz: %+v): %w", p.Name, last, err)
	}
	return nil
}

// MetricsText returns /metrics as served, for checks on the text itself (secrets).
func (p *Process) MetricsText(ctx context.Context) (string, error) {
	status, body, err := p.get(ctx, "/metrics")
	if err != nil {
		return "", fmt.Errorf("%s: /metrics: %w", p.Name, err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("%s: /metrics: status %d", p.Name, status)
	}
	return string(body), nil
}

// Metrics scrapes /metrics.
func (p *Process) Metrics(ctx context.Context) (Metrics, error) {
	text, err := p.MetricsText(ctx)
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("%s: /metrics: %w", p.Name, err)
	}
	return Metrics(mfs), nil
}

// Metrics are the metric families of one scrape, by name.
type Metrics map[string]*dto.MetricFamily

// Sum returns the sum of the counters or gauges called name whose labels include the
// given name/value pairs; 0 when there are none.
func (m Metrics) Sum(name string, labels ...string) float64 {
	mf := m[name]
	if mf == nil {
		return 0
	}
	var sum float64
series:
	for _, s := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range s.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if got[labels[i]] != labels[i+1] {
				continue series
			}
		}
		switch {
		case s.Counter != nil:
			sum += s.GetCounter().GetValue()
		case s.Gauge != nil:
			sum += s.GetGauge().GetValue()
		case s.Untyped != nil:
			sum += s.GetUntyped().GetValue()
		}
	}
	return sum
}

// Histogram returns the sum and count of the histogram called name (every series);
// zeros when there is none.
func (m Metrics) Histogram(name string) (sum float64, count uint64) {
	mf := m[name]
	if mf == nil {
		return 0, 0
	}
	for _, s := range mf.GetMetric() {
		if h := s.GetHistogram(); h != nil {
			sum += h.GetSampleSum()
			count += h.GetSampleCount()
		}
	}
	return sum, count
}

// Polls returns how many polls the watcher completed successfully.
func (m Metrics) Polls() int { return int(m.Sum("lcwnotify_polls_total", "result", "success")) }

// WaitPolls waits until the watcher of p has completed n more successful polls than it
// had when called. With n ≥ 2 one whole poll began after the call: everything Graph held
// before it has been seen and published.
func (p *Process) WaitPolls(ctx context.Context, n int) error {
	m, err := p.Metrics(ctx)
	if err != nil {
		return err
	}
	want := m.Polls() + n
	return poll(ctx, 50*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("%s: %w with status %d", p.Name, errExited, p.ExitCode())
		}
		m, err := p.Metrics(ctx)
		if err != nil {
			return false, nil
		}
		return m.Polls() >= want, nil
	})
}
