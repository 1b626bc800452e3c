// Package httpfake scripts the failures that fake HTTP services in tests inject: the next
// n requests, or every request for a while, answered with a status, an error, or no answer
// at all.
package httpfake

import (
	"net/http"
	"sync"
	"time"
)

// Fault is a failure a fake injects into a request instead of serving it.
type Fault struct {
	// Status is the HTTP status to answer with (429, 500, 404…); 0 means 200.
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Error makes Slack answer HTTP 200 with {"ok":false,"error":Error}, as it does for
	// invalid_auth or channel_not_found. Incoming webhooks send it as the body.
	Error string
	// LoseResponse accepts the request (the message is recorded) and then drops the
	// connection without answering: the sender cannot know it was delivered.
	LoseResponse bool
	// Accepted records the message before answering with the fault, as Slack may: it
	// documents internal_error and fatal_error as possibly partly done, and a proxy's
	// 5xx can follow a post. Only a fake Slack's posts heed it.
	Accepted bool
}

// Script is a script of faults: the next n requests, or every request until a time.
type Script struct {
	mu    sync.Mutex
	next  []Fault
	until time.Time
	fault Fault
}

// FailNext queues f for the next n requests.
func (fs *Script) FailNext(n int, f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for range n {
		fs.next = append(fs.next, f)
	}
}

// FailFor applies f to every request for d (d ≤ 0 stops it).
func (fs *Script) FailFor(d time.Duration, f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.until, fs.fault = time.Now().Add(d), f
}

// Take returns the fault for the current request, if any.
func (fs *Script) Take() (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.next) > 0 {
		f := fs.next[0]
		fs.next = fs.next[1:]
		return f, true
	}
	if time.Now().Before(fs.until) {
		return fs.fault, true
	}
	return Fault{}, false
}

// DropConnection closes the client's connection without an answer.
func DropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
