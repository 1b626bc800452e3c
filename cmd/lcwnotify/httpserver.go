package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry returns the process's private metrics registry: Go runtime and process
// collectors, lcwnotify_build_info, and whatever the packages register on it. Nothing
// registers on the global default registry.
func newRegistry(b buildInfo) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "lcwnotify_build_info",
			Help:        "Always 1; the labels say which build is running.",
			ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion},
		}, func() float64 { return 1 }),
	)
	return reg
}

// readiness collects the checks /readyz runs. Components add theirs as they start;
// until a component has added its check, the process is not ready.
type readiness struct {
	mu      sync.Mutex
	checks  []readyCheck
	pending map[string]bool // components expected but not started yet
}

type readyCheck struct {
	name  string
	check func() error // nil error: ready
}

func newReadiness(expected ...string) *readiness {
	r := &readiness{pending: make(map[string]bool)}
	for _, n := range expected {
		r.pending[n] = true
	}
	return r
}

// add registers a check and marks its component started.
func (r *readiness) add(name string, check func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, name)
	r.checks = append(r.checks, readyCheck{name, check})
}

// status runs every check. The result maps check names to "ok" or what is wrong.
func (r *readiness) status() (ready bool, results map[string]string) {
	r.mu.Lock()
	checks := append([]readyCheck(nil), r.checks...)
	results = make(map[string]string, len(checks)+len(r.pending))
	for n := range r.pending {
		results[n] = "starting"
	}
	r.mu.Unlock()
	ready = len(results) == 0
	for _, c := range checks {
		if err := c.check(); err != nil {
			results[c.name] = err.Error()
			ready = false
		} else {
			results[c.name] = "ok"
		}
	}
	return ready, results
}

// httpHandler serves /healthz, /readyz and /metrics; parts that start later add their
// routes to the mux it returns (the Slack actions' POST /slack/interactions, the status
// page).
func httpHandler(reg *prometheus.Registry, ready *readiness, log *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		// Alive: the process answers. Nothing here depends on NATS, Graph or Slack, so an
		// outage elsewhere never gets the process restarted.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, checks := ready.status()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(struct {
			Ready  bool              `json:"ready"`
			Checks map[string]string `json:"checks"`
		}{ok, checks})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg, // exports promhttp's own error counters
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		EnableOpenMetrics: true,
	}))
	return mux
}

// httpServer is the operations endpoint, listening from the moment it is created so that
// a taken port fails the start and probes answer while the rest comes up.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

func listenHTTP(addr string, h http.Handler, log *slog.Logger) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("LCW_HTTP_ADDR: %w", err)
	}
	log.Info("serving /healthz, /readyz and /metrics", "addr", ln.Addr().String())
	return &httpServer{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
		ln:  ln,
		log: log,
	}, nil
}

// Addr returns the address the server listens on.
func (s *httpServer) Addr() string { return s.ln.Addr().String() }

// Serve serves until shutdown is called; it is the server's only goroutine's body.
func (s *httpServer) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// shutdown stops accepting and waits for requests in flight, or for ctx.
func (s *httpServer) shutdown(ctx context.Context) {
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
}
