package notify

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Health is what a Stage knows of how its destination is doing, for a status page.
type Health struct {
	// Sink names the destination kind.
	Sink string
	// LastSuccess is when a message was last taken; LastError and LastErrorAt the last
	// failure (free of secrets), zero when none since the start.
	LastSuccess time.Time
	LastError   string
	LastErrorAt time.Time
	// Queued counts the notifications waiting in this process for their key's pace.
	Queued int
	// Keys are the destination keys seen since the start, with their own state.
	Keys []KeyHealth
}

// KeyHealth is one destination key's state in this process.
type KeyHealth struct {
	Key string
	// Queued counts what waits for the key; HeldUntil is the end of the pace or
	// Retry-After window that holds it, zero when free.
	Queued    int
	HeldUntil time.Time
}

// health is what a Stage records of its destination's answers.
type health struct {
	mu          sync.Mutex
	lastSuccess time.Time
	lastError   string
	lastErrorAt time.Time
}

func (h *health) record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.lastSuccess = time.Now()
		return
	}
	h.lastError, h.lastErrorAt = err.Error(), time.Now()
}

// Health reports the destination's state as this process sees it.
func (s *Stage) Health() Health {
	s.health.mu.Lock()
	h := Health{Sink: s.name, LastSuccess: s.health.lastSuccess, LastError: s.health.lastError, LastErrorAt: s.health.lastErrorAt}
	s.health.mu.Unlock()
	s.mu.Lock()
	queues := make([]*keyQueue, 0, len(s.keys))
	for _, q := range s.keys {
		queues = append(queues, q)
	}
	s.mu.Unlock()
	for _, q := range queues {
		q.mu.Lock()
		k := KeyHealth{Key: q.key, Queued: len(q.items)}
		if time.Now().Before(q.notBefore) {
			k.HeldUntil = q.notBefore
		}
		q.mu.Unlock()
		h.Queued += k.Queued
		h.Keys = append(h.Keys, k)
	}
	slices.SortFunc(h.Keys, func(a, b KeyHealth) int { return strings.Compare(a.Key, b.Key) })
	return h
}

// Health reports the destination's state as this process sees it.
func (d *Dispatcher) Health() Health { return d.stage.Health() }
