package graph

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/lcwnotify/lcwnotify/watcher/graph/graphtest"
)

const (
	testTenant   = "0c1d2e3f-4a5b-6c7d-8e9f-000000000001"
	testClientID = "11111111-2222-3333-4444-555555555555"
	testSecret   = "Sup3r~Secret.Value-do-not-log"
)

// azureEnv points azidentity's EnvironmentCredential at a graphtest.Authority, the way
// an operator configures lcwnotify.
func azureEnv(t *testing.T, a *graphtest.Authority, secret string) {
	t.Setenv("AZURE_TENANT_ID", testTenant)
	t.Setenv("AZURE_CLIENT_ID", testClientID)
	t.Setenv("AZURE_CLIENT_SECRET", secret)
	t.Setenv("AZURE_AUTHORITY_HOST", a.URL())
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
	for _, v := range []string{"AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_USERNAME"} {
		t.Setenv(v, "")
	}
}

// realCredential starts an authority that takes testSecret and returns it with
// azidentity's DefaultAzureCredential configured for it from the environment.
func realCredential(t *testing.T) (*graphtest.Authority, azcore.TokenCredential) {
	t.Helper()
	auth := graphtest.NewAuthority()
	t.Cleanup(auth.Close)
	auth.RequireClientSecret(testSecret)
	azureEnv(t, auth, testSecret)
	cred, err := NewCredential(CredentialOptions{DisableInstanceDiscovery: true, Transport: auth.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return auth, cred
}

// TestDefaultAzureCredential runs the real DefaultAzureCredential against the fake
// authority: the client sends the token it issued as Bearer, asks for it once (cached)
// with the Graph scope, learns the tenant from it, and logs neither token nor secret.
func TestDefaultAzureCredential(t *testing.T) {
	auth, cred := realCredential(t)
	srv := newFakeGraph(t, serveBody(200, pageJSON("", item("a", "failed"))))
	c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })

	for range 3 {
		if _, err := c.ListResults(t.Context(), "wf", dateRange); err != nil {
			t.Fatal(err)
		}
	}
	tenant, err := c.TenantID(t.Context())
	if err != nil || tenant != testTenant {
		t.Errorf("TenantID() = %q, %v; want %s from the token", tenant, err, testTenant)
	}

	reqs := auth.TokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests for 3 calls, want 1 (cached)", len(reqs))
	}
	want := graphtest.TokenRequest{Tenant: testTenant, ClientID: testClientID, Scope: srv.URL + "/.default",
		GrantType: "client_credentials", HasSecret: true}
	// MSAL adds the OIDC scopes it always asks for; the Graph scope must be among them.
	if got := reqs[0]; got.Tenant != want.Tenant || got.ClientID != want.ClientID || got.GrantType != want.GrantType ||
		!got.HasSecret || !strings.Contains(" "+got.Scope+" ", " "+want.Scope+" ") {
		t.Errorf("token request = %+v, want %+v", got, want)
	}
	token := auth.Tokens()[0]
	for i, r := range srv.requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("request %d Authorization = %q, want the issued token", i, got)
		}
	}
	assertNoSecret(t, token, c.logs.String())
	assertNoSecret(t, testSecret, c.logs.String())
}

// TestCredentialFailure: a refused client secret is ErrCredential, and neither the
// secret nor anything else sensitive is in the error or the logs.
func TestCredentialFailure(t *testing.T) {
	auth := graphtest.NewAuthority()
	defer auth.Close()
	auth.RequireClientSecret("the-right-one")
	azureEnv(t, auth, testSecret)

	cred, err := NewCredential(CredentialOptions{DisableInstanceDiscovery: true, Transport: auth.Client()})
	if err != nil {
		t.Fatal(err)
	}
	srv := newFakeGraph(t, serveBody(200, emptyPage))
	c := newTestClient(t, srv.URL, func(o *Options) { o.Credential = cred })
	_, err = c.ListResults(t.Context(), "wf", dateRange)
	if !errors.Is(err, ErrCredential) {
		t.Fatalf("err = %v, want ErrCredential", err)
	}
	if !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("err = %v, want Entra's reason (invalid_client)", err)
	}
	assertNoSecret(t, testSecret, err.Error(), c.logs.String())
	if n := len(srv.requests()); n != 0 {
		t.Errorf("Graph got %d requests without a token", n)
	}
	if n := len(auth.TokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// TestAuthorityDiscovery checks the fake authority's OpenID document without azidentity.
func TestAuthorityDiscovery(t *testing.T) {
	auth := graphtest.NewAuthority()
	defer auth.Close()
	resp, err := auth.Client().Get(auth.URL() + "/my-tenant/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if len(auth.CertPEM()) == 0 || auth.CertPool() == nil {
		t.Error("no certificate to trust")
	}
}
