package graph

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func item(id, status string) string {
	return fmt.Sprintf(`{"id":%q,"processingStatus":%q}`, id, status)
}

func pageJSON(next string, items ...string) string {
	s := `{"@odata.context":"ctx","value":[` + strings.Join(items, ",") + `]`
	if next != "" {
		s += `,"@odata.nextLink":"` + next + `"`
	}
	return s + "}"
}

// TestNextLinkFollowed: pages are followed to the end, empty ones included, with the
// nextLink sent exactly as Graph wrote it and Prefer on every page.
func TestNextLinkFollowed(t *testing.T) {
	var srv *fakeGraph
	srv = newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		base := srv.URL + "/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf/userProcessingResults"
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			serveBody(200, pageJSON(base+"?$skiptoken=p2%3D%3D", item("a", "failed"), item("b", "queued")))(w, r)
		case "p2==":
			serveBody(200, pageJSON(base+"?$skiptoken=p3"))(w, r)
		case "p3":
			serveBody(200, pageJSON("", item("c", "canceling")))(w, r)
		}
	})
	c := newTestClient(t, srv.URL)
	got, err := c.ListResults(t.Context(), "wf", dateRange)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID+"="+r.ProcessingStatus)
	}
	if got, want := strings.Join(ids, ","), "a=failed,b=queued,c=canceling"; got != want {
		t.Errorf("results = %s, want %s", got, want)
	}
	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	if got, want := reqs[1].RawQuery, "$skiptoken=p2%3D%3D"; got != want {
		t.Errorf("second page query = %s, want the nextLink's %s", got, want)
	}
	for i, r := range reqs {
		if r.Header.Get("Prefer") != "include-unknown-enum-members" || r.Header.Get("Authorization") == "" {
			t.Errorf("page %d headers: Prefer %q, Authorization set %v", i+1, r.Header.Get("Prefer"), r.Header.Get("Authorization") != "")
		}
	}
}

// TestForeignNextLink: a nextLink to another scheme, host or port is refused and the
// other server never sees a request, let alone the token.
func TestForeignNextLink(t *testing.T) {
	var foreignHits atomic.Int64
	foreign := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		serveBody(200, emptyPage)(w, r)
	})
	fu, _ := url.Parse(foreign.URL)
	tests := []struct {
		name string
		link func(self string) string
	}{
		{"other port", func(string) string { return foreign.URL + "/v1.0/x?$skiptoken=1" }},
		{"other host name", func(self string) string {
			return strings.Replace(self, "127.0.0.1", "localhost", 1) + "/v1.0/x?$skiptoken=1"
		}},
		{"https instead of http", func(self string) string { return strings.Replace(self, "http:", "https:", 1) + "/v1.0/x" }},
		{"credentials", func(self string) string { return strings.Replace(self, "http://", "http://u:p@", 1) + "/v1.0/x" }},
		{"relative", func(string) string { return "/v1.0/x?$skiptoken=1" }},
		{"scheme-relative", func(string) string { return "//" + fu.Host + "/v1.0/x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *fakeGraph
			srv = newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
				serveBody(200, pageJSON(tt.link(srv.URL), item("a", "failed")))(w, r)
			})
			c := newTestClient(t, srv.URL)
			got, err := c.ListResults(t.Context(), "wf", dateRange)
			if !errors.Is(err, ErrForeignNextLink) || got != nil {
				t.Fatalf("ListResults() = %v, %v; want ErrForeignNextLink and no results", got, err)
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("%d requests to the Graph root, want 1", n)
			}
		})
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the foreign server got %d requests", n)
	}
	for _, r := range foreign.requests() {
		assertNoSecret(t, testToken, r.Header.Get("Authorization"))
	}
}

func TestNextLinkSameHostDefaultPort(t *testing.T) {
	c, err := New(Options{BaseURL: "https://graph.microsoft.us", Credential: NewStaticCredential("t")})
	if err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{"https://graph.microsoft.us:443/v1.0/x", "https://GRAPH.microsoft.us/v1.0/x?$skiptoken=a"} {
		if err := c.checkNextLink(link); err != nil {
			t.Errorf("checkNextLink(%s) = %v, want nil", link, err)
		}
	}
	for _, link := range []string{"https://graph.microsoft.com/v1.0/x", "https://graph.microsoft.us:8443/v1.0/x", "https://graph.microsoft.us.evil.example/v1.0/x"} {
		if err := c.checkNextLink(link); !errors.Is(err, ErrForeignNextLink) {
			t.Errorf("checkNextLink(%s) = %v, want ErrForeignNextLink", link, err)
		}
	}
}

func TestNextLinkLoopAndPageLimit(t *testing.T) {
	t.Run("loop", func(t *testing.T) {
		var srv *fakeGraph
		srv = newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
			next := srv.URL + "/v1.0/p?$skiptoken=1"
			if r.URL.Query().Get("$skiptoken") == "1" {
				next = srv.URL + "/v1.0/p?$skiptoken=2"
			} else if r.URL.Query().Get("$skiptoken") == "2" {
				next = srv.URL + "/v1.0/p?$skiptoken=1"
			}
			serveBody(200, pageJSON(next, item("a", "failed")))(w, r)
		})
		c := newTestClient(t, srv.URL)
		got, err := c.ListResults(t.Context(), "wf", dateRange)
		if !errors.Is(err, ErrForeignNextLink) || got != nil || !strings.Contains(err.Error(), "loop") {
			t.Fatalf("ListResults() = %v, %v; want a loop error", got, err)
		}
		if n := len(srv.requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("endless", func(t *testing.T) {
		var srv *fakeGraph
		var n atomic.Int64
		srv = newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
			serveBody(200, pageJSON(fmt.Sprintf("%s/v1.0/p?$skiptoken=%d", srv.URL, n.Add(1))))(w, r)
		})
		c := newTestClient(t, srv.URL, func(o *Options) { o.MaxPages = 5 })
		if _, err := c.ListResults(t.Context(), "wf", dateRange); !errors.Is(err, ErrForeignNextLink) {
			t.Fatalf("err = %v, want ErrForeignNextLink", err)
		}
		if n := len(srv.requests()); n != 5 {
			t.Errorf("%d requests, want MaxPages = 5", n)
		}
	})
}

// TestBadPageAfterGoodOnes: a malformed second page fails the whole list.
func TestBadPageAfterGoodOnes(t *testing.T) {
	var srv *fakeGraph
	srv = newFakeGraph(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			serveBody(200, pageJSON(srv.URL+"/v1.0/p?$skiptoken=2", item("a", "failed")))(w, r)
		},
		serveBody(200, `{"value":[{"id":"b","processingStatus":"failed"}`),
	))
	c := newTestClient(t, srv.URL)
	got, err := c.ListResults(t.Context(), "wf", dateRange)
	if !errors.Is(err, ErrMalformedResponse) || got != nil {
		t.Fatalf("ListResults() = %v, %v; want ErrMalformedResponse and nothing", got, err)
	}
}
