package natsembed_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

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
