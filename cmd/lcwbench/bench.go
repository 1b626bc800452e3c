package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// bench makes the measurements.
type bench struct {
	o        *options
	progress *progress
	dir      string // temporary: the binary and every world's files
	bin      string
}

// results are everything measured.
type results struct {
	machine  machine
	poll     []pollCost
	burst    *burstResult
	latency  *latencyResult
	adaptive *adaptiveResult
}

func (b *bench) run(ctx context.Context) (*results, error) {
	var err error
	if b.dir, err = os.MkdirTemp("", "lcwbench-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.dir)
	res := &results{machine: readMachine()}
	b.progress.printf("machine: %s, load average %s", res.machine, res.machine.loadBefore)
	if b.bin = b.o.binary; b.bin == "" {
		b.progress.printf("building %s", harness.Package)
		if b.bin, err = harness.Build(ctx, b.dir, harness.BuildOptions{}); err != nil {
			return nil, err
		}
	}
	if b.o.does(phasePoll) {
		for _, n := range b.o.history {
			pc, err := b.pollCost(ctx, n)
			if err != nil {
				return nil, fmt.Errorf("poll cost at %d results of history: %w", n, err)
			}
			res.poll = append(res.poll, pc)
		}
	}
	if b.o.does(phaseBurst) {
		if res.burst, err = b.burst(ctx); err != nil {
			return nil, fmt.Errorf("burst: %w", err)
		}
	}
	if b.o.does(phaseLatency) {
		if res.latency, err = b.latency(ctx); err != nil {
			return nil, fmt.Errorf("latency: %w", err)
		}
	}
	if b.o.does(phaseAdaptive) {
		if res.adaptive, err = b.adaptive(ctx); err != nil {
			return nil, fmt.Errorf("adaptive: %w", err)
		}
	}
	res.machine.loadAfter = loadAverage()
	return res, nil
}
