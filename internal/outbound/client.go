package outbound

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Defaults of Options.
const (
	// DefaultTimeout bounds one request, from dialling to the last byte of the response
	// read: a backstop for callers whose context sets no deadline.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBody bounds the response body read: a destination answers a
	// notification with a status and a few words, and anything longer is not read.
	DefaultMaxBody = 64 << 10
)

// ErrBodyTooLarge is what reading a response body returns once it has gone past the
// client's MaxBody: the rest is never read.
var ErrBodyTooLarge = errors.New("outbound: the response body is larger than lcwnotify reads")

// Options configure NewClient.
type Options struct {
	// Timeout bounds one request including reading its response body; zero means
	// DefaultTimeout. A context deadline that comes sooner still ends it sooner.
	Timeout time.Duration
	// MaxBody is how many bytes of a response body may be read; zero means
	// DefaultMaxBody. Reading past it fails with ErrBodyTooLarge.
	MaxBody int64
	// AllowHTTP lets requests go in clear text to hosts other than this machine: the
	// destination's own setting (LCW_WEBHOOK_ALLOW_HTTP) said so.
	AllowHTTP bool
	// Transport sends the requests; nil means a clone of http.DefaultTransport (proxies
	// from the environment, HTTP/2, dial and TLS handshake timeouts). Tests pass an
	// httptest server's.
	Transport http.RoundTripper
}

// NewClient returns the HTTP client every destination posts with. It:
//
//   - refuses, before dialling, a request to a URL CheckURL refuses under AllowHTTP;
//   - follows no redirect: the 3xx response is returned to the caller, which treats it
//     as a refusal. A destination URL is configured exactly, and following would send
//     the body — with its signature, routing key or the URL's own credential — to a host
//     nobody configured, or turn a POST into a GET (301, 302, 303) and lose it;
//   - ends every request after Timeout, body included, so a receiver that accepts the
//     connection and never answers, or trickles its answer, cannot hold a delivery;
//   - reads at most MaxBody bytes of any response body, so an endless or huge answer
//     costs neither memory nor time, and when a body is closed drains what is left of
//     that allowance, so that the connection can be reused.
func NewClient(o Options) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{
		Transport:     &transport{base: base, maxBody: o.MaxBody, allowHTTP: o.AllowHTTP},
		Timeout:       o.Timeout,
		CheckRedirect: NoRedirects,
	}
}

// NoRedirects is the redirect policy of NewClient's clients: none is followed, and the
// caller sees the 3xx response.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// transport enforces the scheme rule on every request and bounds every response body.
type transport struct {
	base      http.RoundTripper
	maxBody   int64
	allowHTTP bool
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req.URL, t.allowHTTP); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, fmt.Errorf("outbound: refused before sending: %w", err)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.maxBody}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the base transport.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// limitedBody reads at most left more bytes of rc; past them, Read fails with
// ErrBodyTooLarge instead of reading on. Like any io.Reader it is not for concurrent
// use.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	err  error // sticky: ErrBodyTooLarge, once seen
}

// Read implements io.Reader.
func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		// At the limit: a body that ends here is whole; one byte more is too large.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			b.err = ErrBodyTooLarge
			return 0, b.err
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

// Close drains what is left of the allowance, so that a connection whose answer was
// not read to the end can be reused, then closes the body.
func (b *limitedBody) Close() error {
	if b.err == nil && b.left > 0 {
		_, _ = io.Copy(io.Discard, io.LimitReader(b.rc, b.left))
		b.left = 0
	}
	return b.rc.Close()
}
