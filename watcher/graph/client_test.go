package graph

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewOptions(t *testing.T) {
	cred := NewStaticCredential("t")
	tests := []struct {
		name     string
		o        Options
		wantRoot string
		wantErr  string
	}{
		{"defaults", Options{Credential: cred}, "https://graph.microsoft.com/v1.0", ""},
		{"beta, national cloud, trailing slash", Options{Credential: cred, BaseURL: "https://microsoftgraph.chinacloudapi.cn/", Version: "beta"},
			"https://microsoftgraph.chinacloudapi.cn/beta", ""},
		{"loopback http", Options{Credential: cred, BaseURL: "http://127.0.0.1:8080"}, "http://127.0.0.1:8080/v1.0", ""},
		{"localhost http", Options{Credential: cred, BaseURL: "http://localhost:8080"}, "http://localhost:8080/v1.0", ""},
		{"no credential", Options{}, "", "credential is required"},
		{"bad version", Options{Credential: cred, Version: "v2.0"}, "", `version "v2.0"`},
		{"http elsewhere", Options{Credential: cred, BaseURL: "http://graph.microsoft.com"}, "", "loopback"},
		{"not absolute", Options{Credential: cred, BaseURL: "graph.microsoft.com"}, "", "absolute URL"},
		{"query", Options{Credential: cred, BaseURL: "https://graph.microsoft.com?x=1"}, "", "no credentials, query"},
		{"credentials", Options{Credential: cred, BaseURL: "https://u:p@graph.microsoft.com"}, "", "no credentials, query"},
		{"ftp", Options{Credential: cred, BaseURL: "ftp://graph.microsoft.com"}, "", "https"},
		{"negative timeout", Options{Credential: cred, RequestTimeout: -time.Second}, "", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Root(); got != tt.wantRoot {
				t.Errorf("Root() = %s, want %s", got, tt.wantRoot)
			}
		})
	}
}

func TestDefaultsAndURLs(t *testing.T) {
	c, err := New(Options{Credential: NewStaticCredential("t"), BaseURL: "https://graph.microsoft.us"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.scope, "https://graph.microsoft.us/.default"; got != want {
		t.Errorf("scope = %s, want %s", got, want)
	}
	if c.reqTimeout != DefaultRequestTimeout || c.maxRetry != DefaultMaxRetryTime || c.maxPages != DefaultMaxPages {
		t.Errorf("defaults = %v, %v, %d", c.reqTimeout, c.maxRetry, c.maxPages)
	}
	if got, want := c.WorkflowURL("14879e66-9ea9-48d0-804d-8fea672d0341"),
		"https://graph.microsoft.us/v1.0/identityGovernance/lifecycleWorkflows/workflows/14879e66-9ea9-48d0-804d-8fea672d0341"; got != want {
		t.Errorf("WorkflowURL() = %s, want %s", got, want)
	}
}

func TestTenantID(t *testing.T) {
	t.Run("configured", func(t *testing.T) {
		c, _ := New(Options{Credential: NewStaticCredential("opaque"), TenantID: "t-1"})
		if got, err := c.TenantID(t.Context()); got != "t-1" || err != nil {
			t.Errorf("TenantID() = %q, %v; want t-1", got, err)
		}
	})
	t.Run("from token", func(t *testing.T) {
		c, _ := New(Options{Credential: NewStaticCredential(testToken)})
		if got, err := c.TenantID(t.Context()); got != "tenant-1" || err != nil {
			t.Errorf("TenantID() = %q, %v; want tenant-1", got, err)
		}
	})
	t.Run("opaque token", func(t *testing.T) {
		c, _ := New(Options{Credential: NewStaticCredential("opaque-secret-token")})
		_, err := c.TenantID(t.Context())
		if err == nil || !strings.Contains(err.Error(), "AZURE_TENANT_ID") {
			t.Errorf("TenantID() err = %v, want advice to set AZURE_TENANT_ID", err)
		}
		assertNoSecret(t, "opaque-secret-token", err.Error())
	})
}

// TestLookupUser: a readable user is returned; 403 and 404 fall back to the id with one
// warning for the whole client; other failures are errors.
func TestLookupUser(t *testing.T) {
	srv := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1.0/users/u-1":
			serveBody(200, `{"@odata.context":"x","id":"u-1","displayName":"Ada <!channel>","userPrincipalName":"ada@example.com"}`)(w, r)
		case "/v1.0/users/u-403":
			graphError(403, "Authorization_RequestDenied")(w, r)
		case "/v1.0/users/u-404":
			graphError(404, "Request_ResourceNotFound")(w, r)
		case "/v1.0/users/u-bad":
			serveBody(200, `{"displayName":"no id"}`)(w, r)
		default:
			graphError(400, "BadRequest")(w, r)
		}
	})
	c := newTestClient(t, srv.URL)
	got, err := c.LookupUser(t.Context(), "u-1")
	if want := (User{ID: "u-1", DisplayName: "Ada <!channel>", UserPrincipalName: "ada@example.com"}); got != want || err != nil {
		t.Errorf("LookupUser(u-1) = %+v, %v; want %+v", got, err, want)
	}
	if got, want := srv.requests()[0].URI, "/v1.0/users/u-1?$select=id,displayName,userPrincipalName"; got != want {
		t.Errorf("request URI = %s, want %s", got, want)
	}
	for _, id := range []string{"u-403", "u-404", "u-bad", "u-403"} {
		got, err := c.LookupUser(t.Context(), id)
		if got != (User{ID: id}) || err != nil {
			t.Errorf("LookupUser(%s) = %+v, %v; want the id alone and no error", id, got, err)
		}
	}
	if n := strings.Count(c.logs.String(), "cannot read users"); n != 1 {
		t.Errorf("warned %d times about unreadable users, want once:\n%s", n, c.logs)
	}
	if _, err := c.LookupUser(t.Context(), "u-other"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("LookupUser(u-other) err = %v, want the 400 error", err)
	}
}
