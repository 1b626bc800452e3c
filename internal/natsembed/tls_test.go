package natsembed_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// testCertificate returns a certificate for 127.0.0.1 and a pool that trusts it
// (httptest's, which is made for exactly that).
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	ts := httptest.NewTLSServer(nil)
	defer ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return ts.TLS.Certificates[0], pool
}

func TestListenerTLS(t *testing.T) {
	t.Parallel()
	cert, pool := testCertificate(t)
	o := listening(t)
	o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s := start(t, o)
	url := s.ClientURL()
	if !strings.HasPrefix(url, "tls://127.0.0.1:") {
		t.Fatalf("ClientURL = %q, want tls://127.0.0.1:…", url)
	}
	tests := []struct {
		name    string
		opts    []nats.Option
		wantErr string
	}{
		{"trusted", []nats.Option{nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})}, ""},
		{"untrusted", []nats.Option{nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12})}, "certificate"},
		{"trusted without the key", []nats.Option{nats.Secure(&tls.Config{RootCAs: pool})}, "Authorization Violation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append(tt.opts, nats.MaxReconnects(0))
			if tt.wantErr != "Authorization Violation" {
				opts = append(opts, subscriberKey(t, o))
			}
			nc, err := nats.Connect(url, opts...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				defer nc.Close()
				if !nc.TLSRequired() {
					t.Error("connection not over TLS")
				}
				return
			}
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
	t.Run("plaintext", func(t *testing.T) {
		nc, err := nats.Connect("nats://"+strings.TrimPrefix(url, "tls://"), subscriberKey(t, o), nats.MaxReconnects(0))
		if err == nil {
			defer nc.Close()
			// nats.go upgrades by itself when the server requires TLS, and then has to
			// trust its certificate, which the system pool does not.
			t.Fatal("connected without TLS settings")
		}
	})
	t.Run("in-process unaffected", func(t *testing.T) {
		js := connect(t, s)
		if _, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: "T"}); err != nil {
			t.Fatalf("in-process connection with TLS on the listener: %v", err)
		}
	})
}

// TestInProcessKeepsFullAccess: with a listener and its restricted account, lcwnotify's
// own connection still does everything: buckets, streams, consumers, deleting.
func TestInProcessKeepsFullAccess(t *testing.T) {
	t.Parallel()
	s := start(t, listening(t))
	js := connect(t, s)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "LCW-watcher"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "lease", []byte("me")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SCRATCH", Subjects: []string{"scratch.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "scratch.a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "SCRATCH", jetstream.ConsumerConfig{Durable: "LCW-slack", DeliverSubject: "push.here"}); err != nil {
		t.Fatalf("a push consumer in-process: %v", err)
	}
	if err := js.DeleteStream(ctx, "SCRATCH"); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteKeyValue(ctx, "LCW-watcher"); err != nil {
		t.Fatal(err)
	}
}
