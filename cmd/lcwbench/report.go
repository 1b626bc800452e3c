package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/watcher"
)

// writeReport prints the results as Markdown: the machine, one table comparing
// lcwnotify with the baselines measured in the same run, and the process's usage.
func writeReport(w io.Writer, o *options, r *results) {
	fmt.Fprintf(w, "## lcwbench\n\n")
	fmt.Fprintf(w, "Machine: %s (load average %s at the start, %s at the end).\n", r.machine, r.machine.loadBefore, r.machine.loadAfter)
	fmt.Fprintf(w, "lcwnotify %s runs as a process (`run`, 1 s polls) against the Graph simulator and Entra authority over TLS, nats-server and a fake Slack in lcwbench's process.\n\n", harness.Version)

	fmt.Fprintf(w, "| measure | lcwnotify | baseline | baseline ÷ lcwnotify |\n|---|---:|---:|---:|\n")
	for _, p := range r.poll {
		naive := naiveAt(r.poll, p)
		fmt.Fprintf(w, "| Graph requests per steady poll, %s results of history | %s | %s | %s |\n",
			count(p.history), num(p.requests), naive.mark(num(naive.requests)), naive.mark(ratio(naive.requests, p.requests)))
		fmt.Fprintf(w, "| Graph response bytes per steady poll, %s results of history | %s | %s | %s |\n",
			count(p.history), size(p.bytes), naive.mark(size(naive.bytes)), naive.mark(ratio(naive.bytes, p.bytes)))
	}
	if b := r.burst; b != nil {
		fmt.Fprintf(w, "| time to deliver the last of %d failures (runs of %s) at 1 msg/s per channel | %s | %s%s | %s |\n",
			b.failures, joinInts(b.runs), secs(b.last), secs(b.baseLastScaled), scaledNote(o, b), ratio(b.baseLastScaled.Seconds(), b.last.Seconds()))
		fmt.Fprintf(w, "| Slack messages for them | %d | %d | %s |\n", b.messages, b.baseMessages, ratio(float64(b.baseMessages), float64(b.messages)))
		fmt.Fprintf(w, "| time to the first of them in Slack | %s | %s | |\n", secs(b.first), secs(b.baseFirst))
	}
	if l := r.latency; l != nil {
		fmt.Fprintf(w, "| change-to-Slack latency p50, 1 s polls (%d failures) | %s | | |\n", len(l.samples), secs(l.percentile(50)))
		fmt.Fprintf(w, "| change-to-Slack latency p99 | %s | | |\n", secs(l.percentile(99)))
		fmt.Fprintf(w, "| change-to-Slack latency max | %s | | |\n", secs(l.samples[len(l.samples)-1]))
	}

	fmt.Fprintf(w, "\nBaselines, measured in the same run:\n\n")
	if len(r.poll) > 0 {
		p0 := r.poll[0]
		fmt.Fprintf(w, "- Graph: a naive poller listing the workflows, then every result of each workflow in Graph's 30-day window, every poll (%d workflows, %d runs in progress with %d results in all, default page size). One naive poll took:",
			p0.workflows, p0.activeRuns, p0.inProgress)
		sep := ""
		for _, p := range r.poll {
			if !p.naiveSkipped {
				fmt.Fprintf(w, "%s %s at %s results", sep, secs(p.naiveTime), count(p.history))
				sep = ","
			}
		}
		fmt.Fprintln(w, ".")
		for _, p := range r.poll {
			if n := naiveAt(r.poll, p); n.from > 0 {
				fmt.Fprintf(w, "  Not run at %s results (-naive-max): ≈ marks an extrapolation along the line through the two largest sizes measured (up to %s results), which its cost follows since it lists every result every poll; one poll would take about %s.\n",
					count(p.history), count(n.from), secs(n.time))
			}
		}
	}
	if b := r.burst; b != nil {
		fmt.Fprintf(w, "- Slack: one message per failure, consuming the same events, posting one at a time as fast as the channel's limit allows and waiting out any 429.")
		if o.timeScale != 1 {
			fmt.Fprintf(w, " Time-scaled (-time-scale %g): it ran against a limit of %.3g msg/s and took %s; the time to its first post (%s, the watcher's) is kept and its posting span multiplied by %g.",
				o.timeScale, 1/b.interval.Seconds(), secs(b.baseLast), secs(b.baseFirst), o.timeScale)
		} else {
			fmt.Fprintf(w, " Not time-scaled: both ran against Slack's real limit of 1 msg/s per channel.")
		}
		fmt.Fprintf(w, " lcwnotify always runs at the real limit: its pace is not configurable.\n")
	}

	if a := r.adaptive; a != nil {
		writeAdaptive(w, a)
	}

	fmt.Fprintf(w, "\nThe lcwnotify process (from /proc, and its Go heap in use from /metrics; CPU as a share of one core):\n\n| phase | CPU | RSS | heap | one poll |\n|---|---:|---:|---:|---:|\n")
	for _, p := range r.poll {
		fmt.Fprintf(w, "| steady polls, %s results of history | %.1f %% (%s a poll) | %s (peak %s) | %s | %s |\n", count(p.history), 100*p.cpuShare, ms(p.cpuPerPoll), size(float64(p.rss)), size(float64(p.peakRSS)), size(p.heap), ms(p.pollTime))
	}
	if b := r.burst; b != nil {
		fmt.Fprintf(w, "| burst of %d failures, until the last was delivered | %s of CPU in %s | peak %s | | |\n", b.failures, secs(b.cpu), secs(b.last), size(float64(b.peakRSS)))
	}
	if l := r.latency; l != nil {
		fmt.Fprintf(w, "| a failure every 1.2–2.6 s | %.1f %% | %s | | |\n", 100*l.cpuShare, size(float64(l.rss)))
	}
	if len(r.poll) > 0 {
		fmt.Fprintf(w, "\nThe watcher's state in NATS (bucket %s, after the measured polls) and the tenant lcwbench built:\n\n", watcher.BucketName(streamName))
		fmt.Fprintf(w, "| history | state bucket | state entries | history generated in | lcwbench heap (simulator) |\n|---:|---:|---:|---:|---:|\n")
		for _, p := range r.poll {
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s |\n", count(p.history), size(float64(p.kvBytes)), p.kvValues, secs(p.generate), size(float64(p.simHeap)))
		}
	}
}

// naiveCost is the naive poller's cost at one size: measured, or extrapolated from the
// largest size it ran at when from > 0.
type naiveCost struct {
	requests, bytes float64
	time            time.Duration
	from            int
	// none: not run at this size nor at any smaller one.
	none bool
}

// mark prefixes an extrapolated value with ≈, and stands for a missing one.
func (n naiveCost) mark(v string) string {
	if n.none {
		return "not run"
	}
	if n.from > 0 {
		return "≈ " + v
	}
	return v
}

// naiveAt is the naive poller's cost at p's size: as measured, or, where it was not run,
// extrapolated along the line through the two largest sizes it was run at (through the
// origin from one): it lists every result every poll, so its requests, bytes and time
// grow linearly with the history, with a fixed part (the workflow list, a page per
// workflow) that the line keeps.
func naiveAt(all []pollCost, p pollCost) naiveCost {
	if !p.naiveSkipped {
		return naiveCost{requests: p.naiveRequests, bytes: p.naiveBytes, time: p.naiveTime}
	}
	var a, b *pollCost // the two largest sizes measured, b the largest
	for i := range all {
		q := &all[i]
		switch {
		case q.naiveSkipped:
		case b == nil || q.history > b.history:
			a, b = b, q
		case a == nil || q.history > a.history:
			a = q
		}
	}
	if b == nil {
		return naiveCost{none: true}
	}
	line := func(va, vb float64) float64 {
		if a == nil || a.history == b.history {
			return vb * float64(p.history) / float64(b.history)
		}
		slope := (vb - va) / float64(b.history-a.history)
		return vb + slope*float64(p.history-b.history)
	}
	var ta float64
	if a != nil {
		ta = float64(a.naiveTime)
	}
	return naiveCost{from: b.history,
		requests: line(aOr(a, func(q *pollCost) float64 { return q.naiveRequests }), b.naiveRequests),
		bytes:    line(aOr(a, func(q *pollCost) float64 { return q.naiveBytes }), b.naiveBytes),
		time:     time.Duration(line(ta, float64(b.naiveTime)))}
}

// aOr is f(q), or 0 without q.
func aOr(q *pollCost, f func(*pollCost) float64) float64 {
	if q == nil {
		return 0
	}
	return f(q)
}

func scaledNote(o *options, b *burstResult) string {
	if o.timeScale == 1 {
		return ""
	}
	return fmt.Sprintf(" (scaled from %s at %.3g msg/s)", secs(b.baseLast), 1/b.interval.Seconds())
}

func ratio(base, lcw float64) string {
	if lcw <= 0 {
		return "–"
	}
	r := base / lcw
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.1f×", r)
}

func num(v float64) string {
	if v == float64(int64(v)) {
		return count(int(v))
	}
	return fmt.Sprintf("%.1f", v)
}

// count writes n with thin groups of three digits: 300 000.
func count(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func size(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f kB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

func secs(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " and ")
}

// writeAdaptive prints the adaptive measurement: one row per polling configuration.
func writeAdaptive(w io.Writer, a *adaptiveResult) {
	fmt.Fprintf(w, "\nScheduled runs in real time: %d workflows due 45 s after lcwnotify started and 20 s apart, runs of 5–%d users "+
		"whose results take up to %s, a quarter of them failing; each polling configuration in a world of its own, at the same time, on the same runs. "+
		"Latency runs from a failure's completedDateTime in Graph to Slack accepting the message naming it (Slack's pace of 1 message/s per channel included).\n\n",
		a.workflows, adaptiveUsersPerRun, a.maxRun)
	fmt.Fprintf(w, "| polling | failures | failure → Slack p50 | p99 | max | Graph requests | per hour, while runs went |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range a.configs {
		max := time.Duration(0)
		if n := len(c.samples.samples); n > 0 {
			max = c.samples.samples[n-1]
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", c.name, c.failures, secs(c.samples.percentile(50)),
			secs(c.samples.percentile(99)), secs(max), count(int(c.requests)), count(int(c.requestsPerHour)))
	}
}
