package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// natsConn is the process's connection to NATS JetStream: to the embedded server it
// started, or to an external server or cluster.
type natsConn struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	srv    *natsembed.Server // nil when external
	url    natsURLs          // LCW_NATS_URL, to keep it out of reported errors
	closed chan struct{}     // closed when nc is closed (drained)
	log    *slog.Logger

	subscriberKeyFile string // the embedded listener's nkey file, "" without a listener
}

// natsOptions are the parts of the configuration connectNATS needs besides cfg.NATS.
type natsOptions struct {
	name         string // connection name: command and instance, shown by `nats server report connections`
	drainTimeout time.Duration
	reconnects   prometheus.Counter // may be nil
	// failFast reports a server that cannot be reached at once instead of retrying in
	// the background (check).
	failFast bool
	// scope is what the embedded server's listener lets subscribers read.
	scope listenerScope
}

// connectNATS starts the embedded server (cfg.Embedded) or connects to the configured
// servers. An external server that is down does not fail the start: the connection
// keeps retrying with backoff, forever, and readiness reports it.
func connectNATS(ctx context.Context, cfg NATS, o natsOptions, log *slog.Logger) (*natsConn, error) {
	c := &natsConn{url: cfg.NatsURL, closed: make(chan struct{}), log: log.With("component", "nats")}
	opts := []nats.Option{
		nats.Name(o.name),
		nats.DrainTimeout(o.drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				c.log.Warn("disconnected from NATS; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
			if o.reconnects != nil {
				o.reconnects.Inc()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{"err", err}
			if sub != nil {
				attrs = append(attrs, "subject", sub.Subject)
			}
			c.log.Warn("NATS asynchronous error", attrs...)
		}),
	}

	if cfg.Embedded() {
		eo, err := embeddedOptions(cfg, o.scope)
		if err != nil {
			return nil, err
		}
		eo.Logger = log
		srv, err := natsembed.Start(ctx, eo)
		if err != nil {
			return nil, explainEmbeddedError(err, cfg)
		}
		c.srv = srv
		c.logListener(cfg, eo)
		c.nc, err = srv.Connect(opts...)
		if err != nil {
			srv.Shutdown()
			return nil, err
		}
	} else {
		if !o.failFast {
			opts = append(opts, nats.RetryOnFailedConnect(true))
		}
		opts = append(opts,
			nats.MaxReconnects(-1),
			// nats.go closes the connection for good when a server refuses the credentials
			// twice in a row, which would leave a process that can never recover. Keep
			// trying instead: a corrected account or a rotated creds file (read again at
			// every attempt) is picked up by itself, and readiness says what is refused.
			nats.IgnoreAuthErrorAbort(),
			nats.CustomReconnectDelay(reconnectDelay),
			nats.ConnectHandler(func(nc *nats.Conn) {
				c.log.Info("connected to NATS", "server", nc.ConnectedUrlRedacted())
			}),
			nats.DiscoveredServersHandler(func(nc *nats.Conn) {
				c.log.Info("discovered NATS servers", "servers", len(nc.DiscoveredServers()))
			}),
		)
		if cfg.NatsCreds != "" {
			opts = append(opts, nats.UserCredentials(cfg.NatsCreds))
		}
		if cfg.NatsTlsCa != "" {
			opts = append(opts, nats.RootCAs(cfg.NatsTlsCa))
		}
		if cfg.NatsTLSCert != "" {
			opts = append(opts, nats.ClientCert(cfg.NatsTLSCert, cfg.NatsTLSKey))
		}
		nc, err := nats.Connect(cfg.NatsURL.Reveal(), opts...)
		if err != nil {
			// Errors from nats.Connect can quote the URL: name the servers instead.
			return nil, fmt.Errorf("connect to NATS %v: %w", cfg.NatsURL.Servers, redactNATSError(err, cfg.NatsURL))
		}
		c.nc = nc
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		c.close(context.Background())
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	c.js = js
	return c, nil
}

// reconnectDelay backs off from about 250ms to about 10s, with jitter so that a fleet
// of replicas does not reconnect in step after a NATS restart.
func reconnectDelay(attempts int) time.Duration {
	d := 250 * time.Millisecond << min(attempts, 6)
	d = min(d, 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

// redactNATSError hides an error that quotes LCW_NATS_URL, which may hold credentials.
func redactNATSError(err error, url natsURLs) error {
	for _, u := range url.entries() {
		if strings.Contains(err.Error(), u) {
			return errors.New("connection failed (details withheld: they quote LCW_NATS_URL)")
		}
	}
	return err
}

// SubscriberKeyFile returns the file holding the key subscribers of the embedded
// server's listener authenticate with, or "" when there is no listener.
func (c *natsConn) SubscriberKeyFile() string { return c.subscriberKeyFile }

// ClientURL returns the embedded server's client listener URL, or "" when there is none.
func (c *natsConn) ClientURL() string {
	if c.srv == nil {
		return ""
	}
	return c.srv.ClientURL()
}

// Connected reports whether the connection is up, and if not, why the last attempt
// failed (refused credentials, a certificate not trusted) where the server said;
// readiness uses it.
func (c *natsConn) Connected() error {
	s := c.nc.Status()
	if s == nats.CONNECTED {
		return nil
	}
	if err := c.nc.LastError(); err != nil {
		return fmt.Errorf("NATS connection is %s: %w", s, redactNATSError(err, c.url))
	}
	return fmt.Errorf("NATS connection is %s", s)
}

// jsErrStreamSubjectOverlap is JetStream's error code for a stream whose subjects
// another stream of the account already takes (nats.go names no constant for it).
const jsErrStreamSubjectOverlap jetstream.ErrorCode = 10065

// ensureStream creates or updates the stream, retrying while NATS is unreachable: an
// external server may come up after lcwnotify (a rollout, a cluster restart).
func (c *natsConn) ensureStream(ctx context.Context, o events.StreamOptions) error {
	_, err := retryNATS(ctx, c, "create the stream "+o.Name, func(ctx context.Context) (jetstream.Stream, error) {
		return events.EnsureStream(ctx, c.js, o)
	})
	if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok && apiErr.ErrorCode == jsErrStreamSubjectOverlap {
		return fmt.Errorf("%w: another stream of this NATS account takes %s; give each lcwnotify deployment its own "+
			"LCW_SUBJECT_PREFIX (and LCW_STREAM)", err, events.AllResults(o.Prefix))
	}
	return err
}

// retryNATS calls start until it succeeds, ctx ends, or it fails for a reason other than
// NATS being unreachable or busy (a refused configuration, a bad option): retrying
// cannot fix those, and the process should stop and say so.
func retryNATS[T any](ctx context.Context, c *natsConn, what string, start func(context.Context) (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := start(actx)
		cancel()
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		if !c.transient(err) {
			return v, fmt.Errorf("%s: %w", what, err)
		}
		wait := reconnectDelay(attempt)
		attrs := []any{"what", what, "err", err, "retry_in", wait.Round(time.Millisecond)}
		if cerr := c.Connected(); cerr != nil {
			attrs = append(attrs, "nats", cerr.Error())
		}
		c.log.Warn("NATS is not reachable yet; retrying", attrs...)
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// transient reports whether err means NATS or JetStream is unreachable or busy right now.
func (c *natsConn) transient(err error) bool {
	if c.nc.Status() != nats.CONNECTED {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 503: JetStream temporarily unavailable (a leader election); 408: request timeout.
		return apiErr.Code >= 500 || apiErr.Code == 408
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected)
}

// close drains the connection (subscriptions finish the messages they hold, publishes
// are flushed), waits for it to close or ctx to end, then stops the embedded server.
func (c *natsConn) close(ctx context.Context) {
	if err := c.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		c.log.Warn("drain NATS connection", "err", err)
		c.nc.Close()
	}
	select {
	case <-c.closed:
	case <-ctx.Done():
		c.log.Warn("NATS drain did not finish in time; closing")
		c.nc.Close()
	}
	if c.srv != nil {
		c.srv.Shutdown()
	}
}
