package graph

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/lcwnotify/lcwnotify/watcher/graph/graphtest"
)

// TestClaimsChallengeGetsFreshToken runs the real DefaultAzureCredential: once the
// authority revokes the token, Graph answers it with a CAE claims challenge, and the
// client asks for a token with those claims (so azidentity does not hand back the
// cached one), sends the request once more with it, and goes on with it.
func TestClaimsChallengeGetsFreshToken(t *testing.T) {
	auth, cred := realCredential(t)
	srv := newFakeGraph(t, auth.Guard(serveBody(200, pageJSON("", item("a", "failed")))).ServeHTTP)
	c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })

	list := func() {
		t.Helper()
		if got, err := c.ListResults(t.Context(), "wf", dateRange); err != nil || len(got) != 1 {
			t.Fatalf("ListResults() = %v, %v", got, err)
		}
	}
	list()
	first := auth.Tokens()[0]
	if payload, err := base64.RawURLEncoding.DecodeString(strings.Split(first, ".")[1]); err != nil || !strings.Contains(string(payload), "xms_cc") {
		t.Fatalf("token payload %s: the client did not declare the CAE capability, so Graph would not challenge it", payload)
	}
	auth.Revoke(first)
	list()
	list()

	tokens := auth.Tokens()
	if len(tokens) != 2 {
		t.Fatalf("%d tokens issued, want 2: the first and one for the challenge", len(tokens))
	}
	var sent []string
	for _, r := range srv.requests() {
		sent = append(sent, bearerToken(r.Header))
	}
	if want := []string{tokens[0], tokens[0], tokens[1], tokens[1]}; !slices.Equal(sent, want) {
		t.Errorf("tokens sent = %v, want the first, the first refused, then the fresh one", shortTokens(sent, tokens))
	}
	reqs := auth.TokenRequests()
	// azidentity declares the CAE capability as "CP1"; Entra compares without case.
	if !strings.Contains(strings.ToLower(reqs[0].Claims), "cp1") || strings.Contains(reqs[0].Claims, "nbf") {
		t.Errorf("first token request claims = %q, want the CAE capability (cp1) alone", reqs[0].Claims)
	}
	if !strings.Contains(reqs[1].Claims, `"nbf"`) || !strings.Contains(strings.ToLower(reqs[1].Claims), "cp1") {
		t.Errorf("token request after the challenge: claims = %q, want the challenge's nbf and cp1", reqs[1].Claims)
	}
	if err := c.Access(); err != nil {
		t.Errorf("Access() = %v after the fresh token was accepted", err)
	}
	assertNoSecret(t, first, c.logs.String())
}

// TestRevokedAndRefusedAgain: when the authority will not issue a fresh token (the
// application's secret was reset), the call fails with ErrCredential after one
// request, not with a stream of 401s.
func TestRevokedAndRefusedAgain(t *testing.T) {
	auth, cred := realCredential(t)
	srv := newFakeGraph(t, auth.Guard(serveBody(200, emptyPage)).ServeHTTP)
	c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })
	if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
		t.Fatal(err)
	}
	auth.Revoke(auth.Tokens()[0])
	auth.RequireClientSecret("reset")
	_, err := c.ListResults(t.Context(), "wf", dateRange)
	if !errors.Is(err, ErrCredential) || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("err = %v, want ErrCredential with Entra's reason", err)
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("%d Graph requests, want 2: one accepted, one refused", n)
	}
	if n := len(auth.TokenRequests()); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	assertNoSecret(t, testSecret, err.Error(), c.logs.String())
}

// mintingCredential behaves as azidentity's cache does: the same token until a
// request with claims mints a new one. Its tokens carry roles.
type mintingCredential struct {
	roles []string

	mu     sync.Mutex
	minted int
	cur    string
	claims []string // of every call
}

func (m *mintingCredential) GetToken(_ context.Context, tro policy.TokenRequestOptions) (azcore.AccessToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims = append(m.claims, tro.Claims)
	if m.cur == "" || tro.Claims != "" {
		m.minted++
		c := map[string]any{"tid": "tenant-1", "jti": fmt.Sprint(m.minted)}
		if m.roles != nil {
			c["roles"] = m.roles
		}
		m.cur = graphtest.NewToken(c)
	}
	return azcore.AccessToken{Token: m.cur, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (m *mintingCredential) mintedCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.minted
}

// challengeGraph answers 401 with the given WWW-Authenticate (none when empty) while
// refusing is set, and a page otherwise.
func challengeGraph(t *testing.T, challenge string, refusing *atomic.Bool) *fakeGraph {
	return newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		if !refusing.Load() {
			serveBody(200, emptyPage)(w, r)
			return
		}
		if challenge != "" {
			w.Header().Set("WWW-Authenticate", challenge)
		}
		graphError(http.StatusUnauthorized, "InvalidAuthenticationToken")(w, r)
	})
}

const (
	plainChallenge = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`
	caeChallenge   = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTcwMDAwMDAwMCJ9fX0="`
)

// TestUnauthorizedOneFreshToken: a 401 gets one fresh token and one more request; a
// fresh token refused as well is not replaced again, so each later call is a single
// request; the refusal is reported by Access until Graph accepts the token; a 401
// without a challenge is not retried.
func TestUnauthorizedOneFreshToken(t *testing.T) {
	tests := []struct {
		name, challenge string
		wantFirst       int    // requests of the first refused call
		wantClaims      string // in the token request that followed the 401
	}{
		{"CAE claims challenge", caeChallenge, 2, `"value":"1700000000"`},
		{"plain challenge", plainChallenge, 2, `"nbf":{"essential":true`},
		{"no challenge", "", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refusing atomic.Bool
			refusing.Store(true)
			srv := challengeGraph(t, tt.challenge, &refusing)
			cred := &mintingCredential{}
			c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })

			_, err := c.ListResults(t.Context(), "wf", dateRange)
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			if n := len(srv.requests()); n != tt.wantFirst {
				t.Errorf("first call: %d requests, want %d", n, tt.wantFirst)
			}
			if tt.wantClaims != "" {
				if n := cred.mintedCount(); n != 2 {
					t.Errorf("%d tokens minted, want 2", n)
				}
				if !slices.ContainsFunc(cred.claims, func(s string) bool { return strings.Contains(s, tt.wantClaims) }) {
					t.Errorf("claims asked for = %q, want %s", cred.claims, tt.wantClaims)
				}
			}
			for range 3 {
				if _, err := c.ListResults(t.Context(), "wf", dateRange); !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("err = %v, want ErrUnauthorized", err)
				}
			}
			if n := len(srv.requests()); n != tt.wantFirst+3 {
				t.Errorf("%d requests after three more calls, want %d: one each", n, tt.wantFirst+3)
			}
			if n := cred.mintedCount(); tt.wantClaims != "" && n != 2 {
				t.Errorf("%d tokens minted after three more calls, want still 2", n)
			}
			var ae *AccessError
			if err := c.Access(); !errors.As(err, &ae) || !errors.Is(err, ErrUnauthorized) ||
				ae.Code != "InvalidAuthenticationToken" || ae.Permission != PermissionReports || !slices.Equal(ae.Operations, []string{opListResults}) {
				t.Fatalf("Access() = %#v, want the 401 of list_results", err)
			}
			if msg := c.Access().Error(); !strings.Contains(msg, "carries no permission at all") || !strings.Contains(msg, PermissionReports) {
				t.Errorf("Access() = %q, want the permission and the settings to check", msg)
			}

			refusing.Store(false)
			if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
				t.Fatal(err)
			}
			if err := c.Access(); err != nil {
				t.Errorf("Access() = %v after Graph accepted the token", err)
			}
		})
	}
}

// TestFreshTokenAfterExpiry: a token Graph refuses with a plain challenge (expired by
// its clock) is replaced by one issued from now on, and the request succeeds with it.
func TestFreshTokenAfterExpiry(t *testing.T) {
	cred := &mintingCredential{}
	first, _ := cred.GetToken(t.Context(), policy.TokenRequestOptions{})
	srv := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		if bearerToken(r.Header) == first.Token {
			w.Header().Set("WWW-Authenticate", plainChallenge)
			graphError(http.StatusUnauthorized, "InvalidAuthenticationToken")(w, r)
			return
		}
		serveBody(200, emptyPage)(w, r)
	})
	c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })
	for range 2 {
		if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.requests()
	if len(reqs) != 3 || bearerToken(reqs[0].Header) != first.Token || bearerToken(reqs[1].Header) == first.Token ||
		bearerToken(reqs[2].Header) != bearerToken(reqs[1].Header) {
		t.Errorf("%d requests, want 3: the refused token, then a fresh one twice", len(reqs))
	}
	if id := reqs[0].Header.Get("client-request-id"); len(reqs) > 1 && id == reqs[1].Header.Get("client-request-id") {
		t.Errorf("the request sent again after the 401 kept client-request-id %s", id)
	}
}

// TestForbiddenNamesPermission: a 403 of a list the watcher needs makes Access say
// which permission to grant, with Graph's code and request-id and the roles the token
// carries; a 403 of a user or of one run's results does not; a success ends it. The
// token itself is never in the message.
func TestForbiddenNamesPermission(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
		want  string
	}{
		{"token with another role", []string{PermissionWorkflows}, "the refused token carries only " + PermissionWorkflows},
		{"token without roles", nil, "carries no permission at all"},
		{"token with the older name", []string{"LifecycleWorkflows.ReadReports.All"}, "carries it (LifecycleWorkflows.ReadReports.All); a permission granted minutes ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var granted atomic.Bool
			srv := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasSuffix(r.URL.Path, "/workflows"):
					serveBody(200, emptyPage)(w, r)
				case granted.Load() && strings.HasSuffix(r.URL.Path, "/wf/userProcessingResults"):
					serveBody(200, emptyPage)(w, r)
				default:
					graphError(http.StatusForbidden, "Authorization_RequestDenied")(w, r)
				}
			})
			cred := &mintingCredential{roles: tt.roles}
			c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })
			if _, err := c.ListWorkflows(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ListResults(t.Context(), "wf", dateRange); !errors.Is(err, ErrForbidden) {
				t.Fatalf("err = %v, want ErrForbidden", err)
			}
			if _, err := c.LookupUser(t.Context(), "u-1"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ListRunResults(t.Context(), "wf", "run", dateRange); !errors.Is(err, ErrForbidden) {
				t.Fatalf("err = %v, want ErrForbidden", err)
			}
			err := c.Access()
			var ae *AccessError
			if !errors.As(err, &ae) || !errors.Is(err, ErrForbidden) || ae.Permission != PermissionReports ||
				!slices.Equal(ae.Operations, []string{opListResults}) || ae.RequestID != "req-403" {
				t.Fatalf("Access() = %#v, want list_results refused, needing %s", err, PermissionReports)
			}
			msg := err.Error()
			for _, part := range []string{PermissionReports, "Authorization_RequestDenied", "req-403", "admin consent", tt.want} {
				if !strings.Contains(msg, part) {
					t.Errorf("Access() = %q, lacks %q", msg, part)
				}
			}
			tok, _ := cred.GetToken(t.Context(), policy.TokenRequestOptions{})
			assertNoSecret(t, tok.Token, msg)

			granted.Store(true)
			if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
				t.Fatal(err)
			}
			if err := c.Access(); err != nil {
				t.Errorf("Access() = %v after Graph granted list_results", err)
			}
		})
	}
}

// shortTokens names tokens by their index in issued, for readable failures.
func shortTokens(sent, issued []string) []string {
	out := make([]string, len(sent))
	for i, s := range sent {
		out[i] = fmt.Sprintf("token%d", slices.Index(issued, s)+1)
	}
	return out
}
