package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/lcwnotify/lcwnotify/internal/status"
	"github.com/lcwnotify/lcwnotify/notify"
)

// tailEvents prints the stream's events as they are stored, from now until ctx ends
// (Ctrl-C), through an ordered consumer that the server forgets when it ends. With the
// embedded server it connects to its listener (LCW_NATS_LISTEN) with the subscribers'
// key, as `nats sub` would: the store is the running process's.
func tailEvents(ctx context.Context, cfg *config, o opFlags, log *slog.Logger, stdout, stderr io.Writer) error {
	js, closeConn, err := tailConnection(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeConn()
	filters := tailFilters(string(cfg.SubjectPrefix), o.workflow, o.status)
	cons, err := js.OrderedConsumer(ctx, string(cfg.Stream), jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("read the stream %s: %w", cfg.Stream, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("read the stream %s: %w", cfg.Stream, err)
	}
	defer it.Stop()
	if isTerminal(stderr) {
		fmt.Fprintf(stderr, "Waiting for events on %s (%s); Ctrl-C ends.\n", cfg.Stream, strings.Join(filters, ", "))
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("read the stream %s: %w", cfg.Stream, err)
		}
		if o.json {
			if json.Valid(msg.Data()) {
				fmt.Fprintf(stdout, "%s\n", compactJSON(msg.Data()))
			}
			continue
		}
		fmt.Fprintln(stdout, describeMessage(string(cfg.SubjectPrefix), msg))
	}
}

// tailFilters are the subjects of the events asked for: all of them, or those of a
// workflow, of a status, or both.
func tailFilters(prefix, workflow, st string) []string {
	switch {
	case workflow != "" && st != "":
		return []string{events.ResultSubject(prefix, workflow, st)}
	case workflow != "":
		wf := events.Token(workflow)
		return []string{prefix + ".result." + wf + ".*", prefix + ".workflow." + wf + ".*", prefix + ".action." + wf + ".*"}
	case st != "":
		return []string{events.ResultFilter(prefix, st)}
	}
	return []string{prefix + ".>"}
}

// tailConnection connects as run does to an external server, or to the embedded
// server's listener as a subscriber.
func tailConnection(ctx context.Context, cfg *config, log *slog.Logger) (jetstream.JetStream, func(), error) {
	if !cfg.NATS.Embedded() {
		nc, err := connectNATS(ctx, cfg.NATS, natsOptions{name: "lcwnotify events tail", drainTimeout: time.Second, failFast: true}, log)
		if err != nil {
			return nil, nil, err
		}
		return nc.js, func() { nc.nc.Close() }, nil
	}
	if cfg.NatsListen == "" {
		return nil, nil, &configError{problems: []string{"LCW_NATS_LISTEN: events tail with the embedded NATS server reads through its " +
			"listener: set LCW_NATS_LISTEN as the running lcwnotify has it (e.g. 127.0.0.1:4222), or LCW_NATS_URL for an external server"}}
	}
	keyFile := cfg.NatsListenNkey
	if keyFile == "" {
		keyFile = cfg.DataDir + string(os.PathSeparator) + subscriberKeyFile
	}
	if pub, err := natsembed.ReadNKeyFile(keyFile); err != nil {
		return nil, nil, fmt.Errorf("the subscribers' key (LCW_NATS_LISTEN_NKEY): %w", err)
	} else if strings.HasPrefix(pub, "U") && !seedFile(keyFile) {
		return nil, nil, fmt.Errorf("%s holds only the subscribers' public key: set LCW_NATS_LISTEN_NKEY to the file with the seed", keyFile)
	}
	nkey, err := nats.NkeyOptionFromSeed(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("the subscribers' key %s: %w", keyFile, err)
	}
	scheme := "nats://"
	opts := []nats.Option{nkey, nats.Name("lcwnotify events tail")}
	if cfg.NatsListenTLSCert != "" {
		scheme = "tls://"
		opts = append(opts, nats.RootCAs(cfg.NatsListenTLSCert))
	}
	nc, err := nats.Connect(scheme+dialAddr(string(cfg.NatsListen)), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the embedded NATS server's listener %s: %w", cfg.NatsListen, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc.Close, nil
}

// seedFile reports whether the key file holds a seed (SU…), not only a public key.
func seedFile(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("SU"))
}

// compactJSON puts an event on one line, for one event per line.
func compactJSON(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

// describeMessage says in one line what an event of the stream is.
func describeMessage(prefix string, msg jetstream.Msg) string {
	at := ""
	if meta, err := msg.Metadata(); err == nil {
		at = meta.Timestamp.UTC().Format("2006-01-02 15:04:05")
	}
	if sink, ok := strings.CutPrefix(msg.Subject(), prefix+".dlq."); ok {
		var dl notify.DeadLetter
		if err := json.Unmarshal(msg.Data(), &dl); err == nil {
			return fmt.Sprintf("%s  dead letter  %s %s  %s  %s", at, sink, status.DeadLetterID(sink, dl.StreamSequence), dl.Reason, notify.Clean(dl.Error))
		}
	}
	n, err := notify.DecodeNotification(msg.Data())
	if err != nil {
		return fmt.Sprintf("%s  unreadable   %s", at, msg.Subject())
	}
	wf := ""
	if w := n.WorkflowOf(); w != nil {
		wf = label(notify.Clean(w.DisplayName), notify.Clean(w.ID))
	}
	switch {
	case n.Event != nil:
		s := notify.Summarize(n.Event, "")
		return fmt.Sprintf("%s  result       %-20s %s  %s  %d of %d tasks failed  %s", at, s.Status, wf, s.User, s.Failed, s.Total, n.ID())
	case n.Workflow != nil:
		return fmt.Sprintf("%s  workflow     %-20s %s  %s", at, notify.Clean(n.Workflow.Data.Change), wf, n.ID())
	case n.Action != nil:
		a := n.Action.Data
		who := notify.Clean(label(a.Actor.Name, a.Actor.ID))
		return fmt.Sprintf("%s  action       %-20s %s  %s by %s  %s", at, notify.Clean(a.Kind), wf, notify.Clean(a.Action), who, n.ID())
	case n.Digest != nil:
		return fmt.Sprintf("%s  digest       %s", at, n.ID())
	}
	return at + "  " + msg.Subject()
}
