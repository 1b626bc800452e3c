// Package eventstest runs real NATS servers with JetStream for tests: in-process, on a
// random loopback port, storing in a temporary directory, and restartable on the same
// store and port so tests can take NATS away in the middle of traffic.
package eventstest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is a JetStream-enabled nats-server owned by one test.
type Server struct {
	t    testing.TB
	opts server.Options
	*server.Server
}

// Start starts a server on a random loopback port with its store in t.TempDir(). It is
// shut down when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, opts: server.Options{
		Host:               "127.0.0.1",
		Port:               freePort(t),
		JetStream:          true,
		StoreDir:           t.TempDir(),
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
		NoSigs:             true,
		NoLog:              true,
	}}
	s.start()
	t.Cleanup(func() { s.Shutdown() })
	return s
}

func (s *Server) start() {
	s.t.Helper()
	opts := s.opts
	ns, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("eventstest: new nats server: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) { // generous: CI shares 2 cores with parallel -race tests
		s.t.Fatalf("eventstest: nats server not ready within 30s")
	}
	s.Server = ns
}

// Stop shuts the server down and waits until it has; Start brings it back.
func (s *Server) Stop() {
	s.Shutdown()
	s.WaitForShutdown()
}

// Restart stops the server and starts it again on the same port and store, as an operator
// restarting NATS would; connected clients reconnect by themselves.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// StartAgain starts a server stopped with Stop, on the same port and store.
func (s *Server) StartAgain() {
	s.t.Helper()
	s.start()
}

// URL returns the server's client URL; it stays the same across restarts.
func (s *Server) URL() string {
	return "nats://" + net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
}

// Connect returns a connection that reconnects forever and a JetStream context on it; both
// are closed when the test ends.
func (s *Server) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("eventstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("eventstest: jetstream: %v", err)
	}
	return nc, js
}

// freePort asks the kernel for a free loopback port. The port is fixed for the server's
// life so that a restart comes back where clients expect it.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("eventstest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
