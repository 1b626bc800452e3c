package watcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StoredState is what the watchers of a stream keep in their bucket, as a status page
// shows it: who polls, and how far each workflow got. Any process can read it, whether
// it watches or not.
type StoredState struct {
	// Holder names the replica holding the polling lease (its LCW_INSTANCE), "" when none
	// does; Renewed is when it last renewed the lease, on its own clock.
	Holder  string    `json:"holder,omitempty"`
	Renewed time.Time `json:"renewed,omitzero"`
	// Workflows are the workflows the watchers have polled, by id.
	Workflows []StoredWorkflow `json:"workflows"`
}

// StoredWorkflow is one workflow's progress.
type StoredWorkflow struct {
	ID string `json:"id"`
	// LastPoll is when the last poll of the workflow that succeeded started; zero before
	// the first.
	LastPoll time.Time `json:"lastPoll,omitzero"`
}

// ReadState reads the state bucket of stream without changing it. A stream whose
// watcher never started has an empty state.
func ReadState(ctx context.Context, js jetstream.JetStream, stream string) (StoredState, error) {
	var st StoredState
	kv, err := js.KeyValue(ctx, BucketName(stream))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("watcher: open %s: %w", BucketName(stream), err)
	}
	switch e, err := kv.Get(ctx, leaseKey); {
	case err == nil:
		var v leaseValue
		if json.Unmarshal(e.Value(), &v) == nil {
			st.Holder, st.Renewed = v.Holder, v.Renewed
		}
	case !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyDeleted):
		return st, fmt.Errorf("watcher: read the lease: %w", err)
	}
	keys, err := kv.ListKeysFiltered(ctx, markPrefix+">")
	if err != nil {
		return st, fmt.Errorf("watcher: list workflows: %w", err)
	}
	defer keys.Stop()
	for key := range keys.Keys() {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // forgotten meanwhile
		}
		if err != nil {
			return st, fmt.Errorf("watcher: read %s: %w", key, err)
		}
		var m mark
		if json.Unmarshal(e.Value(), &m) != nil || m.WorkflowID == "" {
			id, err := dec(strings.TrimPrefix(key, markPrefix))
			if err != nil {
				continue
			}
			m.WorkflowID = id
		}
		st.Workflows = append(st.Workflows, StoredWorkflow{ID: m.WorkflowID, LastPoll: m.Watermark})
	}
	slices.SortFunc(st.Workflows, func(a, b StoredWorkflow) int { return strings.Compare(a.ID, b.ID) })
	return st, nil
}
