package graphsim

import "sync"

// Stats counts the requests the simulator answered and the response body bytes it
// sent, in total and per operation.
type Stats struct {
	Requests int64
	Bytes    int64
	ByOp     map[Operation]OpStats
}

// OpStats counts one operation's requests.
type OpStats struct {
	Requests int64
	// Listings counts the requests that were no next page ($skiptoken): each listing
	// once, however many pages it took.
	Listings int64
	Bytes    int64
	// Errors counts responses with a status of 400 or more (faults included).
	Errors int64
}

type statsTable struct {
	mu sync.Mutex
	s  Stats
}

func (t *statsTable) init() { t.s = Stats{ByOp: make(map[Operation]OpStats)} }

func (t *statsTable) record(op Operation, w *countingWriter, nextPage bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.Requests++
	t.s.Bytes += w.n
	o := t.s.ByOp[op]
	o.Requests++
	if !nextPage {
		o.Listings++
	}
	o.Bytes += w.n
	if w.status >= 400 {
		o.Errors++
	}
	t.s.ByOp[op] = o
}

// Stats returns a copy of the counters.
func (s *Sim) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := Stats{Requests: s.stats.s.Requests, Bytes: s.stats.s.Bytes, ByOp: make(map[Operation]OpStats, len(s.stats.s.ByOp))}
	for k, v := range s.stats.s.ByOp {
		out.ByOp[k] = v
	}
	return out
}

// ResetStats zeroes the counters.
func (s *Sim) ResetStats() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.init()
}
