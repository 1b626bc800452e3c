package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// writeReport prints the results as Markdown: the machine, one table comparing
// lcwnotify with the baselines measured in the same run, and the process's usage.
func writeReport(w io.Writer, o *options, r *results) {
	fmt.Fprintf(w, "## lcwbench\n\n")
	fmt.Fprintf(w, "Machine: %s (load average %s at the start, %s at the end).\n", r.machine, r.machine.loadBefore, r.machine.loadAfter)
	fmt.Fprintf(w, "lcwnotify %s runs as a process (`run`, 1 s polls) against the Graph simulator and Entra authority over TLS, nats-server and a fake Slack in lcwbench's process.\n\n", harness.Version)

	fmt.Fprintf(w, "| measure | lcwnotify | baseline | baseline ÷ lcwnotify |\n|---|---:|---:|---:|\n")
	for _, p := range r.poll {
		fmt.Fprintf(w, "| Graph requests per steady poll, %s results of history | %s | %s | %s |\n",
			count(p.history), num(p.requests), num(p.naiveRequests), ratio(p.naiveRequests, p.requests))
		fmt.Fprintf(w, "| Graph response bytes per steady poll, %s results of history | %s | %s | %s |\n",
			count(p.history), size(p.bytes), size(p.naiveBytes), ratio(p.naiveBytes, p.bytes))
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
		fmt.Fprintf(w, "- Graph: a naive poller listing the workflows, then every result of each workflow in Graph's 30-day window, every poll (%d workflows, %d results in progress, default page size). One naive poll took:", r.poll[0].workflows, inProgress)
		for i, p := range r.poll {
			sep := ","
			if i == len(r.poll)-1 {
				sep = "."
			}
			fmt.Fprintf(w, " %s at %s results%s", secs(p.naiveTime), count(p.history), sep)
		}
		fmt.Fprintln(w)
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

	fmt.Fprintf(w, "\nThe lcwnotify process (from /proc; CPU as a share of one core):\n\n| phase | CPU | RSS |\n|---|---:|---:|\n")
	for _, p := range r.poll {
		fmt.Fprintf(w, "| steady polls, %s results of history | %.1f %% (%s a poll) | %s |\n", count(p.history), 100*p.cpuShare, ms(p.cpuPerPoll), size(float64(p.rss)))
	}
	if b := r.burst; b != nil {
		fmt.Fprintf(w, "| burst of %d failures, until the last was delivered | %s of CPU in %s | peak %s |\n", b.failures, secs(b.cpu), secs(b.last), size(float64(b.peakRSS)))
	}
	if l := r.latency; l != nil {
		fmt.Fprintf(w, "| a failure every 1.2–2.6 s | %.1f %% | %s |\n", 100*l.cpuShare, size(float64(l.rss)))
	}
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
