package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func getJSON(t *testing.T, resp *http.Response, err error) (int, map[string]any) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

func TestDiscovery(t *testing.T) {
	a := NewAuthority()
	defer a.Close()
	resp, err := a.Client().Get(a.URL() + "/tenant-a/v2.0/.well-known/openid-configuration")
	status, doc := getJSON(t, resp, err)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	want := map[string]string{
		"issuer":                 a.URL() + "/tenant-a/v2.0",
		"token_endpoint":         a.URL() + "/tenant-a/oauth2/v2.0/token",
		"authorization_endpoint": a.URL() + "/tenant-a/oauth2/v2.0/authorize",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %s", k, doc[k], v)
		}
	}
}

func TestToken(t *testing.T) {
	a := NewAuthority()
	defer a.Close()
	a.RequireClientSecret("s3cret")
	a.SetTokenLifetime(10 * time.Minute)
	form := url.Values{"client_id": {"app-1"}, "scope": {"https://graph.microsoft.com/.default openid"},
		"grant_type": {"client_credentials"}, "client_secret": {"s3cret"}}

	status, body := postForm(t, a, "tenant-b", form)
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["expires_in"] != float64(600) {
		t.Fatalf("token response %d %v", status, body)
	}
	tok, _ := body["access_token"].(string)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not JWT-shaped", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["tid"] != "tenant-b" || claims["aud"] != "https://graph.microsoft.com" || claims["appid"] != "app-1" {
		t.Errorf("claims = %v", claims)
	}
	if _, ok := claims["roles"]; ok {
		t.Errorf("a token of an app without roles has a roles claim: %v", claims)
	}

	form.Set("client_secret", "wrong")
	if status, body := postForm(t, a, "tenant-b", form); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v, want 401 invalid_client", status, body)
	}

	reqs := a.TokenRequests()
	want := TokenRequest{Tenant: "tenant-b", ClientID: "app-1", Scope: "https://graph.microsoft.com/.default openid",
		GrantType: "client_credentials", HasSecret: true}
	if len(reqs) != 2 || reqs[0] != want || reqs[1] != want {
		t.Errorf("TokenRequests() = %+v, want twice %+v", reqs, want)
	}
	if got := a.Tokens(); len(got) != 1 || got[0] != tok {
		t.Errorf("Tokens() = %v, want the one issued", got)
	}
}

func postForm(t *testing.T, a *Authority, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := a.Client().PostForm(a.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
	return getJSON(t, resp, err)
}

func TestTokenRoles(t *testing.T) {
	a := NewAuthority()
	defer a.Close()
	a.SetRoles("LifecycleWorkflows-Reports.Read.All", "LifecycleWorkflows-Workflow.Activate")
	form := url.Values{"client_id": {"app-1"}, "scope": {"https://graph.microsoft.com/.default"},
		"grant_type": {"client_credentials"}, "client_secret": {"x"}}
	_, body := postForm(t, a, "tenant-c", form)
	tok, _ := body["access_token"].(string)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok+"..", ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(claims.Roles, ","); got != "LifecycleWorkflows-Reports.Read.All,LifecycleWorkflows-Workflow.Activate" {
		t.Errorf("roles claim = %q", got)
	}
}
