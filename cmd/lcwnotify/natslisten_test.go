package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/watcher"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// serverCert writes a TLS certificate for 127.0.0.1 and its key as PEM files, and
// returns their paths and a pool that trusts the certificate.
func serverCert(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	ts := httptest.NewTLSServer(nil) // its certificate is made for 127.0.0.1
	defer ts.Close()
	pool = x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	keyDER, err := x509.MarshalPKCS8PrivateKey(ts.TLS.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, pool
}

// nkeyFiles writes a user seed (mode seedMode) and its public key, and returns their
// paths and the seed.
func nkeyFiles(t *testing.T, seedMode os.FileMode) (seedFile, pubFile, seed string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	dir := t.TempDir()
	seedFile, pubFile = filepath.Join(dir, "subscriber.nk"), filepath.Join(dir, "subscriber.pub")
	if err := os.WriteFile(seedFile, s, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(seedFile, seedMode); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, []byte(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	return seedFile, pubFile, string(s)
}

func TestListenerSettings(t *testing.T) {
	cert, key, _ := serverCert(t)
	seedFile, pubFile, seed := nkeyFiles(t, 0o600)
	exposed, _, _ := nkeyFiles(t, 0o644)
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		vars map[string]string
		// want lists the variables the error must name, in its lines; none: accepted.
		want []string
	}{
		{"loopback", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222"}, nil},
		{"localhost", map[string]string{"LCW_NATS_LISTEN": "localhost:4222"}, nil},
		{"IPv6 loopback", map[string]string{"LCW_NATS_LISTEN": "[::1]:4222"}, nil},
		{"every interface without TLS", map[string]string{"LCW_NATS_LISTEN": ":4222"},
			[]string{"LCW_NATS_LISTEN", "LCW_NATS_LISTEN_TLS_CERT", "LCW_NATS_LISTEN_TLS_KEY", "LCW_NATS_LISTEN_INSECURE=true"}},
		{"a LAN address without TLS", map[string]string{"LCW_NATS_LISTEN": "10.0.0.5:4222"}, []string{"LCW_NATS_LISTEN"}},
		{"every interface, plaintext accepted", map[string]string{"LCW_NATS_LISTEN": "0.0.0.0:4222", "LCW_NATS_LISTEN_INSECURE": "true"}, nil},
		{"every interface with TLS", map[string]string{"LCW_NATS_LISTEN": ":4222", "LCW_NATS_LISTEN_TLS_CERT": cert, "LCW_NATS_LISTEN_TLS_KEY": key}, nil},
		{"certificate without key", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_TLS_CERT": cert}, []string{"LCW_NATS_LISTEN_TLS_KEY"}},
		{"key without certificate", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_TLS_KEY": key}, []string{"LCW_NATS_LISTEN_TLS_CERT"}},
		{"key that is not the certificate's", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_TLS_CERT": cert, "LCW_NATS_LISTEN_TLS_KEY": garbage}, []string{"LCW_NATS_LISTEN_TLS_CERT"}},
		{"bad insecure", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_INSECURE": "yes"}, []string{"LCW_NATS_LISTEN_INSECURE"}},
		{"seed file", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_NKEY": seedFile}, nil},
		{"public key file", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_NKEY": pubFile}, nil},
		{"world-readable seed", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_NKEY": exposed}, []string{"LCW_NATS_LISTEN_NKEY"}},
		{"not a key", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_NKEY": garbage}, []string{"LCW_NATS_LISTEN_NKEY"}},
		{"missing key file", map[string]string{"LCW_NATS_LISTEN": "127.0.0.1:4222", "LCW_NATS_LISTEN_NKEY": "/does/not/exist"}, []string{"LCW_NATS_LISTEN_NKEY"}},
		{"key without listener", map[string]string{"LCW_NATS_LISTEN_NKEY": seedFile}, []string{"LCW_NATS_LISTEN_NKEY"}},
		{"TLS without listener", map[string]string{"LCW_NATS_LISTEN_TLS_CERT": cert, "LCW_NATS_LISTEN_TLS_KEY": key}, []string{"LCW_NATS_LISTEN_TLS_CERT", "LCW_NATS_LISTEN_TLS_KEY"}},
		{"external server", map[string]string{"LCW_NATS_URL": "nats://a:4222", "LCW_NATS_LISTEN_NKEY": seedFile, "LCW_NATS_LISTEN_INSECURE": "true"},
			[]string{"LCW_NATS_LISTEN_NKEY", "LCW_NATS_LISTEN_INSECURE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.vars)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got, want := c.NatsListenNkey, tt.vars["LCW_NATS_LISTEN_NKEY"]; got != want {
					t.Errorf("NKeyFile = %q, want %q", got, want)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if _, ok := asConfigError(err); !ok {
				t.Errorf("error %T is not a configuration error (exit 2)", err)
			}
			for _, v := range tt.want {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
			}
			if strings.Contains(err.Error(), seed) {
				t.Error("the error quotes the seed")
			}
		})
	}
}

// TestEmbeddedListener: `lcwnotify run` with LCW_NATS_LISTEN writes a subscriber key to
// its data directory, logs where (never the key), and admits a subscriber with it that
// sees the events but cannot read the watcher's bucket or the Slack ledger, nor take
// the Slack notifier's events. After a restart the same key still works.
func TestEmbeddedListener(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	wf := w.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Offboard leavers", Category: graphsim.CategoryLeaver})
	env := maps.Clone(w.env)
	addr := freeAddr(t)
	env["LCW_NATS_LISTEN"] = addr
	keyFile := filepath.Join(env["LCW_DATA_DIR"], "subscriber.nk")

	p := start(t, env, "run")
	waitReady(t, p)
	logged := listenerLog(t, p)
	if logged["nkey_file"] != keyFile || logged["generated"] != true || logged["url"] != "nats://"+addr {
		t.Errorf("listener log line = %v, want url nats://%s, nkey_file %s, generated", logged, addr, keyFile)
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	seed, _ := os.ReadFile(keyFile)

	violations := make(chan error, 16)
	nc := subscriberConn(t, "nats://"+addr, keyFile, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case violations <- err:
		default:
		}
	}))
	js, _ := jetstream.New(nc, jetstream.WithDefaultTimeout(time.Second))
	live, err := nc.SubscribeSync("lcw.result.*.failed")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	w.failOne(t, wf)
	m, err := live.NextMsg(20 * time.Second)
	if err != nil {
		t.Fatalf("the subscriber saw no event: %v", err)
	}
	if !strings.HasPrefix(m.Subject, "lcw.result."+wf.ID+".") {
		t.Errorf("event on %s, want the workflow's", m.Subject)
	}
	eventually(t, 20*time.Second, "the Slack message", func() bool { return len(w.slack.Messages()) >= 1 })

	// Pulling from the Slack notifier's consumer would take its events: refused.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, "LCW", "LCW-slack") // its info is readable
	if err != nil {
		t.Fatalf("the Slack consumer's info: %v", err)
	}
	if b, err := cons.Fetch(1, jetstream.FetchMaxWait(300*time.Millisecond)); err == nil {
		for range b.Messages() {
			t.Error("the subscriber pulled a message from lcwnotify's Slack consumer")
		}
	}
	select {
	case err := <-violations:
		if !strings.Contains(err.Error(), "MSG.NEXT.LCW.LCW-slack") {
			t.Errorf("asynchronous error %v, want a permission violation for the pull", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("pulling from lcwnotify's Slack consumer raised no permission violation")
	}
	for _, bucket := range []string{watcher.BucketName("LCW"), notify.LedgerBucket("LCW", "slack")} {
		bctx, bcancel := context.WithTimeout(context.Background(), time.Second)
		if _, err := js.KeyValue(bctx, bucket); err == nil {
			t.Errorf("the subscriber opened the bucket %s", bucket)
		}
		bcancel()
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	nc.Close()
	if n := len(w.slack.Messages()); n != 1 {
		t.Errorf("Slack got %d messages, want 1", n)
	}
	p2 := start(t, env, "run")
	waitReady(t, p2)
	if again := listenerLog(t, p2); again["generated"] != nil {
		t.Errorf("restart generated a new key: %v", again)
	}
	if b, _ := os.ReadFile(keyFile); string(b) != string(seed) {
		t.Error("the key file changed across the restart")
	}
	subscriberConn(t, "nats://"+addr, keyFile).Close()
	p2.signal(syscall.SIGTERM)
	if code := p2.wait(20 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	for _, out := range []string{p.stderr.String(), p2.stderr.String(), p.stdout.String()} {
		if strings.Contains(out, strings.TrimSpace(string(seed))) {
			t.Error("the output holds the subscriber seed")
		}
	}
}

// TestEmbeddedListenerTLS: a listener on every interface starts with TLS, and a
// subscriber that trusts the certificate reads the stream over tls://.
func TestEmbeddedListenerTLS(t *testing.T) {
	t.Parallel()
	cert, key, pool := serverCert(t)
	env := baseEnv(t)
	_, port, _ := net.SplitHostPort(freeAddr(t))
	env["LCW_NATS_LISTEN"] = ":" + port
	env["LCW_NATS_LISTEN_TLS_CERT"], env["LCW_NATS_LISTEN_TLS_KEY"] = cert, key
	env["LCW_CONSOLE"] = "true"
	p := start(t, env, "notify")
	waitReady(t, p)
	if url := listenerLog(t, p)["url"]; !strings.HasPrefix(url.(string), "tls://") {
		t.Errorf("listener url %v, want tls://", url)
	}
	keyFile := filepath.Join(env["LCW_DATA_DIR"], "subscriber.nk")
	nc := subscriberConn(t, "tls://127.0.0.1:"+port, keyFile, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.Stream(ctx, "LCW"); err != nil {
		t.Errorf("stream info over TLS: %v", err)
	}
	if _, err := nats.Connect("nats://127.0.0.1:"+port, nats.MaxReconnects(0)); err == nil {
		t.Error("connected without TLS or key")
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
}

// TestExposedSubscriberKeyRefused: a generated key file someone made world-readable
// stops the start with a message that says what to do, and never the key.
func TestExposedSubscriberKeyRefused(t *testing.T) {
	t.Parallel()
	env := baseEnv(t)
	env["LCW_NATS_LISTEN"] = freeAddr(t)
	env["LCW_CONSOLE"] = "true"
	keyFile := filepath.Join(env["LCW_DATA_DIR"], "subscriber.nk")
	if _, _, err := natsembed.LoadOrCreateNKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	seed, _ := os.ReadFile(keyFile)
	code, _, stderr := runBinary(t, env, "notify")
	if code != 1 || !strings.Contains(stderr, "chmod 600") || !strings.Contains(stderr, "LCW_NATS_LISTEN_NKEY") {
		t.Errorf("exit %d, stderr %q; want 1 and what to do about the key file", code, stderr)
	}
	if strings.Contains(stderr, strings.TrimSpace(string(seed))) {
		t.Error("stderr holds the seed")
	}
}

func waitReady(t *testing.T, p *proc) {
	t.Helper()
	base := "http://" + p.httpAddr()
	eventually(t, 30*time.Second, "readiness", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
}

// listenerLog returns the log line that says where subscribers connect.
func listenerLog(t *testing.T, p *proc) map[string]any {
	t.Helper()
	for _, l := range p.logLines() {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, "embedded NATS server accepts subscribers") {
			return l
		}
	}
	t.Fatalf("no log line about the listener:\n%s", p.stderr)
	return nil
}

func subscriberConn(t *testing.T, url, keyFile string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	key, err := nats.NkeyOptionFromSeed(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, append(opts, key, nats.MaxReconnects(0))...)
	if err != nil {
		t.Fatalf("subscriber connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
