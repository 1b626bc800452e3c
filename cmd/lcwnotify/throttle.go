package main

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// throttleWindow is how far back the status page tells of Graph's throttling.
const throttleWindow = 15 * time.Minute

// throttleSampler tells how much Graph throttled the watcher lately, from the process's
// own metrics: the time waited out (lcwnotify_graph_throttled_seconds_total) and the
// throttled answers (lcwnotify_graph_requests_total with code 429 or 503), as the
// difference between now and the oldest sample inside the window.
type throttleSampler struct {
	reg prometheus.Gatherer

	mu      sync.Mutex
	samples []throttleSample
}

type throttleSample struct {
	at      time.Time
	waited  float64
	answers float64
}

func newThrottleSampler(reg prometheus.Gatherer) *throttleSampler {
	t := &throttleSampler{reg: reg}
	t.throttled(time.Now()) // the baseline: what came before the start is not counted
	return t
}

// throttled implements status.Throttle.
func (t *throttleSampler) throttled(now time.Time) (time.Duration, int, time.Duration) {
	cur := throttleSample{at: now}
	if mfs, err := t.reg.Gather(); err == nil {
		for _, mf := range mfs {
			switch mf.GetName() {
			case "lcwnotify_graph_throttled_seconds_total":
				for _, m := range mf.GetMetric() {
					cur.waited += m.GetCounter().GetValue()
				}
			case "lcwnotify_graph_requests_total":
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "code" && (l.GetValue() == "429" || l.GetValue() == "503") {
							cur.answers += m.GetCounter().GetValue()
						}
					}
				}
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Keep one sample older than the window, the baseline of what is inside it.
	for len(t.samples) > 1 && now.Sub(t.samples[1].at) >= throttleWindow {
		t.samples = t.samples[1:]
	}
	if n := len(t.samples); n == 0 || now.Sub(t.samples[n-1].at) >= 10*time.Second {
		t.samples = append(t.samples, cur)
	}
	base := t.samples[0]
	return time.Duration((cur.waited - base.waited) * float64(time.Second)), int(cur.answers - base.answers), throttleWindow
}
