package natsembed_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// TestSubscriberKeyReusedAcrossRestarts: the key generated on the first start is kept,
// owner-only, and the next start admits the same subscribers with it.
func TestSubscriberKeyReusedAcrossRestarts(t *testing.T) {
	t.Parallel()
	o := listening(t)
	s := start(t, o)
	first := s.SubscriberKey
	if !s.SubscriberKeyCreated {
		t.Error("first start: key not reported as created")
	}
	fi, err := os.Stat(o.Subscribers.NKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", got)
	}
	seed, err := os.ReadFile(o.Subscribers.NKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()

	s2 := start(t, o)
	if s2.SubscriberKey != first || s2.SubscriberKeyCreated {
		t.Errorf("second start: key %s (created %v), want %s reused", s2.SubscriberKey, s2.SubscriberKeyCreated, first)
	}
	again, _ := os.ReadFile(o.Subscribers.NKeyFile)
	if string(again) != string(seed) {
		t.Error("the key file was rewritten on the second start")
	}
	nc, err := nats.Connect(s2.ClientURL(), subscriberKey(t, o))
	if err != nil {
		t.Fatalf("subscriber with the first start's key: %v", err)
	}
	nc.Close()
	leftovers, _ := filepath.Glob(filepath.Join(o.Dir, ".subscriber.nk.tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary key files left behind: %v", leftovers)
	}
}

func TestExposedSeedRefused(t *testing.T) {
	t.Parallel()
	o := listening(t)
	if _, _, err := natsembed.LoadOrCreateNKeyFile(o.Subscribers.NKeyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(o.Subscribers.NKeyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := natsembed.Start(context.Background(), o)
	if err == nil {
		s.Shutdown()
		t.Fatal("started with a world-readable seed")
	}
	if !errors.Is(err, natsembed.ErrKeyFileExposed) || !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("error = %v, want ErrKeyFileExposed naming the mode and the fix", err)
	}
	seed, _ := os.ReadFile(o.Subscribers.NKeyFile)
	if strings.Contains(err.Error(), strings.TrimSpace(string(seed))) {
		t.Error("the error quotes the seed")
	}
	// The store is not left locked by the failed start.
	if err := os.Chmod(o.Subscribers.NKeyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, o)
}

// TestPublicKeyFile: an operator who keeps the seed with the subscriber gives the server
// the public key only; such a file may be world-readable.
func TestPublicKeyFile(t *testing.T) {
	t.Parallel()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	dir := t.TempDir()
	pubFile, seedFile := filepath.Join(dir, "subscriber.pub"), filepath.Join(dir, "mine.nk")
	if err := os.WriteFile(pubFile, []byte(pub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	o := withKey(listening(t), pubFile, false)
	s := start(t, o)
	if s.SubscriberKey != pub || s.SubscriberKeyCreated {
		t.Errorf("SubscriberKey = %s (created %v), want %s from the file", s.SubscriberKey, s.SubscriberKeyCreated, pub)
	}
	nc, err := nats.Connect(s.ClientURL(), subscriberKey(t, withKey(o, seedFile, false)))
	if err != nil {
		t.Fatalf("subscriber holding the seed: %v", err)
	}
	nc.Close()
}

func TestReadNKeyFile(t *testing.T) {
	t.Parallel()
	user, _ := nkeys.CreateUser()
	userSeed, _ := user.Seed()
	userPub, _ := user.PublicKey()
	acct, _ := nkeys.CreateAccount()
	acctSeed, _ := acct.Seed()
	acctPub, _ := acct.PublicKey()
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string // the public key, or part of the error
		wantErr bool
	}{
		{"seed", string(userSeed) + "\n", 0o600, userPub, false},
		{"seed read-only", string(userSeed), 0o400, userPub, false},
		{"public key", "  " + userPub + "\n", 0o644, userPub, false},
		{"group-readable seed", string(userSeed), 0o640, "readable by group or others", true},
		{"account seed", string(acctSeed), 0o600, "holds no user nkey", true},
		{"account public key", acctPub, 0o644, "holds no user nkey", true},
		{"damaged seed", string(userSeed[:len(userSeed)-3]) + "AAA", 0o600, "no valid user seed", true},
		{"empty", "", 0o600, "holds no user nkey", true},
		{"a password", "hunter2", 0o600, "holds no user nkey", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			got, err := natsembed.ReadNKeyFile(path)
			switch {
			case tt.wantErr && err == nil:
				t.Fatalf("ReadNKeyFile = %s, want an error mentioning %q", got, tt.want)
			case tt.wantErr && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error = %v, want it to mention %q", err, tt.want)
			case !tt.wantErr && (err != nil || got != tt.want):
				t.Errorf("ReadNKeyFile = %s, %v; want %s", got, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), string(userSeed)) {
				t.Error("the error quotes the seed")
			}
		})
	}
	if _, err := natsembed.ReadNKeyFile(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}
