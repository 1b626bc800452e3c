package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// benchToken is the bearer token lcwbench's own Graph client (the naive poller) sends.
const benchToken = "lcwbench-naive-poller"

// progress writes progress lines; phases that run side by side share it.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now()} }

func (p *progress) printf(format string, args ...any) {
	line := fmt.Sprintf("lcwbench %6.1fs  %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.w, line)
}

// stack is one measurement's world: a nats-server, the fakes, and lcwnotify run on them.
type stack struct {
	nats  *server.Server
	nc    *nats.Conn
	js    jetstream.JetStream
	world *harness.World
	proc  *harness.Process
}

// newStack starts a fresh world in its own directory, lets setup shape the tenant
// before lcwnotify first starts, then starts `lcwnotify run` and waits until it is ready.
func (b *bench) newStack(ctx context.Context, name string, setup func(*harness.World)) (*stack, error) {
	return b.newStackEnv(ctx, name, setup, nil)
}

// newStackEnv is newStack with settings of lcwnotify's that override the world's.
func (b *bench) newStackEnv(ctx context.Context, name string, setup func(*harness.World), settings map[string]string) (*stack, error) {
	dir, err := os.MkdirTemp(b.dir, name+"-")
	if err != nil {
		return nil, err
	}
	s := &stack{}
	if s.nats, err = harness.StartNATS(filepath.Join(dir, "nats")); err != nil {
		return nil, err
	}
	if s.nc, err = nats.Connect(s.nats.ClientURL(), nats.MaxReconnects(-1)); err != nil {
		s.close()
		return nil, err
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		s.close()
		return nil, err
	}
	s.world, err = harness.NewWorld(harness.Options{Dir: dir, NATSURL: s.nats.ClientURL(), Sim: graphsim.Options{Token: benchToken}})
	if err != nil {
		s.close()
		return nil, err
	}
	setup(s.world)
	env := s.world.Env()
	env["LCW_LOG_LEVEL"] = "info"
	env["LCW_DATA_DIR"] = dir
	maps.Copy(env, settings)
	if s.proc, err = harness.Start(name, b.bin, env, "run"); err != nil {
		s.close()
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := s.proc.Ready(rctx); err != nil {
		err = fmt.Errorf("%w\n%s", err, s.proc.Tail(20))
		s.close()
		return nil, err
	}
	return s, nil
}

// stopProcess stops lcwnotify with SIGTERM; a measurement that needs Graph to itself
// calls it before close.
func (s *stack) stopProcess() error {
	if s.proc == nil || s.proc.Exited() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, err := s.proc.Stop(ctx)
	if err == nil && code != 0 {
		err = fmt.Errorf("lcwnotify exited %d after SIGTERM\n%s", code, s.proc.Tail(20))
	}
	return err
}

func (s *stack) close() {
	if s.proc != nil && !s.proc.Exited() {
		_ = s.stopProcess()
	}
	if s.world != nil {
		s.world.Close()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if s.nats != nil {
		s.nats.Shutdown()
		s.nats.WaitForShutdown()
	}
}

// afterPoll waits until lcwnotify has just finished a poll — Graph saw requests, then
// none for a while — so that what is read next falls in the pause before the next poll.
// It watches the simulator's counters rather than /metrics, whose scraping would cost
// the process more CPU than its polls.
func (s *stack) afterPoll(ctx context.Context) error {
	const quiet = 150 * time.Millisecond
	start := s.world.Sim.Stats().Requests
	last, since := start, time.Now()
	return waitFor(ctx, time.Minute, "the end of a poll", func() (bool, error) {
		n := s.world.Sim.Stats().Requests
		if n != last {
			last, since = n, time.Now()
		}
		return last != start && time.Since(since) >= quiet, nil
	})
}

// sample is the process's usage at one moment.
type sample struct {
	at time.Time
	harness.Usage
}

func (s *stack) usage() (sample, error) {
	u, err := s.proc.Usage()
	return sample{at: time.Now(), Usage: u}, err
}

// cpuShare is the CPU the process used between two samples, as a share of one core.
func cpuShare(a, b sample) float64 {
	return (b.CPU - a.CPU).Seconds() / b.at.Sub(a.at).Seconds()
}

// waitFor polls cond every 5ms until it holds, ctx ends or limit passes.
func waitFor(ctx context.Context, limit time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
