package natsembed_test

import (
	"path/filepath"
	"testing"

	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/nats-io/nats.go"
)

// listening returns options for a server with a loopback listener on a free port whose
// subscribers read the stream LCW (subjects lcw.…), with a key generated in the store
// directory, as lcwnotify configures it.
func listening(t *testing.T) natsembed.Options {
	t.Helper()
	dir := t.TempDir()
	return natsembed.Options{Dir: dir, Listen: "127.0.0.1:0", Subscribers: natsembed.Subscribers{
		Stream: "LCW", Prefix: "lcw", ReservedConsumerPrefix: "LCW-", ReservedConsumers: []string{"LCW-slack"},
		NKeyFile: filepath.Join(dir, "subscriber.nk"), CreateNKey: true,
	}}
}

func withListen(o natsembed.Options, addr string) natsembed.Options {
	o.Listen = addr
	return o
}

func withPrefix(o natsembed.Options, prefix string) natsembed.Options {
	o.Subscribers.Prefix = prefix
	return o
}

func withKey(o natsembed.Options, file string, create bool) natsembed.Options {
	o.Subscribers.NKeyFile, o.Subscribers.CreateNKey = file, create
	return o
}

// subscriberKey is the option that authenticates a client with the subscribers' seed.
func subscriberKey(t *testing.T, o natsembed.Options) nats.Option {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(o.Subscribers.NKeyFile)
	if err != nil {
		t.Fatalf("subscriber seed: %v", err)
	}
	return opt
}
