package harness

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// StartNATS starts a nats-server with JetStream in this process, on a random loopback
// port, storing in dir, for programs without a *testing.T (tests use events/eventstest,
// which can also restart it). Shut it down when done.
func StartNATS(dir string) (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{
		Host:               "127.0.0.1",
		Port:               -1,
		JetStream:          true,
		StoreDir:           dir,
		JetStreamMaxMemory: 256 << 20,
		JetStreamMaxStore:  8 << 30,
		NoSigs:             true,
		NoLog:              true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("nats server not ready within 10s")
	}
	return ns, nil
}
