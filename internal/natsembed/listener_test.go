package natsembed_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestListenerAuthentication: the listener admits the subscribers' key and nothing else.
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
