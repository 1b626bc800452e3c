package graphsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

func newClock() *graphsim.Clock {
	return graphsim.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 123456700, time.UTC))
}

const testToken = "test-token"

// fixture is a simulator on a fake clock behind a real HTTP server.
type fixture struct {
	sim   *graphsim.Sim
	clock *graphsim.Clock
	srv   *httptest.Server
}

func newFixture(t *testing.T, opts graphsim.Options) *fixture {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	if opts.Token == "" && opts.ValidToken == nil {
		opts.Token = testToken
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	sim := graphsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &fixture{sim: sim, clock: c, srv: srv}
}

const lcw = "/v1.0/identityGovernance/lifecycleWorkflows/workflows"

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r response) list() []map[string]any {
	v, _ := r.body["value"].([]any)
	out := make([]map[string]any, len(v))
	for i, x := range v {
		out[i] = x.(map[string]any)
	}
	return out
}

func (r response) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r response) errorMessage() string {
	e, _ := r.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// do sends a request with the test token; headers come in name, value pairs.
func (f *fixture) do(t *testing.T, method, target, body string, hdr ...string) response {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = f.srv.URL + target
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, target, err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v\n%s", method, target, err, b)
		}
	}
	return r
}

func (f *fixture) get(t *testing.T, target string, hdr ...string) response {
	t.Helper()
	return f.do(t, http.MethodGet, target, "", hdr...)
}

// q builds a path with encoded query options from name, value pairs.
func q(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// ts formats a time as an unquoted DateTimeOffset literal.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// mustStatus fails unless r has the wanted status.
func mustStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.status, want, r.raw)
	}
}

// followAll reads every page of a list and returns the items and the pages' sizes.
func (f *fixture) followAll(t *testing.T, first string, hdr ...string) ([]map[string]any, []int) {
	t.Helper()
	var items []map[string]any
	var sizes []int
	next := first
	for n := 0; next != ""; n++ {
		if n > 10000 {
			t.Fatal("nextLink never ends")
		}
		r := f.get(t, next, hdr...)
		mustStatus(t, r, http.StatusOK)
		page := r.list()
		items = append(items, page...)
		sizes = append(sizes, len(page))
		next, _ = r.body["@odata.nextLink"].(string)
	}
	return items, sizes
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
