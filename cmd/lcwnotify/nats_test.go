package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsAt starts a NATS server with JetStream on addr, storing in dir, open to every
// client with every permission, as an external server of a test can be.
func natsAt(t *testing.T, addr, dir string) *server.Server {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return startNATSServer(t, &server.Options{Host: host, Port: p, JetStream: true, StoreDir: dir})
}

// TestExternalNATSOutage: a notifier started before its NATS server waits for it
// (unready, not failed), delivers once it is up, goes unready while NATS restarts and
// comes back by itself.
func TestExternalNATSOutage(t *testing.T) {
	t.Parallel()
	addr, store := freeAddr(t), t.TempDir()
	env := baseEnv(t)
	delete(env, "LCW_DATA_DIR")
	env["LCW_NATS_URL"] = "nats://" + addr
	env["LCW_CONSOLE"] = "true"
	p := start(t, env, "notify")
	base := "http://" + p.httpAddr()

	// Until its first attempt to connect fails the check says "starting"; unready
	// throughout, and then it names NATS.
	eventually(t, 20*time.Second, "/readyz naming NATS while it is down", func() bool {
		code, body := get(t, base+"/readyz")
		if code != 503 {
			t.Fatalf("/readyz with NATS down = %d %s, want 503", code, body)
		}
		return strings.Contains(body, `"nats":"NATS connection is`)
	})
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz with NATS down = %d, want 200: an outage elsewhere must not get the process restarted", code)
	}

	srv := natsAt(t, addr, store)
	eventually(t, 30*time.Second, "readiness once NATS is up", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	nc, err := nats.Connect("nats://"+addr, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ev, err := notifytest.Event(notifytest.Result{ResultID: "upr-outage", UserName: "Adele Vance", UPN: "adele@contoso.example",
		Tasks: []events.TaskResult{notifytest.FailedTask("Enable user account", "Insufficient privileges")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := notifytest.Publish(ctx, js, "LCW", "lcw", ev); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the notification on stdout", func() bool {
		return strings.Contains(p.stdout.String(), "Adele Vance")
	})

	srv.Shutdown()
	eventually(t, 20*time.Second, "unreadiness while NATS is down", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 503
	})
	natsAt(t, addr, store)
	eventually(t, 30*time.Second, "readiness after NATS came back", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	if n := strings.Count(p.stdout.String(), "Adele Vance ("); n != 1 {
		t.Errorf("the notification was printed %d times, want 1", n)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
}

// natsWithPassword starts a NATS server with JetStream on addr, storing in dir, that
// accepts the user lcw with password only.
func natsWithPassword(t *testing.T, addr, dir, password string) *server.Server {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return startNATSServer(t, &server.Options{Host: host, Port: p, JetStream: true, StoreDir: dir,
		Username: "lcw", Password: password})
}

// startNATSServer starts a nats-server with opts, quiet, and stops it when the test ends.
func startNATSServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.NoSigs, opts.NoLog = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// TestExternalNATSRefusedCredentials: a server that refuses the credentials leaves the
// process unready, saying why, and retrying: once the server accepts them (the account
// fixed, the credentials rotated back) it connects by itself. The password never shows.
func TestExternalNATSRefusedCredentials(t *testing.T) {
	t.Parallel()
	const password = "NATS-S3CR3T-pw"
	addr, store := freeAddr(t), t.TempDir()
	srv := natsWithPassword(t, addr, store, "another-password")

	env := baseEnv(t)
	delete(env, "LCW_DATA_DIR")
	env["LCW_NATS_URL"] = "nats://lcw:" + password + "@" + addr
	env["LCW_CONSOLE"] = "true"
	p := start(t, env, "notify")
	refusedUntil(t, p, func() {
		srv.Shutdown()
		srv.WaitForShutdown()
		natsWithPassword(t, addr, store, password)
	})
	if logs := p.stderr.String(); strings.Contains(logs, password) {
		t.Errorf("the log holds the NATS password:\n%s", logs)
	}
}

// refusedUntil waits for the /readyz of p, a process whose NATS credentials the server
// refuses, to say so; calls accept, which makes the server accept them; waits for p to
// become ready by itself, and stops it. It returns the /readyz body seen while refused.
func refusedUntil(t *testing.T, p *proc, accept func()) (refused string) {
	t.Helper()
	base := "http://" + p.httpAddr()
	eventually(t, 20*time.Second, "/readyz to name the refused credentials", func() bool {
		code, body := get(t, base+"/readyz")
		refused = body
		return code == 503 && strings.Contains(strings.ToLower(body), "authorization violation")
	})
	accept()
	eventually(t, 30*time.Second, "readiness once the server accepts the credentials", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	})
	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	return refused
}

// TestStreamSubjectsTaken: a second deployment on the same NATS account with its own
// stream but the same subject prefix cannot create its stream; it exits 1 saying which
// setting to change.
func TestStreamSubjectsTaken(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	natsAt(t, addr, t.TempDir())
	env := baseEnv(t)
	delete(env, "LCW_DATA_DIR")
	env["LCW_NATS_URL"] = "nats://" + addr
	env["LCW_CONSOLE"] = "true"
	first := start(t, env, "notify")
	eventually(t, 15*time.Second, "the first deployment to start", func() bool {
		return strings.Contains(first.stderr.String(), "lcwnotify started")
	})
	env["LCW_STREAM"] = "LCW_TENANT2"
	code, _, errOut := runBinary(t, env, "notify")
	if code != 1 || !strings.Contains(errOut, "LCW_SUBJECT_PREFIX") {
		t.Errorf("exit %d, stderr %q; want 1 and a pointer to LCW_SUBJECT_PREFIX", code, errOut)
	}
}
