package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

const emptyPage = `{"value":[]}`

// sequence answers the n-th request with handlers[n], the last one from then on.
func sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		handlers[min(i, len(handlers)-1)](w, r)
	}
}

func withHeader(h http.HandlerFunc, kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		h(w, r)
	}
}

func graphError(status int, code string) http.HandlerFunc {
	return serveBody(status, fmt.Sprintf(`{"error":{"code":%q,"message":"it failed","innerError":{`+
		`"date":"2024-05-01T10:00:00","request-id":"req-%d","client-request-id":"from-body"}}}`, code, status))
}

// TestRetryAfterFractional: a 429 with Retry-After 0.35 is retried, never before 0.35 s
// after the 429 was sent, and the wait is counted as throttled time.
func TestRetryAfterFractional(t *testing.T) {
	var mu sync.Mutex
	var sent429 time.Time
	srv := newFakeGraph(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0.35")
			mu.Lock()
			sent429 = time.Now()
			mu.Unlock()
			graphError(http.StatusTooManyRequests, "TooManyRequests")(w, r)
		},
		serveBody(200, emptyPage),
	))
	c := newTestClient(t, srv.URL)
	if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	mu.Lock()
	gap := reqs[1].At.Sub(sent429)
	mu.Unlock()
	if gap < 350*time.Millisecond {
		t.Errorf("retried %v after the 429, want at least Retry-After 0.35s", gap)
	}
	if got := testutil.ToFloat64(c.metrics.throttled); got < 0.35 {
		t.Errorf("throttled seconds = %v, want >= 0.35", got)
	}
	if got := testutil.ToFloat64(c.metrics.requests.WithLabelValues(opListResults, "429")); got != 1 {
		t.Errorf("requests{code=429} = %v, want 1", got)
	}
	if !strings.Contains(c.logs.String(), "graph request retried") || !strings.Contains(c.logs.String(), "throttled=true") {
		t.Errorf("no debug line about the throttling:\n%s", c.logs)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"2.128", 2128 * time.Millisecond, true},
		{"3", 3 * time.Second, true},
		{" 0.0000001 ", time.Microsecond / 10, true},
		{"0", 0, true},
		{"Wed, 01 May 2024 10:00:07 GMT", 7 * time.Second, true},
		{"Wed, 01 May 2024 09:00:00 GMT", 0, true},
		{"99999999999", maxRetryAfter, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1e3", 0, false},
		{"Inf", 0, false},
		{"NaN", 0, false},
		{"0x10", 0, false},
		{"1.2.3", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestRetryOnNewConnection: 503, 504 (and other retried 5xx) are retried on a new
// connection, which the server sees as another remote port; a success keeps the
// connection (the control that shows the test can tell).
func TestRetryOnNewConnection(t *testing.T) {
	for _, status := range []int{503, 504, 500, 502} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newFakeGraph(t, sequence(
				serveBody(200, emptyPage),
				withHeader(graphError(status, "serviceUnavailable"), "Retry-After", "0.01"),
				serveBody(200, emptyPage),
				serveBody(200, emptyPage),
			))
			c := newTestClient(t, srv.URL)
			for range 2 {
				if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
				t.Fatal(err)
			}
			r := srv.requests()
			if len(r) != 4 {
				t.Fatalf("got %d requests, want 4", len(r))
			}
			if r[0].RemoteAddr != r[1].RemoteAddr {
				t.Errorf("a success did not keep its connection (%s, %s): the test cannot tell", r[0].RemoteAddr, r[1].RemoteAddr)
			}
			if r[2].RemoteAddr == r[1].RemoteAddr {
				t.Errorf("retry after %d reused connection %s, want a new one", status, r[1].RemoteAddr)
			}
			if r[3].RemoteAddr != r[2].RemoteAddr {
				t.Errorf("connection not kept after the retry succeeded")
			}
		})
	}
}

// TestRetryConnectionErrors: a connection closed mid-request and an attempt that
// outlives RequestTimeout are both retried.
func TestRetryConnectionErrors(t *testing.T) {
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	stall := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	for name, first := range map[string]http.HandlerFunc{"hang up": hangUp, "attempt timeout": stall} {
		t.Run(name, func(t *testing.T) {
			srv := newFakeGraph(t, sequence(first, serveBody(200, `{"value":[{"id":"a","processingStatus":"failed"}]}`)))
			c := newTestClient(t, srv.URL, func(o *Options) { o.RequestTimeout = 200 * time.Millisecond })
			got, err := c.ListResults(t.Context(), "wf", dateRange)
			if err != nil || len(got) != 1 {
				t.Fatalf("ListResults() = %v, %v; want one result after a retry", got, err)
			}
			if n := testutil.ToFloat64(c.metrics.requests.WithLabelValues(opListResults, "error")); n < 1 {
				t.Errorf("requests{code=error} = %v, want the failed attempt counted", n)
			}
		})
	}
}

// TestRetryBudget: throttling without end ends with ErrThrottled once MaxRetryTime is
// spent; a Retry-After beyond the budget ends it at once; server errors end with the
// last *Error.
func TestRetryBudget(t *testing.T) {
	t.Run("429 forever", func(t *testing.T) {
		srv := newFakeGraph(t, withHeader(graphError(429, "TooManyRequests"), "Retry-After", "0.1"))
		c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryTime = 350 * time.Millisecond })
		_, err := c.ListResults(t.Context(), "wf", dateRange)
		if !errors.Is(err, ErrThrottled) {
			t.Fatalf("err = %v, want ErrThrottled", err)
		}
		var ge *Error
		if !errors.As(err, &ge) || ge.StatusCode != 429 || ge.RequestID != "req-429" {
			t.Errorf("err = %v, want it to carry the last Graph error", err)
		}
		if n := len(srv.requests()); n < 2 || n > 4 {
			t.Errorf("%d requests within a 350ms budget at 100ms apart, want 2 to 4", n)
		}
	})
	t.Run("Retry-After beyond budget", func(t *testing.T) {
		srv := newFakeGraph(t, withHeader(graphError(503, "ServiceUnavailable"), "Retry-After", "600"))
		c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryTime = time.Minute })
		if _, err := c.ListResults(t.Context(), "wf", dateRange); !errors.Is(err, ErrThrottled) {
			t.Fatalf("err = %v, want ErrThrottled", err)
		}
		if n := len(srv.requests()); n != 1 {
			t.Errorf("%d requests, want 1: waiting 600s cannot fit a 1m budget", n)
		}
	})
	t.Run("504 forever", func(t *testing.T) {
		srv := newFakeGraph(t, graphError(504, "GatewayTimeout"))
		c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryTime = 200 * time.Millisecond })
		_, err := c.ListResults(t.Context(), "wf", dateRange)
		var ge *Error
		if !errors.As(err, &ge) || ge.StatusCode != 504 || errors.Is(err, ErrThrottled) {
			t.Fatalf("err = %v, want the 504 *Error, not ErrThrottled", err)
		}
		if n := len(srv.requests()); n < 2 {
			t.Errorf("%d requests, want retries", n)
		}
	})
}

// TestRetryAfterZeroBacksOff: a server that keeps answering 429 with "Retry-After: 0"
// is not asked again at once for the whole retry budget, but backed off from.
func TestRetryAfterZeroBacksOff(t *testing.T) {
	for _, ra := range []string{"0", "Wed, 01 May 2024 10:00:00 GMT"} {
		t.Run(ra, func(t *testing.T) {
			srv := newFakeGraph(t, withHeader(graphError(429, "TooManyRequests"), "Retry-After", ra))
			c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryTime = 300 * time.Millisecond })
			if _, err := c.ListResults(t.Context(), "wf", dateRange); !errors.Is(err, ErrThrottled) {
				t.Fatalf("err = %v, want ErrThrottled", err)
			}
			// The test backoff waits up to 10, 20, 40 and then 50 ms: a few dozen
			// requests at most in 300 ms; at once, it would be hundreds.
			if n := len(srv.requests()); n > 100 {
				t.Errorf("%d requests in a 300ms budget: Retry-After %q was taken as no wait at all", n, ra)
			}
		})
	}
}

// TestCancelStopsWaiting: ctx ending interrupts a Retry-After wait.
func TestCancelStopsWaiting(t *testing.T) {
	srv := newFakeGraph(t, withHeader(graphError(429, "TooManyRequests"), "Retry-After", "30"))
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryTime = time.Hour })
	ctx := ctxTimeout(t, 200*time.Millisecond)
	start := time.Now()
	_, err := c.ListResults(ctx, "wf", dateRange)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("returned after %v: the 30s wait ignored ctx", d)
	}
	if got := testutil.ToFloat64(c.metrics.throttled); got <= 0 || got > 10 {
		t.Errorf("throttled seconds = %v, want the time actually waited", got)
	}
}

func TestGraphErrors(t *testing.T) {
	tests := []struct {
		status   int
		code     string
		sentinel error
	}{
		{404, "ResourceNotFound", ErrNotFound},
		{403, "Authorization_RequestDenied", ErrForbidden},
		{401, "InvalidAuthenticationToken", ErrUnauthorized},
		{400, "BadRequest", nil},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			srv := newFakeGraph(t, withHeader(graphError(tt.status, tt.code), "request-id", "from-header"))
			c := newTestClient(t, srv.URL)
			_, err := c.GetResult(t.Context(), "wf", "run", "res")
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("err = %v, want *Error", err)
			}
			want := Error{Operation: opGetResult, StatusCode: tt.status, Code: tt.code, Message: "it failed",
				RequestID: fmt.Sprintf("req-%d", tt.status), ClientRequestID: "from-body", Date: "2024-05-01T10:00:00"}
			if *ge != want {
				t.Errorf("error = %+v, want %+v", *ge, want)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
			}
			for _, s := range []error{ErrNotFound, ErrForbidden, ErrUnauthorized} {
				if s != tt.sentinel && errors.Is(err, s) {
					t.Errorf("errors.Is(%v, %v) = true", err, s)
				}
			}
			for _, part := range []string{tt.code, "req-" + fmt.Sprint(tt.status), "from-body"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("%q lacks %q", err.Error(), part)
				}
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("%d requests, want 1: %d is not retried", n, tt.status)
			}
		})
	}
	t.Run("not Graph's shape", func(t *testing.T) {
		srv := newFakeGraph(t, withHeader(serveBody(404, "<html>nope</html>"), "request-id", "from-header"))
		c := newTestClient(t, srv.URL)
		_, err := c.GetResult(t.Context(), "wf", "", "res")
		var ge *Error
		if !errors.As(err, &ge) || ge.RequestID != "from-header" || ge.ClientRequestID == "" || !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %#v, want a 404 *Error with the header request-id and our client-request-id", err)
		}
	})
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestRequestHeaders: every attempt carries the token, Prefer and a fresh
// client-request-id.
func TestRequestHeaders(t *testing.T) {
	srv := newFakeGraph(t, sequence(withHeader(graphError(429, "x"), "Retry-After", "0"), serveBody(200, emptyPage)))
	c := newTestClient(t, srv.URL, func(o *Options) { o.UserAgent = "lcwnotify/test" })
	if _, err := c.ListRuns(t.Context(), "wf", Query{Filter: Between("startedDateTime", t0, t1)}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, r := range srv.requests() {
		h := r.Header
		if got := h.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("request %d Authorization = %q", i, got)
		}
		if got := h.Get("Prefer"); got != "include-unknown-enum-members" {
			t.Errorf("request %d Prefer = %q", i, got)
		}
		if got := h.Get("User-Agent"); got != "lcwnotify/test" {
			t.Errorf("request %d User-Agent = %q", i, got)
		}
		id := h.Get("client-request-id")
		if !uuidRE.MatchString(id) || ids[id] {
			t.Errorf("request %d client-request-id = %q: want a fresh UUID", i, id)
		}
		ids[id] = true
	}
}

// TestTokenNeverInErrorsOrLogs: a server that echoes the Authorization header into its
// error message does not get the token into the error or the logs.
func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			graphErrorMsg(status, r.Header.Get("Authorization"))(w, r)
		}
	}
	for _, status := range []int{400, 429, 503} {
		srv := newFakeGraph(t, withHeader(echo(status), "Retry-After", "0.01"))
		c := newTestClient(t, srv.URL, func(o *Options) { o.MaxRetryTime = 50 * time.Millisecond })
		_, err := c.ListResults(t.Context(), "wf", dateRange)
		if err == nil {
			t.Fatal("want an error")
		}
		assertNoSecret(t, testToken, err.Error(), fmt.Sprintf("%+v", err), c.logs.String())
		if !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("error %q: want the echoed token redacted", err)
		}
	}
}

func graphErrorMsg(status int, msg string) http.HandlerFunc {
	return serveBody(status, fmt.Sprintf(`{"error":{"code":"x","message":%q}}`, msg))
}

func TestNoRequestForInvalidQuery(t *testing.T) {
	srv := newFakeGraph(t, serveBody(200, emptyPage))
	c := newTestClient(t, srv.URL)
	calls := map[string]func() error{
		"results without range": func() error { _, err := c.ListResults(t.Context(), "wf", Query{}); return err },
		"run results without range": func() error {
			_, err := c.ListRunResults(t.Context(), "wf", "run", Query{Filter: Where("processingStatus", Eq, "failed")})
			return err
		},
		"runs with undocumented filter": func() error {
			_, err := c.ListRuns(t.Context(), "wf", Query{Filter: dateRange.Filter.And(Where("totalUsersCount", Gt, 1))})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("%s: err = %v, want ErrInvalidQuery", name, err)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid queries, want 0", n)
	}
}

// TestTLSAndNoRedirects: a caller's HTTP client (here one trusting a test certificate)
// is used, and a redirect is never followed, so the token cannot be carried elsewhere.
func TestTLSAndNoRedirects(t *testing.T) {
	foreign := newFakeGraph(t, serveBody(200, emptyPage))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/runs") {
			http.Redirect(w, r, foreign.URL+"/v1.0/stolen", http.StatusFound)
			return
		}
		serveBody(200, pageJSON("", item("a", "failed")))(w, r)
	}))
	t.Cleanup(srv.Close)
	hc := srv.Client()
	c := newTestClient(t, srv.URL, func(o *Options) { o.HTTPClient = hc })
	if got, err := c.ListResults(t.Context(), "wf", dateRange); err != nil || len(got) != 1 {
		t.Fatalf("ListResults() over TLS = %v, %v", got, err)
	}
	_, err := c.ListRuns(t.Context(), "wf", Query{Filter: Between("startedDateTime", t0, t1)})
	var ge *Error
	if !errors.As(err, &ge) || ge.StatusCode != http.StatusFound {
		t.Errorf("err = %v, want the 302 as an error", err)
	}
	if n := len(foreign.requests()); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	if hc.CheckRedirect != nil {
		t.Error("New changed the caller's http.Client")
	}
}

// TestRetryOnNewConnectionHTTP2: over HTTP/2, where concurrent requests share one
// connection, a retry after a 503 still goes out on a new connection, although another
// request keeps the old one busy (so it is never idle).
func TestRetryOnNewConnectionHTTP2(t *testing.T) {
	held := make(chan struct{})
	release := make(chan struct{})
	var holds, lists atomic.Int64
	var srv *fakeGraph
	srv = newFakeGraphTLS(t, true, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/userProcessingResults/") { // GetResult: the busy stream
			if holds.Add(1) == 1 {
				close(held)
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
			serveFile(t, "seed_get_result.json")(w, r)
			return
		}
		if lists.Add(1) == 1 {
			withHeader(graphError(503, "serviceUnavailable"), "Retry-After", "0.01")(w, r)
			return
		}
		serveBody(200, emptyPage)(w, r)
	})
	c := newTestClient(t, srv.URL, func(o *Options) { o.HTTPClient = srv.Client() })
	busy := make(chan error, 1)
	go func() {
		_, err := c.GetResult(t.Context(), "wf", "", "res")
		busy <- err
	}()
	<-held
	if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-busy; err != nil {
		t.Fatalf("the request that kept the connection busy: %v", err)
	}
	var list []seen
	for _, r := range srv.requests() {
		if r.Header.Get("Prefer") == "" || r.Proto != "HTTP/2.0" {
			t.Fatalf("request over %s: the test needs HTTP/2", r.Proto)
		}
		if !strings.Contains(r.Path, "/userProcessingResults/") {
			list = append(list, r)
		}
	}
	if len(list) != 2 {
		t.Fatalf("%d list requests, want 2", len(list))
	}
	if list[1].RemoteAddr == list[0].RemoteAddr {
		t.Errorf("retry after a 503 reused HTTP/2 connection %s, want a new one", list[0].RemoteAddr)
	}
}
