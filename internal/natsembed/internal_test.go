package natsembed

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestInternalUserInProcessOnly: lcwnotify's own user, with every permission, is refused
// over the network even with its key: only the in-process pipe admits it.
func TestInternalUserInProcessOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Start(context.Background(), Options{Dir: dir, Listen: "127.0.0.1:0", Subscribers: Subscribers{
		Stream: "LCW", Prefix: "lcw", NKeyFile: filepath.Join(dir, "subscriber.nk"), CreateNKey: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	pub, _ := s.internal.PublicKey()
	nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub, s.internal.Sign), nats.MaxReconnects(0))
	if err == nil {
		nc.Close()
		t.Fatal("lcwnotify's in-process user connected over TCP")
	}
	if !strings.Contains(err.Error(), "Authorization Violation") {
		t.Errorf("error = %v, want an authorization violation", err)
	}
	in, err := s.Connect()
	if err != nil {
		t.Fatalf("in-process: %v", err)
	}
	in.Close()
}

func TestValidSubjectPrefix(t *testing.T) {
	t.Parallel()
	for prefix, want := range map[string]bool{
		"lcw": true, "acme.lcw": true, "lcw-prod_1": true,
		"": false, "_INBOX": false, "_INBOX.x": false, "_R_": false, "$SYS": false, "$JS": false,
		"a..b": false, "lcw.>": false, "lcw.*": false, "a b": false, ".lcw": false,
	} {
		if got := validSubjectPrefix(prefix); got != want {
			t.Errorf("validSubjectPrefix(%q) = %v, want %v", prefix, got, want)
		}
	}
}
