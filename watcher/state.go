package watcher

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Keys of the state bucket. Graph ids are opaque strings, so they are base64url-encoded
// (no padding) to make valid key tokens whatever they contain.
const (
	leaseKey     = "lease"
	globalKey    = "global"
	markPrefix   = "wm."
	resultPrefix = "r."
	statePrefix  = "ws."
	digestKey    = "digest"
)

// markerTTL is how long the bucket keeps the marker a purged key leaves behind. Without
// a TTL every result the watcher ever forgot would leave a marker forever, and the bucket
// would grow with history after all.
const markerTTL = time.Hour

// BucketName returns the name of the watcher's state bucket for the stream named stream.
func BucketName(stream string) string { return stream + "-watcher" }

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func dec(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}

func markKey(workflowID string) string { return markPrefix + enc(workflowID) }

func stateKey(workflowID string) string { return statePrefix + enc(workflowID) }

func resultKey(workflowID, resultID string) string {
	return resultPrefix + enc(workflowID) + "." + enc(resultID)
}

// ensureBucket creates the state bucket or brings it to the configuration below. It is
// idempotent: every replica calls it at start.
func ensureBucket(ctx context.Context, js jetstream.JetStream, stream string, replicas int) (jetstream.KeyValue, error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         BucketName(stream),
		Description:    "lcwnotify watcher: per-workflow watermarks, the last status of active userProcessingResults, the polling lease",
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       replicas,
		LimitMarkerTTL: markerTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("create or update key-value bucket %s: %w", BucketName(stream), err)
	}
	return kv, nil
}

// record is what the watcher remembers of one userProcessingResult: enough to diff the
// next observation, to fetch the result alone when no list returns it, and to know when
// it may be forgotten.
type record struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId,omitempty"`
	// Status is the processingStatus last recorded, as Graph sent it. Empty only for an
	// entry that could not be decoded: it is then treated as never seen.
	Status string `json:"status"`
	// FinalAt is, for a result in a final status, when it reached it: completedDateTime,
	// or the stand-in finalTime chooses when Graph sent none. Zero while not final.
	FinalAt time.Time `json:"finalAt,omitzero"`
	// Seen is when the watcher recorded this status.
	Seen time.Time `json:"seen"`

	rev uint64 // the entry's revision, for compare-and-set
}

// mark is a workflow's progress.
type mark struct {
	WorkflowID string `json:"workflowId"`
	// Floor: a result that reached a final status before it, and that the watcher does not
	// track, is never announced. It is set once, when the workflow is first seen: the
	// lookback on the very first start, the last workflow listing after that.
	Floor time.Time `json:"floor"`
	// Watermark is when the last poll of the workflow that completed started; zero before
	// the first.
	Watermark time.Time `json:"watermark,omitzero"`
	// Runs holds the lastUpdatedDateTime of runs whose results were listed, while they are
	// inside the poll window, so that a run is listed again only when it changed.
	Runs map[string]time.Time `json:"runs,omitempty"`

	rev uint64
}

// global is the watcher's own progress, across workflows.
type global struct {
	// Started is the first start: the lookback applies to workflows seen then, and to
	// those it missed while Listed is zero.
	Started time.Time `json:"started"`
	// Listed is when the last complete workflow listing started; zero until the first.
	// A workflow first seen later is announced from Listed − overlap: it appeared since.
	Listed time.Time `json:"listed"`

	rev uint64
}

// flow is the state of one workflow. A poll handles each flow in one goroutine; mu
// guards results against the writers that goroutine starts.
type flow struct {
	id      string
	mark    *mark     // nil until created
	wstate  *wfRecord // the workflow's state, nil until recorded
	mu      sync.Mutex
	results map[string]*record
}

func newFlow(id string) *flow { return &flow{id: id, results: make(map[string]*record)} }

func (f *flow) get(id string) *record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.results[id]
}

func (f *flow) set(r *record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[r.ID] = r
}

// snapshot returns the records of f, for iterating while writers change f.
func (f *flow) snapshot() []*record {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*record, 0, len(f.results))
	for _, r := range f.results {
		out = append(out, r)
	}
	return out
}

func (f *flow) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.results, id)
}

// errConflict reports that another watcher changed an entry since it was read. The
// in-memory state is stale: it is reloaded before the next poll, which re-diffs.
var errConflict = errors.New("state changed by another watcher")

func isConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// state is the watcher's view of the bucket. The bucket is the truth; the view is
// loaded when a watcher starts polling (at start, on becoming the leader, after a
// conflict) and kept current by the watcher's own compare-and-set writes.
type state struct {
	kv  jetstream.KeyValue
	log *slog.Logger

	mu     sync.Mutex
	global *global
	flows  map[string]*flow
	loaded bool
	stale  bool
}

func newState(kv jetstream.KeyValue, log *slog.Logger) *state {
	return &state{kv: kv, log: log, flows: make(map[string]*flow)}
}

// invalidate makes the next poll reload the state.
func (s *state) invalidate() {
	s.mu.Lock()
	s.stale = true
	s.mu.Unlock()
}

// needsLoad reports whether the view must be reloaded before a poll: never loaded, a
// write failed, or another watcher polled since (every complete poll rewrites the global
// entry, so one read of it tells).
func (s *state) needsLoad(ctx context.Context) (bool, error) {
	s.mu.Lock()
	stale := !s.loaded || s.stale
	var rev uint64
	if s.global != nil {
		rev = s.global.rev
	}
	s.mu.Unlock()
	if stale {
		return true, nil
	}
	e, err := s.kv.Get(ctx, globalKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		return rev != 0, nil
	case err != nil:
		return false, fmt.Errorf("read state: %w", err)
	}
	return e.Revision() != rev, nil
}

// flow returns the state of workflow id, creating an empty one.
func (s *state) flow(id string) *flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flows[id]
	if f == nil {
		f = newFlow(id)
		s.flows[id] = f
	}
	return f
}

// tracked returns how many results the state holds.
func (s *state) tracked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.flows {
		f.mu.Lock()
		n += len(f.results)
		f.mu.Unlock()
	}
	return n
}

// load replaces the view with the bucket's content, read in one pass.
func (s *state) load(ctx context.Context) error {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	defer w.Stop()
	var g *global
	flows := make(map[string]*flow)
	flowOf := func(id string) *flow {
		f := flows[id]
		if f == nil {
			f = newFlow(id)
			flows[id] = f
		}
		return f
	}
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return fmt.Errorf("load state: %w", ctx.Err())
		}
		if e == nil { // every entry present at the start has been delivered
			break
		}
		key := e.Key()
		switch {
		case key == globalKey:
			g = &global{}
			if err := json.Unmarshal(e.Value(), g); err != nil {
				s.log.Warn("unreadable watcher state entry: it will be overwritten", "key", key, "err", err)
				g = &global{}
			}
			g.rev = e.Revision()
		case strings.HasPrefix(key, markPrefix):
			wf, err := dec(strings.TrimPrefix(key, markPrefix))
			if err != nil || wf == "" {
				s.log.Warn("ignoring a watcher state entry with an unknown key", "key", key)
				continue
			}
			m := &mark{}
			if err := json.Unmarshal(e.Value(), m); err != nil {
				// Keep the revision so the entry is overwritten, not fought over; a zero
				// floor and watermark make the workflow start over from the last listing.
				s.log.Warn("unreadable watcher state entry: it will be overwritten", "key", key, "err", err)
				m = &mark{}
			}
			m.WorkflowID, m.rev = wf, e.Revision()
			flowOf(wf).mark = m
		case strings.HasPrefix(key, statePrefix):
			wf, err := dec(strings.TrimPrefix(key, statePrefix))
			if err != nil || wf == "" {
				s.log.Warn("ignoring a watcher state entry with an unknown key", "key", key)
				continue
			}
			r := &wfRecord{}
			if err := json.Unmarshal(e.Value(), r); err != nil {
				// Overwritten at the next poll; until then the workflow's state counts as
				// never seen, so its stopped state is announced again (same ids: stored once).
				s.log.Warn("unreadable watcher state entry: it will be overwritten", "key", key, "err", err)
				r = &wfRecord{}
			}
			r.WorkflowID, r.rev = wf, e.Revision()
			if r.Enabled == nil && r.Quarantine == nil {
				r = &wfRecord{WorkflowID: wf, rev: r.rev}
			}
			flowOf(wf).wstate = r
		case strings.HasPrefix(key, resultPrefix):
			wfEnc, idEnc, ok := strings.Cut(strings.TrimPrefix(key, resultPrefix), ".")
			wf, err1 := dec(wfEnc)
			id, err2 := dec(idEnc)
			if !ok || err1 != nil || err2 != nil || wf == "" || id == "" {
				s.log.Warn("ignoring a watcher state entry with an unknown key", "key", key)
				continue
			}
			f := flowOf(wf)
			r := &record{}
			if err := json.Unmarshal(e.Value(), r); err != nil {
				s.log.Warn("unreadable watcher state entry: the result will be treated as never seen", "key", key, "err", err)
				r = &record{}
			}
			r.ID, r.WorkflowID, r.rev = id, f.id, e.Revision()
			r.Status = internStatus(r.Status)
			f.results[id] = r
		}
	}
	s.mu.Lock()
	s.global, s.flows, s.loaded, s.stale = g, flows, true, false
	s.mu.Unlock()
	return nil
}

// put writes v at key with compare-and-set against rev (0: the key must not exist) and
// returns the new revision.
func (s *state) put(ctx context.Context, key string, v any, rev uint64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	if rev == 0 {
		rev, err = s.kv.Create(ctx, key, b)
	} else {
		rev, err = s.kv.Update(ctx, key, b, rev)
	}
	if err != nil {
		// Whatever the error, the write may have been applied (a timeout while NATS was
		// away, the request flushed when it came back): reload before trusting the view.
		s.invalidate()
		if isConflict(err) {
			return 0, fmt.Errorf("write %s: %w: %w", key, errConflict, err)
		}
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return rev, nil
}

// saveResult records r (whose rev is the revision it replaces) in the bucket and in f.
// When another watcher wrote the entry first, the stored entry is read back: if it
// records the same status the work was already done and it is adopted; otherwise f
// takes the stored entry and the error wraps errConflict, so the next poll diffs
// against what the other watcher recorded.
func (s *state) saveResult(ctx context.Context, f *flow, r *record) error {
	key := resultKey(f.id, r.ID)
	rev, err := s.put(ctx, key, r, r.rev)
	if err == nil {
		r.rev = rev
		f.set(r)
		return nil
	}
	if !errors.Is(err, errConflict) {
		return err
	}
	e, gerr := s.kv.Get(ctx, key)
	if gerr != nil {
		if errors.Is(gerr, jetstream.ErrKeyNotFound) || errors.Is(gerr, jetstream.ErrKeyDeleted) {
			f.remove(r.ID)
		}
		return err
	}
	stored := &record{}
	if json.Unmarshal(e.Value(), stored) != nil {
		stored = &record{}
	}
	stored.ID, stored.WorkflowID, stored.rev = r.ID, f.id, e.Revision()
	stored.Status = internStatus(stored.Status)
	f.set(stored)
	if stored.Status == r.Status {
		return nil
	}
	return err
}

// dropResult forgets r, in the bucket and in f.
func (s *state) dropResult(ctx context.Context, f *flow, r *record) error {
	err := s.kv.Purge(ctx, resultKey(f.id, r.ID), jetstream.LastRevision(r.rev), jetstream.PurgeTTL(markerTTL))
	if err != nil {
		s.invalidate()
		if isConflict(err) {
			return fmt.Errorf("forget result %s: %w: %w", r.ID, errConflict, err)
		}
		return fmt.Errorf("forget result %s: %w", r.ID, err)
	}
	f.remove(r.ID)
	return nil
}

// saveMark records m as f's mark.
func (s *state) saveMark(ctx context.Context, f *flow, m *mark) error {
	rev, err := s.put(ctx, markKey(f.id), m, m.rev)
	if err != nil {
		return err
	}
	m.rev = rev
	f.mark = m
	return nil
}

// saveWFState records r as f's workflow state. When another watcher wrote it first and
// recorded the same state, its entry is adopted; otherwise f takes the stored entry and
// the error wraps errConflict, so the next poll diffs against it.
func (s *state) saveWFState(ctx context.Context, f *flow, r *wfRecord) error {
	key := stateKey(f.id)
	rev, err := s.put(ctx, key, r, r.rev)
	if err == nil {
		r.rev = rev
		f.wstate = r
		return nil
	}
	if !errors.Is(err, errConflict) {
		return err
	}
	e, gerr := s.kv.Get(ctx, key)
	if gerr != nil {
		return err
	}
	stored := &wfRecord{}
	if json.Unmarshal(e.Value(), stored) != nil {
		stored = &wfRecord{}
	}
	stored.WorkflowID, stored.rev = f.id, e.Revision()
	f.wstate = stored
	if sameState(stored, r) {
		return nil
	}
	return err
}

// saveGlobal records g.
func (s *state) saveGlobal(ctx context.Context, g *global) error {
	rev, err := s.put(ctx, globalKey, g, g.rev)
	if err != nil {
		return err
	}
	g.rev = rev
	s.mu.Lock()
	s.global = g
	s.mu.Unlock()
	return nil
}

// forgetFlow removes every entry of workflow f: it is no longer listed and its window has
// passed, so nothing of it can be read from Graph any more.
func (s *state) forgetFlow(ctx context.Context, f *flow) error {
	for _, r := range f.snapshot() {
		if err := s.dropResult(ctx, f, r); err != nil {
			return err
		}
	}
	if r := f.wstate; r != nil && r.rev != 0 {
		err := s.kv.Purge(ctx, stateKey(f.id), jetstream.LastRevision(r.rev), jetstream.PurgeTTL(markerTTL))
		if err != nil {
			s.invalidate()
			return fmt.Errorf("forget workflow %s: %w", f.id, err)
		}
		f.wstate = nil
	}
	if m := f.mark; m != nil {
		err := s.kv.Purge(ctx, markKey(f.id), jetstream.LastRevision(m.rev), jetstream.PurgeTTL(markerTTL))
		if err != nil {
			s.invalidate()
			return fmt.Errorf("forget workflow %s: %w", f.id, err)
		}
	}
	s.mu.Lock()
	delete(s.flows, f.id)
	s.mu.Unlock()
	return nil
}

// internStatus returns the shared copy of a documented status, so that records do not
// each hold their own.
func internStatus(s string) string {
	for _, known := range knownStatuses {
		if s == known {
			return known
		}
	}
	return s
}
