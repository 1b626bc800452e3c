package harness

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
)

// Tap is a reverse proxy in front of a fake that lets a test act at the moment the fake
// has answered a request and before the answer reaches lcwnotify — to crash the process
// exactly between a Slack post and the ledger entry recording it, say.
type Tap struct {
	srv *httptest.Server

	mu   sync.Mutex
	hook func(req *http.Request, status int, body []byte)
}

// NewTap starts a proxy to target (a base URL such as a fake's). Close it when done.
func NewTap(target string) (*Tap, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("harness: tap: %w", err)
	}
	t := &Tap{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the client may be gone: that is the point
	rp.ModifyResponse = t.observe
	t.srv = httptest.NewServer(rp)
	return t, nil
}

// URL is the proxy's base URL; paths are forwarded unchanged.
func (t *Tap) URL() string { return t.srv.URL }

// Close stops the proxy.
func (t *Tap) Close() { t.srv.Close() }

// OnResponse sets the function called with each answer (its status and body) before it
// is relayed; nil removes it. The function runs on the proxy's goroutine for that
// request: the answer waits for it.
func (t *Tap) OnResponse(f func(req *http.Request, status int, body []byte)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hook = f
}

func (t *Tap) observe(resp *http.Response) error {
	t.mu.Lock()
	hook := t.hook
	t.mu.Unlock()
	if hook == nil {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	hook(resp.Request, resp.StatusCode, body)
	return nil
}
