package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/prometheus/client_golang/prometheus"
)

// service is one lcwnotify process: the NATS connection (and embedded server), the
// operations HTTP server, and the parts that run until the process is told to stop
// (the watcher, one dispatcher per destination). Each part has a readiness check.
type service struct {
	cfg   *config
	log   *slog.Logger
	reg   *prometheus.Registry
	ready *readiness
	http  *httpServer    // nil when not serving HTTP
	mux   *http.ServeMux // its routes; nil when not serving HTTP
	nats  *natsConn
	ui    *statusUI // nil unless LCW_UI=true

	nm       *notify.Metrics // created by the first notifier
	sm       *slack.Metrics  // created with the Slack notifier
	httpDone chan error
	parts    []part
	deadline time.Time // when shutdown must be over; set when it begins
	stopOnce sync.Once
}

// part is a long-lived piece of the process: run blocks until ctx ends.
type part struct {
	name string
	run  func(ctx context.Context) error
}

type serviceOptions struct {
	command   string // names the NATS connection
	serveHTTP bool
	expected  []string // parts readiness waits for
}

// startService starts what every command that runs shares: the HTTP server first (so
// probes answer while the rest comes up), then NATS and the stream. stop undoes it.
func startService(ctx context.Context, cfg *config, log *slog.Logger, o serviceOptions) (*service, error) {
	s := &service{
		cfg:      cfg,
		log:      log,
		reg:      newRegistry(readBuildInfo()),
		ready:    newReadiness(append([]string{"nats"}, o.expected...)...),
		httpDone: make(chan error, 1),
	}
	if o.serveHTTP {
		s.mux = httpHandler(s.reg, s.ready, log)
		hs, err := listenHTTP(cfg.httpAddr(), s.mux, log)
		if err != nil {
			return nil, err
		}
		s.http = hs
		go func() { s.httpDone <- hs.Serve() }()
	}
	reconnects := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lcwnotify_nats_reconnects_total",
		Help: "Times the NATS connection was re-established after a disconnection.",
	})
	s.reg.MustRegister(reconnects)
	nc, err := connectNATS(ctx, cfg.NATS, natsOptions{
		name:         fmt.Sprintf("lcwnotify %s %s", o.command, cfg.Instance),
		drainTimeout: cfg.ShutdownTimeout,
		reconnects:   reconnects,
		scope:        newListenerScope(cfg),
	}, log)
	if err != nil {
		s.stopHTTP(context.Background())
		return nil, err
	}
	s.nats = nc
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lcwnotify_nats_connected",
		Help: "1 while the NATS connection is up.",
	}, func() float64 {
		if nc.Connected() == nil {
			return 1
		}
		return 0
	}))
	s.ready.add("nats", nc.Connected)
	if err := nc.ensureStream(ctx, s.streamOptions()); err != nil {
		s.stop()
		return nil, err
	}
	if cfg.UI && s.http != nil {
		if err := s.startUI(); err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

// streamOptions describe the stream exactly as the watcher and the dispatchers ensure
// it, so that no two of them fight over its configuration.
func (s *service) streamOptions() events.StreamOptions {
	return events.StreamOptions{Name: string(s.cfg.Stream), Prefix: string(s.cfg.SubjectPrefix), Replicas: s.cfg.StreamReplicas}
}

// add registers a part and its readiness check.
func (s *service) add(name string, run func(context.Context) error, ready func() error) {
	s.parts = append(s.parts, part{name: name, run: run})
	s.ready.add(name, ready)
}

// run runs every part until ctx ends or one fails. After ctx ends, the parts have
// LCW_SHUTDOWN_TIMEOUT to return (the watcher records its poll, dispatchers finish
// deliveries in flight); a part that fails stops the others.
func (s *service) run(ctx context.Context) error {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, p := range s.parts {
		wg.Go(func() {
			err := p.run(rctx)
			switch {
			case err != nil && rctx.Err() == nil:
				cancel(fmt.Errorf("%s: %w", p.name, err))
			case err == nil && rctx.Err() == nil:
				cancel(fmt.Errorf("%s stopped unexpectedly", p.name))
			case err != nil && !errors.Is(err, context.Canceled):
				s.log.Warn("error while stopping", "part", p.name, "err", err)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	select {
	case <-done:
	case <-rctx.Done():
		s.deadline = time.Now().Add(s.cfg.ShutdownTimeout)
		s.log.Info("shutting down: finishing the work in flight", "why", context.Cause(rctx).Error(), "timeout", s.cfg.ShutdownTimeout.String())
		select {
		case <-done:
		case <-time.After(time.Until(s.deadline)):
			return fmt.Errorf("shutdown timed out after %s: events not acknowledged yet are delivered again after a restart", s.cfg.ShutdownTimeout)
		}
	case err := <-s.httpDone:
		cancel(err)
		<-done
	}
	if ctx.Err() == nil {
		// Not a signal: a part failed and took the others down.
		return context.Cause(rctx)
	}
	return nil
}

// stop drains NATS, stops the embedded server and the HTTP server, within what is left
// of the shutdown timeout. Calls after the first do nothing.
func (s *service) stop() {
	s.stopOnce.Do(s.stopNow)
}

func (s *service) stopNow() {
	deadline := s.deadline
	if deadline.IsZero() || time.Until(deadline) < time.Second {
		deadline = time.Now().Add(min(s.cfg.ShutdownTimeout, 5*time.Second))
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if s.nats != nil {
		s.nats.close(ctx)
	}
	s.stopHTTP(ctx)
}

func (s *service) stopHTTP(ctx context.Context) {
	if s.http != nil {
		s.http.shutdown(ctx)
	}
}
