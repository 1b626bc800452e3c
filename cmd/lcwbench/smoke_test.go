package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs every measurement, tiny, on the real binary and checks the report
// holds each row: the command works end to end. Skipped with -short.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs lcwnotify")
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	args := []string{"-history", "500,600", "-naive-max", "500", "-workflows", "2", "-polls", "2", "-naive-polls", "1",
		"-burst", "6,2", "-time-scale", "50", "-latency", "2", "-adaptive-workflows", "1", "-adaptive-run", "20s"}
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	report := stdout.String()
	for _, want := range []string{
		"| Graph requests per steady poll, 500 results of history | 7 |",
		"| time to deliver the last of 8 failures (runs of 6 and 2)",
		"| Slack messages for them |",
		"| change-to-Slack latency p50",
		"Time-scaled (-time-scale 50)",
		"| steady polls, 500 results of history |",
		"| adaptive 60 s / 5 s |",
		"| Graph requests per steady poll, 600 results of history | 7 | ≈ ",
		"| 600 | ",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if !strings.Contains(stderr.String(), "lcwbench") {
		t.Errorf("no progress on stderr")
	}
}
