package graph

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testToken is what the static credential of the test clients sends.
const testToken = "eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJ0ZW5hbnQtMSJ9.c2VjcmV0LXNpZ25hdHVyZQ"

// seen is one request as a fake Graph server received it.
type seen struct {
	Path, RawQuery string
	URI            string // RequestURI, as sent
	Proto          string
	Header         http.Header
	RemoteAddr     string
	At             time.Time
}

// fakeGraph is an httptest server with a handler per test and a record of requests.
type fakeGraph struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newFakeGraph(t *testing.T, h http.HandlerFunc) *fakeGraph {
	t.Helper()
	f := &fakeGraph{}
	f.Server = httptest.NewServer(f.record(h))
	t.Cleanup(f.Close)
	return f
}

// newFakeGraphTLS is newFakeGraph over TLS, with HTTP/2 when http2 is set; its
// Client trusts it.
func newFakeGraphTLS(t *testing.T, http2 bool, h http.HandlerFunc) *fakeGraph {
	t.Helper()
	f := &fakeGraph{}
	f.Server = httptest.NewUnstartedServer(f.record(h))
	f.EnableHTTP2 = http2
	f.StartTLS()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGraph) record(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Path: r.URL.Path, RawQuery: r.URL.RawQuery, URI: r.RequestURI, Proto: r.Proto,
			Header: r.Header.Clone(), RemoteAddr: r.RemoteAddr, At: time.Now()})
		f.mu.Unlock()
		h(w, r)
	}
}

func (f *fakeGraph) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// serveFile answers with testdata/name.
func serveFile(t *testing.T, name string) http.HandlerFunc {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return serveBody(http.StatusOK, string(b))
}

func serveBody(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// logBuffer collects a logger's output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testClient is a client of a fake server with captured logs and its own metrics.
type testClient struct {
	*Client
	logs *logBuffer
	reg  *prometheus.Registry
}

func newTestClient(t *testing.T, baseURL string, mod ...func(*Options)) testClient {
	t.Helper()
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	o := Options{
		BaseURL:        baseURL,
		Credential:     NewStaticCredential(testToken),
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:        NewMetrics(reg),
		RequestTimeout: 5 * time.Second,
		MaxRetryTime:   5 * time.Second,
	}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = backoff{base: 10 * time.Millisecond, max: 50 * time.Millisecond}
	return testClient{Client: c, logs: logs, reg: reg}
}

// dateRange is a valid filter for lists that need one.
var dateRange = Query{Filter: Between("completedDateTime",
	time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC))}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// assertNoSecret fails when any of the texts contains secret.
func assertNoSecret(t *testing.T, secret string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("secret %q leaked into %q", secret, s)
		}
	}
}
