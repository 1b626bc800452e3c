package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are lcwbench's flags.
type options struct {
	binary      string
	phases      []string
	history     []int
	workflows   int
	activeRuns  int
	activeUsers int
	polls       int
	naivePolls  int
	naiveMax    int
	burst       []int
	timeScale   float64
	latency     int

	adaptiveWorkflows int
	adaptiveRun       time.Duration
}

// The measurements lcwbench can make, in the order it makes them.
const (
	phasePoll     = "poll"
	phaseBurst    = "burst"
	phaseLatency  = "latency"
	phaseAdaptive = "adaptive"
)

var allPhases = []string{phasePoll, phaseBurst, phaseLatency, phaseAdaptive}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("lcwbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var phases, history, burst string
	fs.StringVar(&o.binary, "binary", "", "lcwnotify binary to measure; empty builds ./cmd/lcwnotify (needs the go command, run from the repository)")
	fs.StringVar(&phases, "phases", strings.Join(allPhases, ","), "measurements to make: poll (Graph cost of a steady poll), burst (time to deliver a burst of failures), latency (change to Slack), adaptive (scheduled runs to Slack with fixed 60 s, fixed 5 s and adaptive polling)")
	fs.StringVar(&history, "history", "1000,30000,300000", "sizes of history, in results, for the poll measurement")
	fs.IntVar(&o.workflows, "workflows", 10, "workflows in the tenant of the poll measurement")
	fs.IntVar(&o.activeRuns, "active-runs", 10, "runs in progress during the poll measurement, on as many workflows")
	fs.IntVar(&o.activeUsers, "active-users", 2, "users of each active run, their results in progress: what a steady poll returns")
	fs.IntVar(&o.polls, "polls", 20, "steady polls of lcwnotify measured at each size")
	fs.IntVar(&o.naivePolls, "naive-polls", 2, "polls of the naive poller measured at each size (one takes about 5 s at 300k results)")
	fs.IntVar(&o.naiveMax, "naive-max", 0, "run the naive poller only at sizes of history up to this many results (0: at every size); the report extrapolates the others")
	fs.StringVar(&burst, "burst", "300,50", "failures in each run of the burst, all failing at once")
	fs.Float64Var(&o.timeScale, "time-scale", 1, "speeds the one-message-per-failure baseline up: its Slack limit becomes this many messages per second per channel and its posting time is scaled back by the same factor (lcwnotify paces itself at Slack's 1 msg/s whatever this says, so it always runs at real speed); at 1 the baseline takes about a second per failure")
	fs.IntVar(&o.latency, "latency", 50, "failures, a second or two apart, whose change-to-Slack latency is measured")
	fs.IntVar(&o.adaptiveWorkflows, "adaptive-workflows", 4, "workflows whose scheduled runs the adaptive measurement plays, due 45 s after the start and 20 s apart")
	fs.DurationVar(&o.adaptiveRun, "adaptive-run", 2*time.Minute, "longest a result of the adaptive measurement's runs takes")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `lcwbench measures the real lcwnotify binary against naive designs measured in the
same run, and prints the results as Markdown on stdout (progress on stderr).

Usage: go run ./cmd/lcwbench [flags]

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	for _, p := range strings.Split(phases, ",") {
		if p = strings.TrimSpace(p); !slices.Contains(allPhases, p) {
			return nil, fmt.Errorf("-phases: unknown measurement %q: use %s", p, strings.Join(allPhases, ", "))
		}
		o.phases = append(o.phases, strings.TrimSpace(p))
	}
	if o.history, err = ints("-history", history); err != nil {
		return nil, err
	}
	if o.burst, err = ints("-burst", burst); err != nil {
		return nil, err
	}
	switch {
	case o.workflows < 1 || o.polls < 2 || o.naivePolls < 1 || o.latency < 2 || o.adaptiveWorkflows < 1:
		return nil, fmt.Errorf("-workflows, -naive-polls and -adaptive-workflows must be at least 1, -polls and -latency at least 2")
	case o.adaptiveRun < 10*time.Second || o.adaptiveRun > time.Hour:
		return nil, fmt.Errorf("-adaptive-run %s: use 10s to 1h", o.adaptiveRun)
	case o.activeRuns < 0 || o.activeUsers < 1 || o.naiveMax < 0:
		return nil, fmt.Errorf("-active-runs and -naive-max must not be negative, -active-users at least 1")
	case o.timeScale < 1 || o.timeScale > 100:
		return nil, fmt.Errorf("-time-scale %g: use 1 (real time) to 100", o.timeScale)
	}
	return o, nil
}

// ints parses a comma-separated list of positive integers.
func ints(name, v string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive whole number", name, f)
		}
		out = append(out, n)
	}
	return out, nil
}

func (o *options) does(phase string) bool { return slices.Contains(o.phases, phase) }

// baselineInterval is the per-channel Slack limit the baseline runs against.
func (o *options) baselineInterval() time.Duration {
	return time.Duration(float64(time.Second) / o.timeScale)
}
