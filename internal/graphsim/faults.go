package graphsim

import (
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"
)

// FaultKind is a way a Graph request can go wrong.
type FaultKind int

const (
	// FaultThrottle answers 429 TooManyRequests with Retry-After (seconds, possibly
	// fractional, such as "2.128"); a zero RetryAfter sends none.
	FaultThrottle FaultKind = iota + 1
	// FaultUnavailable answers 503 ServiceUnavailable, with Retry-After when RetryAfter
	// is set.
	FaultUnavailable
	// FaultGatewayTimeout answers 504 GatewayTimeout.
	FaultGatewayTimeout
	// FaultMalformed answers 200 with a JSON content type and a body that is not JSON.
	FaultMalformed
	// FaultTruncated sends the real response's headers (Content-Length included) and
	// half its body, then drops the connection. An answer without a body (an action's
	// 204) is dropped whole: the request was served, the client never learns it.
	FaultTruncated
	// FaultSlow waits Delay (or until the client gives up) before answering normally.
	FaultSlow
)

// String names the kind, for test output.
// String names the kind, for test output.
func (k FaultKind) String() string {
	switch k {
	case FaultThrottle:
		return "throttle"
	case FaultUnavailable:
		return "unavailable"
	case FaultGatewayTimeout:
		return "gatewayTimeout"
	case FaultMalformed:
		return "malformed"
	case FaultTruncated:
		return "truncated"
	case FaultSlow:
		return "slow"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault makes the next Times requests that match Op and Path fail as Kind says.
type Fault struct {
	// Op matches requests of one operation; empty matches all.
	Op Operation
	// Path, when set, is a path.Match pattern against the request path after the
	// version, e.g. "/identityGovernance/lifecycleWorkflows/workflows/*/runs".
	Path string
	Kind FaultKind
	// RetryAfter is the Retry-After header of FaultThrottle and FaultUnavailable.
	RetryAfter time.Duration
	// Delay is how long FaultSlow waits.
	Delay time.Duration
	// Times is how many matching requests fail; 0 means 1.
	Times int
}

// faultTable holds pending faults and the global throttle.
type faultTable struct {
	mu            sync.Mutex
	pending       []*Fault
	throttleUntil time.Time
}

// InjectFault queues f; faults are matched in the order they were injected, each
// request taking at most one.
func (s *Sim) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.pending = append(s.faults.pending, &f)
}

// ThrottleFor answers every request with 429 until d has passed on the simulator's
// clock; Retry-After tells the time left, fractional seconds included.
func (s *Sim) ThrottleFor(d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.throttleUntil = s.now().Add(d)
}

// ClearFaults drops pending faults and ends a ThrottleFor.
func (s *Sim) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.pending = nil
	s.faults.throttleUntil = time.Time{}
}

// PendingFaults returns how many injected faults have not fired yet.
func (s *Sim) PendingFaults() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	n := 0
	for _, f := range s.faults.pending {
		n += f.Times
	}
	return n
}

// take returns the fault for a request, if any, consuming one use.
func (s *Sim) takeFault(rt route) (Fault, bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if left := s.faults.throttleUntil.Sub(s.now()); left > 0 {
		return Fault{Kind: FaultThrottle, RetryAfter: left}, true
	}
	for i, f := range s.faults.pending {
		if f.Op != "" && f.Op != rt.op {
			continue
		}
		if f.Path != "" {
			if ok, _ := path.Match(f.Path, rt.rel); !ok {
				continue
			}
		}
		out := *f
		if f.Times--; f.Times == 0 {
			s.faults.pending = append(s.faults.pending[:i], s.faults.pending[i+1:]...)
		}
		return out, true
	}
	return Fault{}, false
}

// applyFault answers x with a fault if one matches; it reports whether it answered.
func (s *Sim) applyFault(x *exchange) bool {
	f, ok := s.takeFault(x.rt)
	if !ok {
		return false
	}
	switch f.Kind {
	case FaultThrottle:
		if f.RetryAfter > 0 {
			x.w.Header().Set("Retry-After", formatRetryAfter(f.RetryAfter))
		}
		x.writeError(&apiError{status: http.StatusTooManyRequests, code: "TooManyRequests",
			message: "Too many requests. Retry after the interval in the Retry-After header."})
	case FaultUnavailable:
		if f.RetryAfter > 0 {
			x.w.Header().Set("Retry-After", formatRetryAfter(f.RetryAfter))
		}
		x.writeError(&apiError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable",
			message: "The service is temporarily unavailable. Please retry later."})
	case FaultGatewayTimeout:
		x.writeError(&apiError{status: http.StatusGatewayTimeout, code: "GatewayTimeout",
			message: "The gateway did not receive a response from the backend service in time."})
	case FaultMalformed:
		x.setHeaders()
		body := []byte(`{"@odata.context":"` + x.baseURL() + `/$metadata#identityGovernance","value":[{"id":"` +
			x.requestID + `","processingStatus":,"subject":{]}`)
		x.w.Header().Set("Content-Type", contentType)
		x.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		x.w.WriteHeader(http.StatusOK)
		_, _ = x.w.Write(body)
	case FaultTruncated:
		buf := &bufferWriter{header: x.w.Header()}
		inner := *x
		inner.w = &countingWriter{ResponseWriter: buf}
		s.serve(&inner)
		body := buf.body.Bytes()
		if len(body) == 0 {
			panic(http.ErrAbortHandler) // nothing written: the connection just breaks
		}
		x.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		x.w.WriteHeader(buf.status)
		_, _ = x.w.Write(body[:len(body)/2])
		x.w.Flush()
		// Abort the response: net/http closes the connection without completing it.
		panic(http.ErrAbortHandler)
	case FaultSlow:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-x.r.Context().Done():
			return true
		}
		return false
	}
	return true
}

// formatRetryAfter writes seconds with up to three decimals ("2.128", "1").
func formatRetryAfter(d time.Duration) string {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}
