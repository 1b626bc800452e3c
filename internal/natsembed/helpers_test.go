package natsembed_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// listening returns options for a server with a loopback listener on a free port whose
// subscribers read the stream LCW (subjects lcw.…), with a key generated in the store
// directory, as lcwnotify configures it.
func listening(t *testing.T) natsembed.Options {
	t.Helper()
	dir := t.TempDir()
	return natsembed.Options{Dir: dir, Listen: "127.0.0.1:0", Subscribers: natsembed.Subscribers{
		Stream: "LCW", Prefix: "lcw", ReservedConsumerPrefix: "LCW-", ReservedConsumers: []string{"LCW-slack"},
		NKeyFile: filepath.Join(dir, "subscriber.nk"), CreateNKey: true,
	}}
}

func withListen(o natsembed.Options, addr string) natsembed.Options {
	o.Listen = addr
	return o
}

func withPrefix(o natsembed.Options, prefix string) natsembed.Options {
	o.Subscribers.Prefix = prefix
	return o
}

func withKey(o natsembed.Options, file string, create bool) natsembed.Options {
	o.Subscribers.NKeyFile, o.Subscribers.CreateNKey = file, create
	return o
}

// subscriberKey is the option that authenticates a client with the subscribers' seed.
func subscriberKey(t *testing.T, o natsembed.Options) nats.Option {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(o.Subscribers.NKeyFile)
	if err != nil {
		t.Fatalf("subscriber seed: %v", err)
	}
	return opt
}

// deployment is an embedded server with a listener, holding what lcwnotify keeps there:
// the event stream with a few events, the watcher's bucket with its lease, the Slack
// ledger, and the Slack notifier's durable consumer.
type deployment struct {
	o       natsembed.Options
	srv     *natsembed.Server
	js      jetstream.JetStream // lcwnotify's own, in-process
	stream  jetstream.Stream
	watcher jetstream.KeyValue
	ledger  jetstream.KeyValue
	slack   jetstream.Consumer
}

const (
	watcherBucket = "LCW-watcher"
	ledgerBucket  = "LCW-slack"
	slackConsumer = "LCW-slack"
)

func deploy(t *testing.T) *deployment {
	t.Helper()
	ctx := context.Background()
	d := &deployment{o: listening(t)}
	d.srv = start(t, d.o)
	d.js = connect(t, d.srv)
	var err error
	if d.stream, err = events.EnsureStream(ctx, d.js, events.StreamOptions{Name: "LCW", Prefix: "lcw"}); err != nil {
		t.Fatal(err)
	}
	if d.watcher, err = d.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: watcherBucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.watcher.Put(ctx, "lease", []byte(`{"holder":"watcher-1"}`)); err != nil {
		t.Fatal(err)
	}
	if d.ledger, err = d.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ledgerBucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ledger.Put(ctx, "lcw1-event-1", []byte("posted")); err != nil {
		t.Fatal(err)
	}
	if d.slack, err = d.js.CreateOrUpdateConsumer(ctx, "LCW", jetstream.ConsumerConfig{
		Durable: slackConsumer, AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "lcw.result.*.failed",
	}); err != nil {
		t.Fatal(err)
	}
	for i, subj := range []string{"lcw.result.wf1.failed", "lcw.result.wf1.completed", "lcw.result.wf2.failed"} {
		d.publish(t, subj, fmt.Sprintf("lcw1-event-%d", i+1))
	}
	return d
}

func (d *deployment) publish(t *testing.T, subject, id string) {
	t.Helper()
	if _, err := d.js.Publish(context.Background(), subject, []byte(`{"id":"`+id+`"}`), jetstream.WithMsgID(id)); err != nil {
		t.Fatal(err)
	}
}

// state is everything a subscriber must not be able to change, as lcwnotify sees it.
type state struct {
	Lease, Ledger          string
	LeaseRev               uint64
	Msgs, LastSeq          uint64
	Subjects               string
	SlackDelivered         uint64
	SlackAckFloor          uint64
	SlackAckPending        int
	SlackFilter            string
	Streams, WatcherValues uint64
}

func (d *deployment) state(t *testing.T) state {
	t.Helper()
	ctx := context.Background()
	var s state
	lease, err := d.watcher.Get(ctx, "lease")
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	s.Lease, s.LeaseRev = string(lease.Value()), lease.Revision()
	led, err := d.ledger.Get(ctx, "lcw1-event-1")
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	s.Ledger = string(led.Value())
	wst, err := d.watcher.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.WatcherValues = wst.Values()
	si, err := d.stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	s.Msgs, s.LastSeq, s.Subjects = si.State.Msgs, si.State.LastSeq, strings.Join(si.Config.Subjects, ",")
	ci, err := d.slack.Info(ctx)
	if err != nil {
		t.Fatalf("slack consumer: %v", err)
	}
	s.SlackDelivered, s.SlackAckFloor, s.SlackAckPending = ci.Delivered.Stream, ci.AckFloor.Stream, ci.NumAckPending
	s.SlackFilter = ci.Config.FilterSubject
	ai, err := d.js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Streams = uint64(ai.Streams)
	return s
}

// client is a subscriber connected over TCP, with the errors the server sent it
// asynchronously (permission violations).
type client struct {
	nc *nats.Conn
	js jetstream.JetStream

	mu    sync.Mutex
	async []string
}

func (d *deployment) subscriber(t *testing.T, opts ...nats.Option) *client {
	t.Helper()
	c := &client{}
	opts = append([]nats.Option{subscriberKey(t, d.o), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		c.mu.Lock()
		c.async = append(c.async, err.Error())
		c.mu.Unlock()
	})}, opts...)
	nc, err := nats.Connect(d.srv.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("subscriber connect: %v", err)
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	if c.js, err = jetstream.New(nc, jetstream.WithDefaultTimeout(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	return c
}

// apiRequest sends a raw JetStream API request and returns its error response as an
// error.
func (c *client) apiRequest(ctx context.Context, subject, body string) error {
	m, err := c.nc.RequestWithContext(ctx, subject, []byte(body))
	if err != nil {
		return err
	}
	if strings.Contains(string(m.Data), `"error"`) {
		return errors.New(string(m.Data))
	}
	return nil
}

func (c *client) asyncErrors() string {
	c.nc.Flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.async, "; ")
}
