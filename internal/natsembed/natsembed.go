// Package natsembed runs a NATS server with JetStream inside the calling process: the
// default deployment of lcwnotify, where one process holds the watcher, the notifiers and
// the store they share. Clients connect in-process, without a socket; a network listener
// is opened only when asked for (to let `nats sub` watch the events, or lcwbench drive
// load).
//
// The server is bounded (JetStream would otherwise claim 75% of RAM and disk), never
// installs signal handlers (the process owns SIGINT/SIGTERM), and logs through slog.
// Its store directory is locked while the server runs, so two processes can never write
// the same JetStream files.
package natsembed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Defaults for the JetStream limits, used when Options leaves them zero.
const (
	DefaultMaxMemory int64 = 64 << 20 // 64 MiB: lcwnotify stores on disk; memory holds little
	DefaultMaxStore  int64 = 1 << 30  // 1 GiB: about 30 days of events for a large tenant
)

// Options configure an embedded server.
type Options struct {
	// Dir is the store directory; JetStream keeps its files under Dir/jetstream. It is
	// created if missing.
	Dir string
	// Listen is host:port for a client listener; empty means no listener at all, so only
	// in-process clients can connect. Port 0 picks a free port (see Server.ClientURL).
	Listen string
	// MaxMemory and MaxStore bound JetStream's memory and file storage, in bytes.
	MaxMemory int64
	MaxStore  int64
	// Name is the server name reported to clients; "lcwnotify" when empty.
	Name string
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// Server is a running embedded NATS server with JetStream.
type Server struct {
	ns       *server.Server
	unlock   func()
	log      *logAdapter
	shutdown sync.Once
}

// ErrStoreLocked reports that another process is using the store directory.
var ErrStoreLocked = errors.New("natsembed: store directory in use by another process")

// Start starts a server as o describes and returns when it accepts connections and
// JetStream is enabled, or with an error saying why it could not.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("natsembed: store directory not set")
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.MaxStore == 0 {
		o.MaxStore = DefaultMaxStore
	}
	if o.Name == "" {
		o.Name = "lcwnotify"
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("natsembed: create store directory: %w", err)
	}
	unlock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName:         o.Name,
		JetStream:          true,
		StoreDir:           o.Dir,
		JetStreamMaxMemory: o.MaxMemory,
		JetStreamMaxStore:  o.MaxStore,
		NoSigs:             true,
		DontListen:         o.Listen == "",
		// No HTTP monitoring, no cluster, no leafnodes: the process's own server exposes
		// health and metrics.
	}
	if o.Listen != "" {
		host, port, err := splitHostPort(o.Listen)
		if err != nil {
			unlock()
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("natsembed: configure server: %w", err)
	}
	log := newLogAdapter(o.Logger)
	ns.SetLoggerV2(log, false, false, false)
	ns.Start()
	s := &Server{ns: ns, unlock: unlock, log: log}

	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		s.Shutdown()
		return nil, err
	}
	if !ns.JetStreamEnabled() {
		s.Shutdown()
		return nil, fmt.Errorf("natsembed: JetStream not enabled: %s", log.lastFailure("unknown reason"))
	}
	return s, nil
}

// waitReady waits until the server accepts connections. A server that failed to start a
// part of itself (a taken port, an unwritable store) logs the failure and never becomes
// ready, so the wait ends as soon as such a line appears instead of at the timeout.
func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if s.ns.ReadyForConnections(50 * time.Millisecond) {
			return nil
		}
		if msg := s.log.lastFailure(""); msg != "" {
			return fmt.Errorf("natsembed: server failed to start: %s", msg)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("natsembed: start: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("natsembed: server not ready within %s", limit)
		}
	}
}

// Connect returns an in-process connection to the server: no socket, no port. The
// options are applied after the in-process dialer.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{nats.InProcessServer(s.ns)}, opts...)
	nc, err := nats.Connect(s.ns.ClientURL(), all...)
	if err != nil {
		return nil, fmt.Errorf("natsembed: connect in-process: %w", err)
	}
	return nc, nil
}

// ClientURL returns the URL of the client listener, or "" when the server has none.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// Shutdown stops the server, waits until it has flushed and closed its store, and
// releases the store directory. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.shutdown.Do(func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		s.unlock()
	})
}

func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("natsembed: listen address %q: %w", hp, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("natsembed: listen address %q: port must be 0 to 65535", hp)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}
