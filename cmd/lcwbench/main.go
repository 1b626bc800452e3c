// Command lcwbench measures the real lcwnotify binary under load, side by side with
// naive designs measured in the same run, and prints the results as Markdown:
//
//   - Graph requests and bytes per steady poll at several sizes of history, against a
//     naive poller that lists every result of Graph's 30-day window each poll;
//   - the time to deliver a burst of failures (by default 350: 300 in one run, 50 in
//     another) to Slack under its one-message-per-second-per-channel limit, against a
//     notifier that posts one message per failure;
//   - the latency from a change in Graph to its Slack message, with 1 s polls;
//   - the CPU time and memory of the lcwnotify process throughout (from /proc), its Go
//     heap and poll time (from /metrics) and the size of the watcher's state in NATS.
//
// The poll measurement takes a tenant of any shape: -workflows, -active-runs,
// -active-users and -history (docs/BENCHMARKS.md, section 7, has Graph's limit of 100
// workflows against a million results).
//
// It builds cmd/lcwnotify (or runs -binary) and starts it as a process against an
// in-process Graph simulator and Entra authority (over TLS), nats-server and fake Slack
// (internal/harness). Run it from the repository, on Linux:
//
//	go run ./cmd/lcwbench -help
//	go run ./cmd/lcwbench -time-scale 10 > bench.md
//
// Progress goes to stderr, the report to stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status: 0, 2 for bad flags, 1 when a
// measurement failed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "lcwbench: %v\nRun 'lcwbench -help' for usage.\n", err)
		return 2
	}
	b := &bench{o: o, progress: newProgress(stderr)}
	res, err := b.run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "lcwbench: %v\n", err)
		return 1
	}
	writeReport(stdout, o, res)
	return 0
}
