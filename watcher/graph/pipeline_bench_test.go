package graph_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/google/uuid"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// These benchmarks measure the HTTP side of the client against the Graph simulator on
// loopback, beside two baselines in the same run: plain net/http sending the same
// request, and azcore's stock pipeline (runtime.NewPipeline with its retry policy and
// a BearerTokenPolicy). They use the package's exported API only, so that the same
// file runs against an earlier version of the client for a before/after figure
// (docs/BENCHMARKS.md).

const benchToken = "bench-token"

// workflowsPath is a request every version of the client makes the same way: the
// workflow list of an empty tenant, an empty page, so that decoding costs nothing.
const workflowsPath = "/v1.0/identityGovernance/lifecycleWorkflows/workflows"

// stockPipeline is azcore's pipeline as an Azure SDK client builds it by default,
// with a bearer token from a static credential.
func stockPipeline(hc *http.Client) runtime.Pipeline {
	bearer := runtime.NewBearerTokenPolicy(graph.NewStaticCredential(benchToken), []string{"https://graph.microsoft.com/.default"},
		&policy.BearerTokenOptions{InsecureAllowCredentialWithHTTP: true})
	return runtime.NewPipeline("bench", "v1", runtime.PipelineOptions{PerRetry: []policy.Policy{bearer}},
		&policy.ClientOptions{Transport: hc})
}

func stockGet(ctx context.Context, pl runtime.Pipeline, url string) error {
	req, err := runtime.NewRequest(ctx, http.MethodGet, url)
	if err != nil {
		return err
	}
	req.Raw().Header.Set("Prefer", "include-unknown-enum-members")
	req.Raw().Header.Set("client-request-id", uuid.NewString())
	resp, err := pl.Do(req)
	if err != nil {
		return err
	}
	_, err = runtime.Payload(resp)
	return err
}

// BenchmarkGraphRequest: one GET through each path; req/s and allocations per request.
func BenchmarkGraphRequest(b *testing.B) {
	sim := graphsim.New(graphsim.Options{Token: benchToken})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	url := srv.URL + workflowsPath

	b.Run("net-http", func(b *testing.B) {
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+benchToken)
			req.Header.Set("Prefer", "include-unknown-enum-members")
			req.Header.Set("client-request-id", uuid.NewString())
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(resp.StatusCode, err)
			}
		}
		reportRate(b)
	})
	b.Run("azcore-stock", func(b *testing.B) {
		pl := stockPipeline(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}})
		b.ReportAllocs()
		for b.Loop() {
			if err := stockGet(b.Context(), pl, url); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
	b.Run("client", func(b *testing.B) {
		c, err := graph.New(graph.Options{BaseURL: srv.URL, Credential: graph.NewStaticCredential(benchToken), TenantID: "t"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.ListWorkflows(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// arrivals records when requests reach a handler and on which connection.
type arrivals struct {
	mu    sync.Mutex
	at    []time.Time
	conns []string
}

func (a *arrivals) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.at = append(a.at, time.Now())
		a.conns = append(a.conns, r.RemoteAddr)
		a.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (a *arrivals) reset() {
	a.mu.Lock()
	a.at, a.conns = nil, nil
	a.mu.Unlock()
}

// last2 returns the gap between the last two requests and whether they came on
// different connections.
func (a *arrivals) last2() (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := len(a.at)
	if n < 2 {
		return 0, false
	}
	return a.at[n-1].Sub(a.at[n-2]), a.conns[n-1] != a.conns[n-2]
}

// BenchmarkRetryAfter: Graph answers 429 (or 503) with a Retry-After, then the
// request again. Per op: the wait before the retry (wait-ms), whether the retry came
// before Retry-After allowed (early: 1), and whether it used a new connection
// (new-conn: 1). Run it with -benchtime 5x: each op waits for real.
func BenchmarkRetryAfter(b *testing.B) {
	cases := []struct {
		name       string
		kind       graphsim.FaultKind
		retryAfter time.Duration
	}{
		{"429-1.5s", graphsim.FaultThrottle, 1500 * time.Millisecond},
		{"429-0.2s", graphsim.FaultThrottle, 200 * time.Millisecond},
		{"503-0.05s", graphsim.FaultUnavailable, 50 * time.Millisecond},
	}
	for _, tc := range cases {
		sim := graphsim.New(graphsim.Options{Token: benchToken})
		var seen arrivals
		srv := httptest.NewServer(seen.wrap(sim))
		url := srv.URL + workflowsPath
		c, err := graph.New(graph.Options{BaseURL: srv.URL, Credential: graph.NewStaticCredential(benchToken), TenantID: "t"})
		if err != nil {
			b.Fatal(err)
		}
		pl := stockPipeline(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}})
		paths := map[string]func(ctx context.Context) error{
			"azcore-stock": func(ctx context.Context) error { return stockGet(ctx, pl, url) },
			"client":       func(ctx context.Context) error { _, err := c.ListWorkflows(ctx); return err },
		}
		for _, name := range []string{"azcore-stock", "client"} {
			get := paths[name]
			b.Run(tc.name+"/"+name, func(b *testing.B) {
				var wait time.Duration
				var early, newConn int
				for b.Loop() {
					if err := get(b.Context()); err != nil { // warm the connection
						b.Fatal(err)
					}
					seen.reset()
					sim.InjectFault(graphsim.Fault{Kind: tc.kind, RetryAfter: tc.retryAfter})
					if err := get(b.Context()); err != nil {
						b.Fatal(err)
					}
					gap, fresh := seen.last2()
					wait += gap
					if gap < tc.retryAfter {
						early++
					}
					if fresh {
						newConn++
					}
				}
				n := float64(b.N)
				b.ReportMetric(float64(wait.Milliseconds())/n, "wait-ms")
				b.ReportMetric(float64(early)/n, "early")
				b.ReportMetric(float64(newConn)/n, "new-conn")
			})
		}
		srv.Close()
	}
}
