// Package natsembed runs a NATS server with JetStream inside the calling process: the
// default deployment of lcwnotify, where one process holds the watcher, the notifiers and
// the store they share. Clients connect in-process, without a socket; a network listener
// is opened only when asked for, to let subscribers (`nats sub`, a pager bridge) read
// the events.
//
// The listener admits one user, authenticated by an nkey, in an account of its own that
// sees the events and the consumer API of their stream and nothing else: not the
// key-value buckets holding lcwnotify's state, not lcwnotify's own consumers, not
// publishing. lcwnotify itself connects in-process as a user that can never connect
// over the network, with a key that exists only in memory.
//
// The server is bounded (JetStream would otherwise claim 75% of RAM and disk), never
// installs signal handlers (the process owns SIGINT/SIGTERM), and logs through slog.
// Its store directory is locked while the server runs, so two processes can never write
// the same JetStream files.
package natsembed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
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
	// A listener needs Subscribers.
	Listen string
	// TLS, when set, makes the listener require TLS with this configuration.
	// In-process connections never use it.
	TLS *tls.Config
	// Subscribers says what the listener's clients may read, and with which key.
	Subscribers Subscribers
	// MaxMemory and MaxStore bound JetStream's memory and file storage, in bytes.
	MaxMemory int64
	MaxStore  int64
	// Name is the server name reported to clients; "lcwnotify" when empty.
	Name string
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// Subscribers describe the listener's one user and what it may read: the events
// published under Prefix, and Stream through pull consumers it creates.
type Subscribers struct {
	// Stream is the JetStream stream subscribers may read, and Prefix the first
	// subject token(s) of everything lcwnotify publishes.
	Stream string
	Prefix string
	// ReservedConsumerPrefix starts the names of lcwnotify's own consumers, which
	// subscribers may look at but not create, update or delete.
	ReservedConsumerPrefix string
	// ReservedConsumers are the consumers lcwnotify reads from: subscribers may not
	// pull from them or acknowledge their messages either. (Subject permissions match
	// whole names only, so these are named one by one.)
	ReservedConsumers []string
	// NKeyFile holds the subscriber's nkey: a user seed (SU…) or a public user key
	// (U…). A seed file must not be readable by group or others.
	NKeyFile string
	// CreateNKey writes a new seed to NKeyFile (mode 0600) when it does not exist.
	CreateNKey bool
}

// Server is a running embedded NATS server with JetStream.
type Server struct {
	ns       *server.Server
	internal nkeys.KeyPair // lcwnotify's own user; its key never leaves this process
	gate     *nats.Conn    // nil without a listener
	unlock   func()
	log      *logAdapter
	shutdown sync.Once

	// SubscriberKey is the public key of the listener's user, "" without a listener.
	SubscriberKey string
	// SubscriberKeyCreated reports that Start wrote a new seed to Subscribers.NKeyFile.
	SubscriberKeyCreated bool
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
	if o.Listen != "" {
		if err := o.Subscribers.validate(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("natsembed: create store directory: %w", err)
	}
	unlock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	s := &Server{unlock: unlock, log: newLogAdapter(o.Logger)}
	if err := s.start(ctx, o); err != nil {
		s.Shutdown()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, o Options) error {
	var err error
	if s.internal, err = nkeys.CreateUser(); err != nil {
		return fmt.Errorf("natsembed: generate the in-process user's key: %w", err)
	}
	internalPub, err := s.internal.PublicKey()
	if err != nil {
		return fmt.Errorf("natsembed: in-process user's key: %w", err)
	}
	opts := &server.Options{
		ServerName:         o.Name,
		JetStream:          true,
		StoreDir:           o.Dir,
		JetStreamMaxMemory: o.MaxMemory,
		JetStreamMaxStore:  o.MaxStore,
		NoSigs:             true,
		DontListen:         o.Listen == "",
		// lcwnotify's own user, in the global account with every permission, can
		// connect in-process only: even a leaked key would not open the listener.
		Nkeys: []*server.NkeyUser{{
			Nkey:                   internalPub,
			AllowedConnectionTypes: map[string]struct{}{jwt.ConnectionTypeInProcess: {}},
		}},
		// No HTTP monitoring, no cluster, no leafnodes: the process's own server exposes
		// health and metrics.
	}
	if o.Listen != "" {
		if opts.Host, opts.Port, err = splitHostPort(o.Listen); err != nil {
			return err
		}
		opts.TLSConfig = o.TLS
		if s.SubscriberKey, s.SubscriberKeyCreated, err = subscriberKey(o.Subscribers); err != nil {
			return err
		}
		global, subscribers, err := subscriberAccounts(o.Subscribers)
		if err != nil {
			return err
		}
		opts.Accounts = []*server.Account{global, subscribers}
		opts.Nkeys = append(opts.Nkeys, subscriberUser(s.SubscriberKey, o.Subscribers, subscribers))
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("natsembed: configure server: %w", err)
	}
	ns.SetLoggerV2(s.log, false, false, false)
	ns.Start()
	s.ns = ns

	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		return err
	}
	if o.Listen != "" {
		// With a second account configured the server enables JetStream for none by
		// itself, and the global account (where the store already is) can only be given
		// it once the server runs. Until then lcwnotify has not connected, and a
		// subscriber finds nothing to read.
		if err := ns.GlobalAccount().EnableJetStream(nil, nil); err != nil {
			return fmt.Errorf("natsembed: enable JetStream: %w", err)
		}
	}
	if !ns.JetStreamEnabled() || !ns.GlobalAccount().JetStreamEnabled() {
		return fmt.Errorf("natsembed: JetStream not enabled: %s", s.log.lastFailure("unknown reason"))
	}
	if o.Listen != "" {
		if s.gate, err = s.Connect(nats.Name("lcwnotify subscriber gate")); err != nil {
			return err
		}
		if err := startGate(s.gate, o.Subscribers, s.log.log.With("part", "gate")); err != nil {
			return err
		}
	}
	return nil
}

// validate reports what is missing or unusable in a listener's Subscribers.
func (sub Subscribers) validate() error {
	switch {
	case sub.Stream == "" || strings.ContainsAny(sub.Stream, ".*> \t\r\n"):
		return fmt.Errorf("natsembed: a listener needs the subscribers' stream (got %q)", sub.Stream)
	case !validSubjectPrefix(sub.Prefix):
		return fmt.Errorf("natsembed: subject prefix %q cannot be exported to subscribers", sub.Prefix)
	case sub.NKeyFile == "":
		return errors.New("natsembed: a listener needs the subscribers' nkey file")
	}
	return nil
}

func subscriberKey(sub Subscribers) (pub string, created bool, err error) {
	if sub.CreateNKey {
		return LoadOrCreateNKeyFile(sub.NKeyFile)
	}
	pub, err = ReadNKeyFile(sub.NKeyFile)
	return pub, false, err
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

// Connect returns an in-process connection to the server as lcwnotify's own user, with
// every permission: no socket, no port. The options are applied after the in-process
// dialer and the user's key.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	pub, err := s.internal.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("natsembed: connect in-process: %w", err)
	}
	all := append([]nats.Option{nats.InProcessServer(s.ns), nats.Nkey(pub, s.internal.Sign)}, opts...)
	// Not the listener's URL: with TLS that is tls://, which would make the client
	// insist on TLS over the in-process pipe, where it protects nothing.
	nc, err := nats.Connect(inProcessURL, all...)
	if err != nil {
		return nil, fmt.Errorf("natsembed: connect in-process: %w", err)
	}
	return nc, nil
}

// inProcessURL names in-process connections; the in-process dialer never resolves it.
const inProcessURL = "nats://in-process:4222"

// ClientURL returns the URL of the client listener (tls:// when it requires TLS), or
// "" when the server has none.
func (s *Server) ClientURL() string {
	if s.ns == nil || s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL() // tls:// when the listener requires TLS
}

// Shutdown stops the server, waits until it has flushed and closed its store, and
// releases the store directory. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.shutdown.Do(func() {
		if s.gate != nil {
			s.gate.Close()
		}
		if s.ns != nil {
			s.ns.Shutdown()
			s.ns.WaitForShutdown()
		}
		if s.internal != nil {
			s.internal.Wipe()
		}
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
