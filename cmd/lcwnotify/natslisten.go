package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/lcwnotify/lcwnotify/notify"
)

// subscriberKeyFile is where the embedded server keeps the key it generated for the
// subscribers of LCW_NATS_LISTEN, in LCW_DATA_DIR.
const subscriberKeyFile = "subscriber.nk"

// listenerConfig is how the embedded server's client listener (LCW_NATS_LISTEN) admits
// subscribers: LCW_NATS_LISTEN_NKEY, LCW_NATS_LISTEN_TLS_CERT and _KEY, and
// LCW_NATS_LISTEN_INSECURE.
type listenerConfig struct {
	NKeyFile string // "" generates one in the data directory
	TLSCert  string
	TLSKey   string
	Insecure bool // a non-loopback address without TLS was asked for
}

// parseListener validates the LCW_NATS_LISTEN_* settings; listen is LCW_NATS_LISTEN
// and embedded whether lcwnotify runs its own server.
func parseListener(p *problems, listen, nkey, cert, key, insecure string, embedded bool) listenerConfig {
	l := listenerConfig{NKeyFile: nkey, TLSCert: cert, TLSKey: key}
	l.Insecure = boolean(p, "LCW_NATS_LISTEN_INSECURE", insecure)
	set := map[string]bool{
		"LCW_NATS_LISTEN_NKEY": nkey != "", "LCW_NATS_LISTEN_TLS_CERT": cert != "", "LCW_NATS_LISTEN_TLS_KEY": key != "",
		"LCW_NATS_LISTEN_INSECURE": l.Insecure,
	}
	for _, name := range []string{"LCW_NATS_LISTEN_NKEY", "LCW_NATS_LISTEN_TLS_CERT", "LCW_NATS_LISTEN_TLS_KEY", "LCW_NATS_LISTEN_INSECURE"} {
		switch {
		case !set[name]:
		case !embedded:
			p.add(name, "applies to the embedded server only, and LCW_NATS_URL is set")
		case listen == "":
			p.add(name, "needs LCW_NATS_LISTEN (the embedded server opens no listener without it)")
		}
	}
	if !embedded || listen == "" {
		return l
	}
	switch {
	case cert != "" && key != "":
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			p.add("LCW_NATS_LISTEN_TLS_CERT", "cannot load the certificate with LCW_NATS_LISTEN_TLS_KEY: %v", errorsCause(err))
		}
	case cert != "":
		p.add("LCW_NATS_LISTEN_TLS_KEY", "required with LCW_NATS_LISTEN_TLS_CERT")
	case key != "":
		p.add("LCW_NATS_LISTEN_TLS_CERT", "required with LCW_NATS_LISTEN_TLS_KEY")
	}
	if nkey != "" {
		if _, err := natsembed.ReadNKeyFile(nkey); err != nil {
			p.add("LCW_NATS_LISTEN_NKEY", "%s", strings.TrimPrefix(err.Error(), "natsembed: "))
		}
	}
	if host, _, err := net.SplitHostPort(listen); err == nil && !outbound.IsLoopback(host) && cert == "" && !l.Insecure {
		p.add("LCW_NATS_LISTEN", "%s accepts connections from other hosts, and the listener has no TLS: set "+
			"LCW_NATS_LISTEN_TLS_CERT and LCW_NATS_LISTEN_TLS_KEY, bind it to 127.0.0.1, or accept plaintext with "+
			"LCW_NATS_LISTEN_INSECURE=true", listen)
	}
	return l
}

// listenerScope is what the listener's subscribers may read: the stream, the subjects
// under the prefix, and what lcwnotify's own consumers are called.
type listenerScope struct {
	stream, prefix string
	consumers      []string // the consumers of the configured destinations
}

func newListenerScope(cfg *config) listenerScope {
	sc := listenerScope{stream: cfg.Events.Stream, prefix: cfg.Events.Prefix}
	for _, d := range destinations(cfg) {
		sc.consumers = append(sc.consumers, notify.ConsumerName(cfg.Events.Stream, d))
	}
	return sc
}

// embeddedOptions are the embedded server's options for cfg.
func embeddedOptions(cfg natsConfig, sc listenerScope) (natsembed.Options, error) {
	o := natsembed.Options{Dir: cfg.DataDir, Listen: cfg.Listen, MaxMemory: cfg.MaxMemory, MaxStore: cfg.MaxStore}
	if cfg.Listen == "" {
		return o, nil
	}
	o.Subscribers = natsembed.Subscribers{
		Stream: sc.stream, Prefix: sc.prefix,
		// Every consumer lcwnotify creates is named <stream>-<destination>.
		ReservedConsumerPrefix: notify.ConsumerName(sc.stream, ""),
		ReservedConsumers:      sc.consumers,
		NKeyFile:               cfg.Listener.NKeyFile,
	}
	if o.Subscribers.NKeyFile == "" {
		o.Subscribers.NKeyFile, o.Subscribers.CreateNKey = filepath.Join(cfg.DataDir, subscriberKeyFile), true
	}
	if cfg.Listener.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.Listener.TLSCert, cfg.Listener.TLSKey)
		if err != nil {
			return o, fmt.Errorf("LCW_NATS_LISTEN_TLS_CERT: %w", err)
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

// explainEmbeddedError says what to do about an embedded server that did not start.
func explainEmbeddedError(err error, cfg natsConfig) error {
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
func (c *natsConn) logListener(cfg natsConfig, o natsembed.Options) {
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
	if host, _, _ := net.SplitHostPort(cfg.Listen); !outbound.IsLoopback(host) && o.TLS == nil {
		c.log.Warn("the embedded NATS server listens beyond this host without TLS (LCW_NATS_LISTEN_INSECURE): "+
			"events cross the network in the clear", "listen", cfg.Listen)
	}
}
