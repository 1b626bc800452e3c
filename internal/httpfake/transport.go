package httpfake

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// Counting is a client transport that counts the requests it sends and the response
// body bytes read through it: what a client really took off the network, for tests that
// bound it.
type Counting struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper

	requests atomic.Int64
	read     atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (c *Counting) RoundTrip(req *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	base := c.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	return resp, nil
}

// Requests is how many requests were sent.
func (c *Counting) Requests() int64 { return c.requests.Load() }

// BodyBytes is how many response body bytes were read.
func (c *Counting) BodyBytes() int64 { return c.read.Load() }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// DialTo returns a transport that connects to addr whatever host a request names, so
// that a request to http://hooks.example/ reaches a loopback test server through the
// real network stack.
func DialTo(addr string) *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
}

// Stall returns a handler that reads the request, then never answers: it returns when
// the client hangs up or done is closed. Close done before closing the server, which
// waits for its handlers.
func Stall(done <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client hang up
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}
