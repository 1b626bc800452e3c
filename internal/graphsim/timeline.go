package graphsim

import (
	"container/heap"
	"math"
	"sync/atomic"
)

// The timeline holds what the simulated service does by itself as its clock moves:
// scheduled runs starting at nextScheduleRunDateTime and planned results moving from
// queued to inProgress to their outcome. Nothing runs in the background: every request
// and every scenario call first applies the events that became due on Options.Now, in
// order of their timestamps, each at its own timestamp. A test that drives a manual
// Clock therefore sees exactly what a poller at that instant would see, however far it
// jumped, and the simulator needs no goroutine, timer or sleep.

// timedEvent is one thing due at a time; seq keeps events of the same time in the
// order they were scheduled.
type timedEvent struct {
	at  stamp
	seq uint64
	do  func(at stamp)
}

type eventHeap []timedEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(timedEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// timeline is the event queue. events and seq are guarded by Sim.mu; due mirrors the
// earliest event's time (math.MaxInt64 when there is none) so that a request can tell
// without the lock that nothing is due, which is the common case.
type timeline struct {
	events eventHeap
	seq    uint64
	due    atomic.Int64
}

func (t *timeline) init() { t.due.Store(math.MaxInt64) }

// at schedules do at the given time. Callers hold s.mu for writing.
func (s *Sim) at(when stamp, do func(at stamp)) {
	s.tl.seq++
	heap.Push(&s.tl.events, timedEvent{at: when, seq: s.tl.seq, do: do})
	s.tl.due.Store(int64(s.tl.events[0].at))
}

// catchUp applies every event due by now. Callers must not hold s.mu.
func (s *Sim) catchUp() {
	now := s.stampNow()
	if stamp(s.tl.due.Load()) > now {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runDue(now)
}

// runDue applies the events due by now, including those they schedule in turn.
// Callers hold s.mu for writing.
func (s *Sim) runDue(now stamp) {
	for len(s.tl.events) > 0 && s.tl.events[0].at <= now {
		e := heap.Pop(&s.tl.events).(timedEvent)
		e.do(e.at)
	}
	if len(s.tl.events) == 0 {
		s.tl.due.Store(math.MaxInt64)
		return
	}
	s.tl.due.Store(int64(s.tl.events[0].at))
}

// lock takes s.mu for writing after applying what is due: scenario calls see the
// tenant as of now.
func (s *Sim) lock() {
	s.mu.Lock()
	s.runDue(s.stampNow())
}

// rlock takes s.mu for reading after applying what is due.
func (s *Sim) rlock() {
	s.catchUp()
	s.mu.RLock()
}
