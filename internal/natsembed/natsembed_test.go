package natsembed_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func start(t *testing.T, o natsembed.Options) *natsembed.Server {
	t.Helper()
	s, err := natsembed.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t *testing.T, s *natsembed.Server) jetstream.JetStream {
	t.Helper()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestInProcessJetStreamSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := start(t, natsembed.Options{Dir: dir})
	if got := s.ClientURL(); got != "" {
		t.Errorf("ClientURL = %q without Listen, want no listener", got)
	}
	js := connect(t, s)
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.a", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Info(ctx); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	s.Shutdown() // idempotent

	s2 := start(t, natsembed.Options{Dir: dir})
	js2 := connect(t, s2)
	st2, err := js2.Stream(ctx, "T")
	if err != nil {
		t.Fatalf("stream lost across restart: %v", err)
	}
	m, err := st2.GetMsg(ctx, 1)
	if err != nil || string(m.Data) != "kept" {
		t.Fatalf("message after restart = %v, %v; want \"kept\"", m, err)
	}
}

func TestStoreLockedWhileRunning(t *testing.T) {
	dir := t.TempDir()
	s := start(t, natsembed.Options{Dir: dir})
	_, err := natsembed.Start(context.Background(), natsembed.Options{Dir: dir})
	if !errors.Is(err, natsembed.ErrStoreLocked) {
		t.Fatalf("second Start on the same store = %v, want ErrStoreLocked", err)
	}
	s.Shutdown()
	start(t, natsembed.Options{Dir: dir}) // released on shutdown
}

func TestListener(t *testing.T) {
	o := listening(t)
	s := start(t, o)
	url := s.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Fatalf("ClientURL = %q, want a loopback nats URL", url)
	}
	nc, err := nats.Connect(url, subscriberKey(t, o))
	if err != nil {
		t.Fatalf("connect over TCP: %v", err)
	}
	defer nc.Close()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestLimitsApplied(t *testing.T) {
	s := start(t, natsembed.Options{Dir: t.TempDir(), MaxMemory: 8 << 20, MaxStore: 16 << 20})
	js := connect(t, s)
	ctx := context.Background()
	// The server reserves what a stream asks for: one asking for more than the store
	// limit must be refused, one inside it accepted.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BIG", Subjects: []string{"big"}, MaxBytes: 64 << 20}); err == nil {
		t.Errorf("a 64 MiB stream was accepted by a server limited to 16 MiB of store")
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SMALL", Subjects: []string{"small"}, MaxBytes: 8 << 20}); err != nil {
		t.Errorf("an 8 MiB stream was refused by a server with 16 MiB of store: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "MEM", Subjects: []string{"mem"}, Storage: jetstream.MemoryStorage, MaxBytes: 32 << 20}); err == nil {
		t.Errorf("a 32 MiB memory stream was accepted by a server limited to 8 MiB of memory")
	}
}

func TestStartErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    natsembed.Options
		want string
	}{
		{"no dir", natsembed.Options{}, "store directory not set"},
		{"dir is a file", natsembed.Options{Dir: file}, "create store directory"},
		{"bad listen", withListen(listening(t), "127.0.0.1"), "listen address"},
		{"bad port", withListen(listening(t), "127.0.0.1:99999"), "port must be"},
		{"listener without stream", natsembed.Options{Dir: t.TempDir(), Listen: "127.0.0.1:0"}, "subscribers' stream"},
		{"listener with inbox prefix", withPrefix(listening(t), "_INBOX"), "cannot be exported"},
		{"listener with system prefix", withPrefix(listening(t), "$SYS"), "cannot be exported"},
		{"listener without key", withKey(listening(t), "", false), "nkey file"},
		{"listener with missing key", withKey(listening(t), filepath.Join(t.TempDir(), "absent.nk"), false), "read nkey file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := natsembed.Start(context.Background(), tt.o)
			if err == nil {
				s.Shutdown()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestListenConflictIsAnError(t *testing.T) {
	s := start(t, listening(t))
	addr := strings.TrimPrefix(s.ClientURL(), "nats://")
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	o := withListen(listening(t), addr)
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s2, err := natsembed.Start(ctx, o)
	if err == nil {
		s2.Shutdown()
		t.Fatal("second server on a taken port started")
	}
	if !strings.Contains(err.Error(), "listen") {
		t.Errorf("error = %q, want it to say the port could not be listened on", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the server's failure was not logged as an error:\n%s", logs.String())
	}
}
