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

func TestSubscriberReadsEvents(t *testing.T) {
	t.Parallel()
	d := deploy(t)
	c := d.subscriber(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("core subscription", func(t *testing.T) {
		sub, err := c.nc.SubscribeSync("lcw.result.*.failed")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if err := c.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		d.publish(t, "lcw.result.wf3.failed", "lcw1-live")
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("live event: %v", err)
		}
		if got, want := m.Subject, "lcw.result.wf3.failed"; got != want {
			t.Errorf("subject = %q, want %q", got, want)
		}
	})

	t.Run("stream info and names", func(t *testing.T) {
		s, err := c.js.Stream(ctx, "LCW")
		if err != nil {
			t.Fatalf("stream info: %v", err)
		}
		if s.CachedInfo().State.Msgs < 3 {
			t.Errorf("stream holds %d messages for the subscriber, want at least 3", s.CachedInfo().State.Msgs)
		}
		name, err := c.js.StreamNameBySubject(ctx, "lcw.result.*.failed")
		if err != nil || name != "LCW" {
			t.Errorf("StreamNameBySubject = %q, %v; want LCW", name, err)
		}
		var names []string
		lister := c.js.StreamNames(ctx)
		for n := range lister.Name() {
			names = append(names, n)
		}
		if err := lister.Err(); err != nil {
			t.Fatalf("stream names: %v", err)
		}
		if got := strings.Join(names, ","); got != "LCW" {
			t.Errorf("stream names = %q, want only LCW (the buckets' streams are hidden)", got)
		}
		names = nil
		infos := c.js.ListStreams(ctx)
		for si := range infos.Info() {
			names = append(names, si.Config.Name)
		}
		if err := infos.Err(); err != nil {
			t.Fatalf("stream list: %v", err)
		}
		if got := strings.Join(names, ","); got != "LCW" {
			t.Errorf("stream list = %q, want only LCW", got)
		}
		m, err := s.GetMsg(ctx, 1)
		if err != nil || m.Subject != "lcw.result.wf1.failed" {
			t.Errorf("GetMsg(1) = %v, %v; want the first event", m, err)
		}
	})

	t.Run("durable consumer", func(t *testing.T) {
		cons, err := c.js.CreateOrUpdateConsumer(ctx, "LCW", jetstream.ConsumerConfig{
			Durable: "oncall-pager", FilterSubjects: []string{"lcw.result.*.failed"},
			AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err != nil {
			t.Fatalf("create durable consumer: %v", err)
		}
		batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for m := range batch.Messages() {
			got = append(got, m.Subject())
			if err := m.DoubleAck(ctx); err != nil {
				t.Errorf("ack: %v", err)
			}
		}
		if batch.Error() != nil {
			t.Fatalf("fetch: %v", batch.Error())
		}
		if want := "lcw.result.wf1.failed,lcw.result.wf2.failed"; strings.Join(got, ",") != want {
			t.Errorf("fetched %v, want %s", got, want)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream != 3 || info.NumAckPending != 0 {
			t.Errorf("after acks: ack floor %d, pending acks %d; want 3 and 0", info.AckFloor.Stream, info.NumAckPending)
		}
		// The consumer survives the client: a new connection resumes where this one stopped.
		c2 := d.subscriber(t)
		again, err := c2.js.Consumer(ctx, "LCW", "oncall-pager")
		if err != nil {
			t.Fatalf("durable consumer from a second connection: %v", err)
		}
		if info, _ := again.Info(ctx); info == nil || info.NumPending != 1 {
			t.Errorf("durable consumer info from a second connection = %+v, want the one live event pending", info)
		}
		if err := c.js.DeleteConsumer(ctx, "LCW", "oncall-pager"); err != nil {
			t.Errorf("a subscriber deleting its own consumer: %v", err)
		}
	})

	t.Run("ordered consumer", func(t *testing.T) {
		cons, err := c.js.OrderedConsumer(ctx, "LCW", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"lcw.result.>"}})
		if err != nil {
			t.Fatalf("ordered consumer: %v", err)
		}
		var got []string
		for range 3 {
			m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
			if err != nil {
				t.Fatalf("next: %v (after %v)", err, got)
			}
			got = append(got, m.Subject())
		}
		if want := "lcw.result.wf1.failed,lcw.result.wf1.completed,lcw.result.wf2.failed"; strings.Join(got, ",") != want {
			t.Errorf("ordered consumer read %v, want %s", got, want)
		}
	})

	t.Run("consume", func(t *testing.T) {
		cons, err := c.js.CreateConsumer(ctx, "LCW", jetstream.ConsumerConfig{
			FilterSubject: "lcw.result.wf2.>", AckPolicy: jetstream.AckExplicitPolicy,
		})
		if err != nil {
			t.Fatalf("ephemeral consumer: %v", err)
		}
		got := make(chan string, 1)
		cc, err := cons.Consume(func(m jetstream.Msg) {
			_ = m.Ack()
			got <- m.Subject()
		})
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Stop()
		select {
		case s := <-got:
			if s != "lcw.result.wf2.failed" {
				t.Errorf("consumed %q, want lcw.result.wf2.failed", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("nothing consumed")
		}
	})
	if e := c.asyncErrors(); e != "" {
		t.Errorf("reading the stream raised errors: %s", e)
	}
}

func TestSubscriberCannotTouchState(t *testing.T) {
	t.Parallel()
	d := deploy(t)
	before := d.state(t)
	// A message of the Slack consumer, delivered to lcwnotify and not acknowledged yet:
	// its ack subject is what a subscriber would need to acknowledge it away.
	batch, err := d.slack.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	inflight := <-batch.Messages()
	if inflight == nil {
		t.Fatal("no message for the Slack consumer")
	}
	before.SlackDelivered, before.SlackAckPending = 1, 1

	tests := []struct {
		name string
		do   func(c *client, ctx context.Context) error
		// want is part of the error the client gets, returned or asynchronous; "" when
		// nothing comes back (an answer routed nowhere) and only the state tells.
		want string
	}{
		{"read the watcher's bucket", func(c *client, ctx context.Context) error {
			_, err := c.js.KeyValue(ctx, watcherBucket)
			return err
		}, "Permissions Violation"},
		{"read the ledger bucket", func(c *client, ctx context.Context) error {
			_, err := c.js.KeyValue(ctx, ledgerBucket)
			return err
		}, "Permissions Violation"},
		{"direct get of the lease", func(c *client, ctx context.Context) error {
			_, err := c.nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET.KV_"+watcherBucket+".$KV."+watcherBucket+".lease", nil)
			return err
		}, "Permissions Violation"},
		{"write the lease", func(c *client, ctx context.Context) error {
			return c.nc.Publish("$KV."+watcherBucket+".lease", []byte(`{"holder":"intruder"}`))
		}, "Permissions Violation"},
		{"watch the buckets", func(c *client, ctx context.Context) error {
			_, err := c.nc.SubscribeSync("$KV.>")
			return err
		}, "Permissions Violation"},
		{"answer into the lease", func(c *client, ctx context.Context) error {
			// The JetStream API answers where the request says: across accounts that is
			// the subscribers' own namespace, not lcwnotify's bucket.
			return c.nc.PublishRequest("$JS.API.STREAM.INFO.LCW", "$KV."+watcherBucket+".lease", nil)
		}, ""},
		{"pull into the lease", func(c *client, ctx context.Context) error {
			return c.nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.LCW.nobody", "$KV."+watcherBucket+".lease", []byte(`{"batch":1}`))
		}, ""},
		{"push consumer delivering into the lease", func(c *client, ctx context.Context) error {
			_, err := c.js.CreateConsumer(ctx, "LCW", jetstream.ConsumerConfig{
				Name: "pusher", DeliverSubject: "$KV." + watcherBucket + ".lease", AckPolicy: jetstream.AckNonePolicy,
			})
			return err
		}, "push consumers are not available"},
		{"push consumer by the legacy API", func(c *client, ctx context.Context) error {
			js, err := c.nc.JetStream()
			if err != nil {
				return err
			}
			_, err = js.AddConsumer("LCW", &nats.ConsumerConfig{Durable: "pusher2", DeliverSubject: "$KV." + ledgerBucket + ".x"}, nats.Context(ctx))
			return err
		}, "push consumers are not available"},
		{"update lcwnotify's consumer", func(c *client, ctx context.Context) error {
			_, err := c.js.CreateOrUpdateConsumer(ctx, "LCW", jetstream.ConsumerConfig{
				Durable: slackConsumer, AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "lcw.result.*.completed",
			})
			return err
		}, "belong to lcwnotify"},
		{"take a future notifier's name", func(c *client, ctx context.Context) error {
			_, err := c.js.CreateConsumer(ctx, "LCW", jetstream.ConsumerConfig{Durable: "LCW-pagerduty", AckPolicy: jetstream.AckExplicitPolicy})
			return err
		}, "belong to lcwnotify"},
		{"name lcwnotify's consumer in the body only", func(c *client, ctx context.Context) error {
			return c.apiRequest(ctx, "$JS.API.CONSUMER.CREATE.LCW",
				`{"stream_name":"LCW","config":{"durable_name":"LCW-slack","ack_policy":"explicit"}}`)
		}, "belong to lcwnotify"},
		{"two JSON values in one request", func(c *client, ctx context.Context) error {
			// The server decodes both into one request; the gate refuses what it cannot
			// read as one.
			return c.apiRequest(ctx, "$JS.API.CONSUMER.CREATE.LCW.sneaky",
				`{"stream_name":"LCW","config":{"name":"sneaky"}} {"config":{"name":"sneaky","deliver_subject":"$KV.LCW-watcher.lease"}}`)
		}, "malformed consumer request"},
		{"delete lcwnotify's consumer", func(c *client, ctx context.Context) error {
			return c.js.DeleteConsumer(ctx, "LCW", slackConsumer)
		}, "belong to lcwnotify"},
		{"pull from lcwnotify's consumer", func(c *client, ctx context.Context) error {
			cons, err := c.js.Consumer(ctx, "LCW", slackConsumer) // reading its info is allowed
			if err != nil {
				return fmt.Errorf("consumer info: %w", err)
			}
			b, err := cons.Fetch(1, jetstream.FetchMaxWait(300*time.Millisecond))
			if err != nil {
				return err
			}
			for m := range b.Messages() {
				return fmt.Errorf("a subscriber received %s from lcwnotify's consumer", m.Subject())
			}
			return b.Error()
		}, "Permissions Violation"},
		{"acknowledge lcwnotify's message", func(c *client, ctx context.Context) error {
			return c.nc.Publish(inflight.Reply(), []byte("+ACK"))
		}, "Permissions Violation"},
		{"publish an event", func(c *client, ctx context.Context) error {
			return c.nc.Publish("lcw.result.wf9.failed", []byte(`{"id":"forged"}`))
		}, "Permissions Violation"},
		{"purge the stream", func(c *client, ctx context.Context) error {
			s, err := c.js.Stream(ctx, "LCW")
			if err != nil {
				return err
			}
			return s.Purge(ctx)
		}, "Permissions Violation"},
		{"delete the stream", func(c *client, ctx context.Context) error {
			return c.js.DeleteStream(ctx, "LCW")
		}, "Permissions Violation"},
		{"update the stream", func(c *client, ctx context.Context) error {
			_, err := c.js.UpdateStream(ctx, jetstream.StreamConfig{Name: "LCW", Subjects: []string{"lcw.>"}})
			return err
		}, "Permissions Violation"},
		{"create a stream", func(c *client, ctx context.Context) error {
			_, err := c.js.CreateStream(ctx, jetstream.StreamConfig{Name: "MINE", Subjects: []string{"mine.>"}})
			return err
		}, "Permissions Violation"},
		{"delete a bucket", func(c *client, ctx context.Context) error {
			return c.js.DeleteKeyValue(ctx, watcherBucket)
		}, "Permissions Violation"},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				c := d.subscriber(t)
				// Requests the server refuses by permission get no answer, only an
				// asynchronous error: a short timeout keeps the test quick.
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				defer cancel()
				err := tt.do(c, ctx)
				msg := c.asyncErrors()
				if err != nil {
					msg = err.Error() + "; " + msg
				}
				for deadline := time.Now().Add(2 * time.Second); !strings.Contains(msg, tt.want) && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
					msg += c.asyncErrors()
				}
				if !strings.Contains(msg, tt.want) {
					t.Errorf("errors %q, want one mentioning %q", msg, tt.want)
				}
				// Give anything the server might deliver on the subscriber's behalf time to land.
				time.Sleep(100 * time.Millisecond)
				if got := d.state(t); got != before {
					t.Errorf("state changed:\n got %+v\nwant %+v", got, before)
				}
			})
		}
	})
	t.Run("inboxes", func(t *testing.T) {
		// lcwnotify's own replies (a bucket read) never reach a subscriber listening on
		// every inbox.
		c := d.subscriber(t)
		sub, err := c.nc.SubscribeSync("_INBOX.>")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.watcher.Get(context.Background(), "lease"); err != nil {
			t.Fatal(err)
		}
		if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
			t.Errorf("a subscriber saw lcwnotify's reply on %s: %.80s", m.Subject, m.Data)
		}
	})
	if err := inflight.Ack(); err != nil {
		t.Fatalf("lcwnotify's own ack: %v", err)
	}
}

func TestListenerAuthentication(t *testing.T) {
	t.Parallel()
	o := listening(t)
	s := start(t, o)
	if s.SubscriberKey == "" || !s.SubscriberKeyCreated {
		t.Fatalf("SubscriberKey = %q, created %v; want a new key", s.SubscriberKey, s.SubscriberKeyCreated)
	}
	stranger := filepath.Join(t.TempDir(), "stranger.nk")
	if _, _, err := natsembed.LoadOrCreateNKeyFile(stranger); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []nats.Option
	}{
		{"no credentials", nil},
		{"a user and password", []nats.Option{nats.UserInfo("subscriber", "guess")}},
		{"a key the server does not know", []nats.Option{subscriberKey(t, withKey(o, stranger, false))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(s.ClientURL(), append(tt.opts, nats.MaxReconnects(0))...)
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			if !strings.Contains(err.Error(), "Authorization Violation") {
				t.Errorf("error = %v, want an authorization violation", err)
			}
		})
	}
	nc, err := nats.Connect(s.ClientURL(), subscriberKey(t, o))
	if err != nil {
		t.Fatalf("the subscribers' key: %v", err)
	}
	nc.Close()
}

// TestListenerOnExistingStore: a store written by a server without a listener (every
// deployment before it had one) keeps its stream and buckets when the listener is
// turned on, and the other way round: lcwnotify's data stays in the global account.
func TestListenerOnExistingStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := listening(t)
	plain := natsembed.Options{Dir: o.Dir}

	s := start(t, plain)
	js := connect(t, s)
	if _, err := events.EnsureStream(ctx, js, events.StreamOptions{Name: "LCW", Prefix: "lcw"}); err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: watcherBucket})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "lease", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "lcw.result.wf1.failed", []byte("before")); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()

	check := func(t *testing.T, s *natsembed.Server) {
		t.Helper()
		js := connect(t, s)
		kv, err := js.KeyValue(ctx, watcherBucket)
		if err != nil {
			t.Fatalf("bucket lost: %v", err)
		}
		if e, err := kv.Get(ctx, "lease"); err != nil || string(e.Value()) != "kept" {
			t.Fatalf("lease = %v, %v; want kept", e, err)
		}
		st, err := js.Stream(ctx, "LCW")
		if err != nil {
			t.Fatalf("stream lost: %v", err)
		}
		if m, err := st.GetMsg(ctx, 1); err != nil || string(m.Data) != "before" {
			t.Fatalf("first event = %v, %v", m, err)
		}
	}
	withListener := start(t, o)
	check(t, withListener)
	c := (&deployment{o: o, srv: withListener}).subscriber(t)
	st, err := c.js.Stream(ctx, "LCW")
	if err != nil {
		t.Fatalf("subscriber: %v", err)
	}
	if m, err := st.GetMsg(ctx, 1); err != nil || string(m.Data) != "before" {
		t.Errorf("subscriber reads %v, %v; want the event written before the listener", m, err)
	}
	withListener.Shutdown()
	check(t, start(t, plain))
}
