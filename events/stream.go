package events

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream defaults. See docs/events.md for why each value was chosen.
const (
	// DefaultMaxAge keeps events as long as Graph keeps the results they describe (30 days),
	// so a subscriber that was away for weeks can still catch up.
	DefaultMaxAge = 30 * 24 * time.Hour
	// DefaultDuplicateWindow covers the longest plausible gap between the watcher publishing an
	// event and recording that it did: a crash, a node replaced overnight. Past it, the
	// notifiers' ledgers still recognise the id.
	DefaultDuplicateWindow = 24 * time.Hour
)

// StreamOptions describe the stream that stores change events and dead letters.
type StreamOptions struct {
	Name     string // LCW_STREAM
	Prefix   string // LCW_SUBJECT_PREFIX
	Replicas int    // 1 for the embedded server, 3 on a cluster
	// MaxAge, DuplicateWindow and MaxBytes default to DefaultMaxAge, DefaultDuplicateWindow and
	// no byte limit when zero.
	MaxAge          time.Duration
	DuplicateWindow time.Duration
	MaxBytes        int64
}

// StreamConfig returns the JetStream configuration for o.
func StreamConfig(o StreamOptions) (jetstream.StreamConfig, error) {
	if err := ValidateStreamName(o.Name); err != nil {
		return jetstream.StreamConfig{}, err
	}
	if err := ValidatePrefix(o.Prefix); err != nil {
		return jetstream.StreamConfig{}, err
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > 5 {
		return jetstream.StreamConfig{}, fmt.Errorf("%w: %d stream replicas: use 1 to 5", ErrInvalidConfig, o.Replicas)
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = DefaultDuplicateWindow
	}
	if o.DuplicateWindow > o.MaxAge {
		// JetStream refuses a duplicate window longer than the retention.
		o.DuplicateWindow = o.MaxAge
	}
	maxBytes := o.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	return jetstream.StreamConfig{
		Name:        o.Name,
		Description: "lcwnotify: Lifecycle Workflows status changes of results and workflows, actions, digests and notifier dead letters",
		Subjects:    []string{AllResults(o.Prefix), AllWorkflows(o.Prefix), AllActions(o.Prefix), AllDigests(o.Prefix), o.Prefix + ".dlq.>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		MaxAge:      o.MaxAge,
		MaxBytes:    maxBytes,
		Duplicates:  o.DuplicateWindow,
	}, nil
}

// EnsureStream creates the stream or brings an existing one to the configuration o
// describes. It is idempotent and safe to call from every replica at start.
func EnsureStream(ctx context.Context, js jetstream.JetStream, o StreamOptions) (jetstream.Stream, error) {
	cfg, err := StreamConfig(o)
	if err != nil {
		return nil, err
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create or update stream %s: %w", cfg.Name, err)
	}
	return s, nil
}
