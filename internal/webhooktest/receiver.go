// Package webhooktest is a webhook receiver for tests: it verifies Standard Webhooks
// signatures, records every delivery and can be told to fail.
package webhooktest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/notify/webhook"
)

// Receiver is a webhook endpoint that verifies Standard Webhooks signatures and records
// every delivery, valid or not.
type Receiver struct {
	srv    *httptest.Server
	secret string
	faults httpfake.Script

	mu         sync.Mutex
	deliveries []Delivery
	requests   int
}

// Delivery is one request a Receiver got.
type Delivery struct {
	ID, Timestamp, Signature string
	ContentType              string
	Body                     []byte
	// Verified is nil when the signature and timestamp check out.
	Verified error
	// Event is the decoded CloudEvent, nil when the body is not one.
	Event    *events.Event
	Received time.Time
}

// NewReceiver starts a receiver that verifies with secret (whsec_…). Close it when done.
func NewReceiver(secret string) *Receiver {
	r := &Receiver{secret: secret}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// Close shuts the receiver down.
func (r *Receiver) Close() { r.srv.Close() }

// URL is where to send webhooks (LCW_WEBHOOK_URL). Its path holds a token, as many
// receivers' URLs do, so tests can check it never leaks.
func (r *Receiver) URL() string { return r.srv.URL + "/hooks/lcw?token=" + URLToken }

// URLToken is the secret part of a Receiver's URL.
const URLToken = "rcv-4f1c2b9a7e"

// FailNext answers the next n deliveries with f (after verifying and recording them).
func (r *Receiver) FailNext(n int, f httpfake.Fault) { r.faults.FailNext(n, f) }

// FailFor answers every delivery with f for d.
func (r *Receiver) FailFor(d time.Duration, f httpfake.Fault) { r.faults.FailFor(d, f) }

// Requests counts every request, refused or processed.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Deliveries returns every request the receiver processed (answered 2xx, or processed and
// then lost the response), in order; requests refused by an injected fault are not.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.deliveries)
}

// Count returns how many requests carried webhook-id id, as a receiver that does not
// deduplicate would process them.
func (r *Receiver) Count(id string) int {
	n := 0
	for _, d := range r.Deliveries() {
		if d.ID == id {
			n++
		}
	}
	return n
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 4<<20))
	d := Delivery{
		ID:          req.Header.Get(webhook.HeaderID),
		Timestamp:   req.Header.Get(webhook.HeaderTimestamp),
		Signature:   req.Header.Get(webhook.HeaderSignature),
		ContentType: req.Header.Get("Content-Type"),
		Body:        body,
		Verified:    webhook.Verify(r.secret, req.Header, body, webhook.DefaultTolerance, time.Now()),
		Received:    time.Now(),
	}
	if ev, err := events.Decode(body); err == nil {
		d.Event = ev
	}
	f, faulty := r.faults.Take()
	r.mu.Lock()
	r.requests++
	if !faulty || f.LoseResponse {
		// Processed: a refused request is not.
		r.deliveries = append(r.deliveries, d)
	}
	r.mu.Unlock()
	switch {
	case faulty && f.LoseResponse:
		httpfake.DropConnection(w)
	case faulty:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(max(f.Status, 400))
		_, _ = w.Write([]byte(f.Error))
	case d.Verified != nil:
		http.Error(w, "bad signature", http.StatusUnauthorized)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
