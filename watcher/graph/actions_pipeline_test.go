package graph

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Tests of actions going through the pipeline as calls that are not idempotent: the
// token, challenge, metrics and request counting of the reads, and retries only where
// Graph cannot have acted.

// bodies records the bodies of the requests a handler received, whole.
type bodies struct {
	mu  sync.Mutex
	got []string
}

func (b *bodies) read(r *http.Request) {
	p, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.got = append(b.got, string(p))
	b.mu.Unlock()
}

func (b *bodies) list() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// TestActivateRevokedTokenGetsOneFreshToken runs the real credential against the
// authority's Guard: once the token is revoked, the activation is refused with a CAE
// claims challenge, sent once more with a fresh token and the same body, and
// activates once. A 401 is refused before Graph processes anything, so that second
// send cannot double the activation.
func TestActivateRevokedTokenGetsOneFreshToken(t *testing.T) {
	auth, cred := realCredential(t)
	var executed bodies
	srv := newFakeGraph(t, auth.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		executed.read(r)
		w.WriteHeader(http.StatusNoContent)
	})).ServeHTTP)
	c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })
	if err := c.Activate(t.Context(), "wf", []string{"u1"}); err != nil {
		t.Fatal(err)
	}
	auth.Revoke(auth.Tokens()[0])
	if err := c.Activate(t.Context(), "wf", []string{"u2"}); err != nil {
		t.Fatalf("activation after the revocation: %v", err)
	}
	want := []string{`{"subjects":[{"id":"u1"}]}`, `{"subjects":[{"id":"u2"}]}`}
	if got := executed.list(); !slices.Equal(got, want) {
		t.Errorf("activations executed = %q, want %q: each once", got, want)
	}
	reqs := srv.requests()
	tokens := auth.Tokens()
	if len(reqs) != 3 || len(tokens) != 2 || bearerToken(reqs[1].Header) != tokens[0] || bearerToken(reqs[2].Header) != tokens[1] {
		t.Errorf("%d requests with %d tokens, want 3: accepted, refused, then the fresh token", len(reqs), len(tokens))
	}
	assertNoSecret(t, tokens[0], c.logs.String())
}

// TestActivateRefusedTokenIsFailed: a fresh token refused as well ends the call after
// two requests; the users are Failed, not Unconfirmed (a 401 executes nothing), and
// Access names the activation's permission.
func TestActivateRefusedTokenIsFailed(t *testing.T) {
	var refusing atomic.Bool
	refusing.Store(true)
	srv := challengeGraph(t, plainChallenge, &refusing)
	cred := &mintingCredential{}
	c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })
	err := c.Activate(t.Context(), "wf", []string{"u1"})
	var ae *ActivationError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || !slices.Equal(ae.Failed, []string{"u1"}) || len(ae.Unconfirmed) != 0 {
		t.Fatalf("err = %#v, want ErrUnauthorized with u1 failed", err)
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("%d requests, want 2: the refused token and one fresh one", n)
	}
	var acc *AccessError
	if err := c.Access(); !errors.As(err, &acc) || acc.Permission != PermissionActivate || !slices.Equal(acc.Operations, []string{opActivate}) {
		t.Errorf("Access() = %v, want the 401 of activate naming %s", err, PermissionActivate)
	}
}

// TestActivateUnconfirmedOnceSent: what fails once the request went out is
// ErrUnconfirmed and never sent again, over HTTP/1 and HTTP/2; a 2xx whose answer
// is cut short is an activation.
func TestActivateUnconfirmedOnceSent(t *testing.T) {
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}
	stall := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	cutShort := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"va`))
	}
	tests := []struct {
		name        string
		http2       bool
		handler     http.HandlerFunc
		unconfirmed bool
	}{
		{"503 without Retry-After", false, graphError(503, "ServiceUnavailable"), true},
		{"504", true, graphError(504, "GatewayTimeout"), true},
		{"hang up after reading", false, hangUp, true},
		{"no answer within the request timeout", false, stall, true},
		{"no answer within the request timeout, HTTP/2", true, stall, true},
		{"accepted, answer cut short", false, cutShort, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var executed bodies
			h := func(w http.ResponseWriter, r *http.Request) {
				executed.read(r)
				tt.handler(w, r)
			}
			var srv *fakeGraph
			mod := func(o *Options) { o.RequestTimeout = 200 * time.Millisecond }
			if tt.http2 {
				srv = newFakeGraphTLS(t, true, h)
				mod = func(o *Options) { o.RequestTimeout, o.HTTPClient = 200*time.Millisecond, srv.Client() }
			} else {
				srv = newFakeGraph(t, h)
			}
			c := newTestClient(t, srv.URL, mod)
			err := c.Activate(t.Context(), "wf", []string{"u1", "u2"})
			var ae *ActivationError
			switch {
			case !tt.unconfirmed && err != nil:
				t.Fatalf("err = %v, want the activation accepted", err)
			case tt.unconfirmed && (!errors.Is(err, ErrUnconfirmed) || !errors.As(err, &ae) || len(ae.Unconfirmed) != 2):
				t.Fatalf("err = %v, want both users unconfirmed", err)
			}
			if got := executed.list(); len(got) != 1 || got[0] != `{"subjects":[{"id":"u1"},{"id":"u2"}]}` {
				t.Errorf("server received %q, want the activation once, whole", got)
			}
			if tt.http2 && srv.requests()[0].Proto != "HTTP/2.0" {
				t.Fatalf("request over %s: the case needs HTTP/2", srv.requests()[0].Proto)
			}
		})
	}
}

// TestActivateMetrics: an action is counted as reads are: every request by status,
// its retries by reason, and in the RequestCount of its context.
func TestActivateMetrics(t *testing.T) {
	srv := newFakeGraph(t, sequence(withHeader(graphError(429, "TooManyRequests"), "Retry-After", "0.01"),
		func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	c := newTestClient(t, srv.URL)
	var n RequestCount
	if err := c.Activate(WithRequestCount(t.Context(), &n), "wf", []string{"u1"}); err != nil {
		t.Fatal(err)
	}
	if n.Requests() != 2 || n.Throttled() != 1 {
		t.Errorf("RequestCount = %d requests, %d throttled; want 2, 1", n.Requests(), n.Throttled())
	}
	for _, code := range []string{"429", "204"} {
		if got := testutil.ToFloat64(c.metrics.requests.WithLabelValues(opActivate, code)); got != 1 {
			t.Errorf("requests{operation=activate,code=%s} = %v, want 1", code, got)
		}
	}
	if got := testutil.ToFloat64(c.metrics.retries.WithLabelValues(opActivate, "throttled")); got != 1 {
		t.Errorf("retries{operation=activate,reason=throttled} = %v, want 1", got)
	}
}
