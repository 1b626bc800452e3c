package status

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// scanBatch is how many messages one pull of a scan asks for.
const scanBatch = 256

// scan reads the stream's messages that cfg selects, from where cfg starts to the last
// one stored when it ends, and hands each to fn. It uses an ordered consumer, which the
// server forgets once it is done, and reads without acknowledging anything. It returns
// the sequence of the last message read, 0 when none.
func scan(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, fn func(jetstream.Msg) error) (uint64, error) {
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return 0, fmt.Errorf("read the stream %s: %w", stream, err)
	}
	var last uint64
	for {
		batch, err := cons.FetchNoWait(scanBatch)
		if err != nil {
			return last, fmt.Errorf("read the stream %s: %w", stream, err)
		}
		n := 0
		done := false
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			last = meta.Sequence.Stream
			if err := fn(msg); err != nil {
				return last, err
			}
			done = meta.NumPending == 0
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return last, fmt.Errorf("read the stream %s: %w", stream, err)
		}
		if done || n == 0 {
			return last, ctx.Err()
		}
	}
}
