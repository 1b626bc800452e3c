package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// natsUser is a NATS user's credentials: its JWT and nkey seed, and the file
// (jwt.FormatUserConfig) that holds them. Neither may reach any output.
type natsUser struct {
	jwt, seed string
	file      []byte
}

// secrets returns the parts of the user that must never be printed, by name: the seed,
// and the JWT's claims and signature (its header is the same for every user).
func (u natsUser) secrets() map[string]string {
	parts := strings.Split(u.jwt, ".")
	return map[string]string{"seed": u.seed, "JWT claims": parts[1], "JWT signature": parts[2]}
}

// write writes the credentials file at path, as an operator hands it out (mode 0600).
func (u natsUser) write(t *testing.T, path string) string {
	t.Helper()
	if err := os.WriteFile(path, u.file, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// natsOperator is the trust chain of a NATS deployment in operator (JWT) mode: an
// operator, its system account, and one account allowed JetStream with one user.
type natsOperator struct {
	claims   *jwt.OperatorClaims
	system   string            // the system account's public key
	accounts map[string]string // public key → account JWT
	user     natsUser
}

func newNATSOperator(t *testing.T) natsOperator {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	operator, err := nkeys.CreateOperator()
	must(err)
	operatorPub, err := operator.PublicKey()
	must(err)
	// account creates an account signed by the operator and returns its key and JWT.
	account := func(name string, js bool) (nkeys.KeyPair, string, string) {
		kp, err := nkeys.CreateAccount()
		must(err)
		pub, err := kp.PublicKey()
		must(err)
		ac := jwt.NewAccountClaims(pub)
		ac.Name = name
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		token, err := ac.Encode(operator)
		must(err)
		return kp, pub, token
	}
	_, sysPub, sysJWT := account("SYS", false)
	acct, acctPub, acctJWT := account("LCW", true)

	oc := jwt.NewOperatorClaims(operatorPub)
	oc.Name = "test-operator"
	oc.SystemAccount = sysPub
	// The server takes the claims as they come out of an operator JWT.
	token, err := oc.Encode(operator)
	must(err)
	oc, err = jwt.DecodeOperatorClaims(token)
	must(err)

	user, err := nkeys.CreateUser()
	must(err)
	userPub, err := user.PublicKey()
	must(err)
	uc := jwt.NewUserClaims(userPub)
	uc.Name = "lcwnotify"
	userJWT, err := uc.Encode(acct)
	must(err)
	seed, err := user.Seed()
	must(err)
	file, err := jwt.FormatUserConfig(userJWT, seed)
	must(err)
	return natsOperator{
		claims: oc, system: sysPub,
		accounts: map[string]string{sysPub: sysJWT, acctPub: acctJWT},
		user:     natsUser{jwt: userJWT, seed: string(seed), file: file},
	}
}

// startNATS starts a nats-server with JetStream on a random loopback port that trusts
// only this operator, with its accounts preloaded, and returns its client URL.
func (o natsOperator) startNATS(t *testing.T) string {
	t.Helper()
	resolver := &server.MemAccResolver{}
	for pub, token := range o.accounts {
		if err := resolver.Store(pub, token); err != nil {
			t.Fatal(err)
		}
	}
	s := startNATSServer(t, &server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{o.claims}, AccountResolver: resolver, SystemAccount: o.system,
	})
	return s.ClientURL()
}

// noNATSSecrets fails the test when s holds any part of the users' credentials.
func noNATSSecrets(t *testing.T, where, s string, users ...natsUser) {
	t.Helper()
	for _, u := range users {
		for name, secret := range u.secrets() {
			if strings.Contains(s, secret) {
				t.Errorf("%s holds a NATS user's %s", where, name)
			}
		}
	}
}

// TestCheckNATSCreds: check, configured from LCW_NATS_URL and LCW_NATS_CREDS, reaches a
// NATS server in operator (JWT) mode with a user credentials file and JetStream works
// for its account; without credentials, or with credentials the server cannot trust, it
// fails on one line saying what to look at. Neither the seed nor the JWT ever shows.
// Not parallel: load sets the environment.
func TestCheckNATSCreds(t *testing.T) {
	op := newNATSOperator(t)
	url := op.startNATS(t)
	stranger := newNATSOperator(t) // another deployment's operator, account and user
	// A file with this deployment's JWT but another user's seed: the server's nonce
	// signature does not match the JWT's public key.
	mismatched := natsUser{jwt: op.user.jwt, seed: stranger.user.seed,
		file: bytes.Replace(op.user.file, []byte(op.user.seed), []byte(stranger.user.seed), 1)}

	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		creds *natsUser // nil: LCW_NATS_CREDS unset
		ok    bool
		want  []string // in check's nats line
	}{
		{"user creds", &op.user, true, []string{"ok    nats       JetStream at " + url}},
		{"no creds", nil, false, []string{"FAIL  nats", "Authorization Violation", "LCW_NATS_CREDS"}},
		{"another operator's user", &stranger.user, false, []string{"FAIL  nats", "Authorization Violation", "LCW_NATS_CREDS"}},
		{"seed of another user", &mismatched, false, []string{"FAIL  nats", "Authorization Violation", "LCW_NATS_CREDS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"LCW_NATS_URL": url}
			if tc.creds != nil {
				vars["LCW_NATS_CREDS"] = tc.creds.write(t, filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".creds"))
			}
			cfg, err := load(t, vars)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			logs := &notifytest.Buffer{} // nats.go's callbacks log from their own goroutine
			log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c := &checker{w: &out}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			nc := c.checkNATS(ctx, cfg, log)
			got := out.String()
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("check's nats line lacks %q:\n%s", want, got)
				}
			}
			if (nc != nil) != tc.ok || c.failed == tc.ok {
				t.Errorf("checkNATS connected: %v, failed: %v; want connected %v", nc != nil, c.failed, tc.ok)
			}
			if nc != nil {
				// The account's JetStream takes the stream lcwnotify ensures at start.
				o := events.StreamOptions{Name: string(cfg.Stream), Prefix: string(cfg.SubjectPrefix)}
				if err := nc.ensureStream(ctx, o); err != nil {
					t.Fatalf("ensure the stream over the creds connection: %v", err)
				}
				if _, err := nc.js.Stream(ctx, string(cfg.Stream)); err != nil {
					t.Errorf("stream %s after ensureStream: %v", cfg.Events.Stream, err)
				}
				nc.close(ctx)
			}
			noNATSSecrets(t, "check's output and log", out.String()+logs.String(), op.user, stranger.user)
		})
	}
}

// TestNATSCredsRotated: a process whose credentials the server does not trust stays
// unready, saying why, and keeps retrying; once the file holds credentials the server
// trusts (rotated in place, as a secret mount is), it connects by itself and becomes
// ready. Its logs never hold either file's seed or JWT.
func TestNATSCredsRotated(t *testing.T) {
	t.Parallel()
	op := newNATSOperator(t)
	url := op.startNATS(t)
	stranger := newNATSOperator(t)
	creds := stranger.user.write(t, filepath.Join(t.TempDir(), "lcwnotify.creds"))

	env := baseEnv(t)
	delete(env, "LCW_DATA_DIR")
	env["LCW_NATS_URL"] = url
	env["LCW_NATS_CREDS"] = creds
	env["LCW_CONSOLE"] = "true"
	env["LCW_LOG_LEVEL"] = "debug"
	p := start(t, env, "notify")
	readyz := refusedUntil(t, p, func() { op.user.write(t, creds) })
	noNATSSecrets(t, "/readyz", readyz, op.user, stranger.user)
	noNATSSecrets(t, "the log", p.stderr.String()+p.stdout.String(), op.user, stranger.user)
}

// TestMalformedCredsRefusedAtStart: a file that is not a user's credentials is a bad
// setting (exit 2, a line naming LCW_NATS_CREDS and what the file lacks), not a process
// that starts and never becomes ready; the line never quotes the file.
func TestMalformedCredsRefusedAtStart(t *testing.T) {
	op := newNATSOperator(t)
	seedOnly := "-----BEGIN USER NKEY SEED-----\n" + op.user.seed + "\n------END USER NKEY SEED------\n"
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"the JWT alone", op.user.jwt + "\n", "holds no user seed"},
		{"the seed alone", seedOnly, "holds no user JWT"},
		{"a password", "S3CR3T-password\n", "holds no user JWT"},
		{"empty", "", "holds no user JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".creds")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := load(t, map[string]string{"LCW_NATS_URL": "nats://127.0.0.1:4222", "LCW_NATS_CREDS": path})
			ce, ok := asConfigError(err)
			if !ok || len(ce.problems) != 1 {
				t.Fatalf("loadConfig = %v, want one configuration error", err)
			}
			line := ce.problems[0]
			if !strings.HasPrefix(line, "LCW_NATS_CREDS: ") || !strings.Contains(line, tc.want) {
				t.Errorf("line %q, want LCW_NATS_CREDS saying it %s", line, tc.want)
			}
			if strings.Contains(line, "S3CR3T") {
				t.Errorf("line %q quotes the file", line)
			}
			noNATSSecrets(t, "the configuration error", line, op.user)
		})
	}
}

// TestCredsLackAcceptsOperatorFiles: credentials files as operators hand them out pass the
// check at load, whatever the line endings and the text around the two blocks, and a
// file whose seed is not a user's is refused (the server could not trust it).
func TestCredsLackAcceptsOperatorFiles(t *testing.T) {
	u := newNATSOperator(t).user
	file := string(u.file) // nsc's layout: the blocks with its warning text between them
	account, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	accountSeed, err := account.Seed()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content, want string
	}{
		{"as generated", file, ""},
		{"CRLF line endings", strings.ReplaceAll(file, "\n", "\r\n"), ""},
		{"no final newline", strings.TrimRight(file, "\n*"), ""},
		{"CRLF and no final newline", strings.TrimRight(strings.ReplaceAll(file, "\n", "\r\n"), "\r\n*"), ""},
		{"comments around", "# lcwnotify, production\n\n" + file + "\n# rotated monthly\n", ""},
		{"an account seed", strings.Replace(file, u.seed, string(accountSeed), 1), "user seed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := credsLack([]byte(tc.content)); got != tc.want {
				t.Errorf("credsLack = %q, want %q", got, tc.want)
			}
		})
	}
}
