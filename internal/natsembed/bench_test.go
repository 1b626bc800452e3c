package natsembed_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkStart measures what every lcwnotify process pays for the embedded server
// before it can work: start, connect in-process, first JetStream call, shut down.
// "fresh" starts on an empty store, "existing" on one holding a stream of 10,000 events,
// "listening" on an empty store with a subscriber listener (its account, a new key
// file, the gate's connection).
func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	cycle := func(b *testing.B, dir string) {
		startWith(b, natsembed.Options{Dir: dir})
	}
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dir := b.TempDir()
			b.StartTimer()
			cycle(b, dir)
		}
	})
	b.Run("existing", func(b *testing.B) {
		dir := b.TempDir()
		s, err := natsembed.Start(ctx, natsembed.Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		nc, _ := s.Connect()
		js, _ := jetstream.New(nc)
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LCW", Subjects: []string{"lcw.>"}}); err != nil {
			b.Fatal(err)
		}
		payload := make([]byte, 1200) // about one failure event
		for i := 0; i < 10000; i++ {
			if _, err := js.PublishAsync("lcw.result.wf.failed", payload); err != nil {
				b.Fatal(err)
			}
		}
		<-js.PublishAsyncComplete()
		nc.Close()
		s.Shutdown()
		for b.Loop() {
			cycle(b, dir)
		}
	})
	b.Run("listening", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dir := b.TempDir()
			b.StartTimer()
			startWith(b, natsembed.Options{Dir: dir, Listen: "127.0.0.1:0", Subscribers: natsembed.Subscribers{
				Stream: "LCW", Prefix: "lcw", ReservedConsumerPrefix: "LCW-", ReservedConsumers: []string{"LCW-slack"},
				NKeyFile: filepath.Join(dir, "subscriber.nk"), CreateNKey: true,
			}})
		}
	})
}

// startWith starts a server as o says, connects in-process, makes a first JetStream
// call and shuts down: what a process pays before it can work.
func startWith(b *testing.B, o natsembed.Options) {
	ctx := context.Background()
	s, err := natsembed.Start(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	nc, err := s.Connect()
	if err != nil {
		b.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.AccountInfo(ctx); err != nil {
		b.Fatal(err)
	}
	nc.Close()
	s.Shutdown()
}
