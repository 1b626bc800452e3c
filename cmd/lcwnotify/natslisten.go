package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"

	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/lcwnotify/lcwnotify/notify"
)

// subscriberKeyFile is where the embedded server keeps the key it generated for the
// subscribers of LCW_NATS_LISTEN, in LCW_DATA_DIR.
const subscriberKeyFile = "subscriber.nk"

// listenerScope is what the listener's subscribers may read: the stream, the subjects
// under the prefix, and what lcwnotify's own consumers are called.
type listenerScope struct {
	stream, prefix string
	consumers      []string // the consumers of the configured destinations
}

func newListenerScope(cfg *config) listenerScope {
	sc := listenerScope{stream: string(cfg.Stream), prefix: string(cfg.SubjectPrefix)}
	for _, d := range destinations(cfg) {
		sc.consumers = append(sc.consumers, notify.ConsumerName(sc.stream, d))
	}
	return sc
}

// embeddedOptions are the embedded server's options for cfg.
func embeddedOptions(cfg NATS, sc listenerScope) (natsembed.Options, error) {
	o := natsembed.Options{Dir: cfg.DataDir, Listen: string(cfg.NatsListen), MaxMemory: int64(cfg.NatsMaxMemory), MaxStore: int64(cfg.NatsMaxStore)}
	if cfg.NatsListen == "" {
		return o, nil
	}
	o.Subscribers = natsembed.Subscribers{
		Stream: sc.stream, Prefix: sc.prefix,
		// Every consumer lcwnotify creates is named <stream>-<destination>.
		ReservedConsumerPrefix: notify.ConsumerName(sc.stream, ""),
		ReservedConsumers:      sc.consumers,
		NKeyFile:               cfg.NatsListenNkey,
	}
	if o.Subscribers.NKeyFile == "" {
		o.Subscribers.NKeyFile, o.Subscribers.CreateNKey = filepath.Join(cfg.DataDir, subscriberKeyFile), true
	}
	if cfg.NatsListenTLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.NatsListenTLSCert, cfg.NatsListenTLSKey)
		if err != nil {
			return o, fmt.Errorf("LCW_NATS_LISTEN_TLS_CERT: %w", err)
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

// explainEmbeddedError says what to do about an embedded server that did not start.
func explainEmbeddedError(err error, cfg NATS) error {
	switch {
	case errors.Is(err, natsembed.ErrStoreLocked):
		return fmt.Errorf("start the embedded NATS server: %w: run one lcwnotify per LCW_DATA_DIR "+
			"(processes that work together share an external NATS, LCW_NATS_URL)", err)
	case errors.Is(err, natsembed.ErrKeyFileExposed):
		return fmt.Errorf("start the embedded NATS server: the subscribers' key (LCW_NATS_LISTEN_NKEY, or %s in "+
			"LCW_DATA_DIR): %w", subscriberKeyFile, err)
	}
	return fmt.Errorf("start the embedded NATS server in %s: %w", cfg.DataDir, err)
}

// logListener says where subscribers connect and with which key file, never the key.
func (c *natsConn) logListener(cfg NATS, o natsembed.Options) {
	url := c.srv.ClientURL()
	if url == "" {
		return
	}
	c.subscriberKeyFile = o.Subscribers.NKeyFile
	attrs := []any{"url", url, "nkey_file", c.subscriberKeyFile}
	if c.srv.SubscriberKeyCreated {
		attrs = append(attrs, "generated", true)
	}
	c.log.Info("embedded NATS server accepts subscribers: connect with nats --nkey <nkey_file>", attrs...)
	if host, _, _ := net.SplitHostPort(string(cfg.NatsListen)); !outbound.IsLoopback(host) && o.TLS == nil {
		c.log.Warn("the embedded NATS server listens beyond this host without TLS (LCW_NATS_LISTEN_INSECURE): "+
			"events cross the network in the clear", "listen", cfg.NatsListen)
	}
}
