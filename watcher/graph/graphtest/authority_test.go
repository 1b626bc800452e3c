package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
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
	a.SetRoles() // an app without any application permission; the default is DefaultRoles
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

// TestRolesAndCAEClaims: the token carries the roles set, and xms_cc when the claims
// request declares cp1; the claims are recorded as sent.
func TestRolesAndCAEClaims(t *testing.T) {
	a := NewAuthority()
	defer a.Close()
	form := url.Values{"client_id": {"app-1"}, "scope": {"https://graph.microsoft.com/.default"},
		"grant_type": {"client_credentials"}, "client_secret": {"s"}}
	tests := []struct {
		name      string
		roles     []string
		claims    string
		wantRoles []any
		wantCAE   bool
	}{
		{"defaults, no CAE", nil, "", []any{"LifecycleWorkflows-Reports.Read.All", "LifecycleWorkflows-Workflow.ReadBasic.All", "User.Read.All"}, false},
		{"one role, CAE", []string{"LifecycleWorkflows-Workflow.ReadBasic.All"}, `{"access_token":{"xms_cc":{"values":["cp1"]}}}`, []any{"LifecycleWorkflows-Workflow.ReadBasic.All"}, true},
		{"no roles at all", []string{}, `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.roles != nil {
				a.SetRoles(tt.roles...)
			}
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tt.claims != "" {
				f.Set("claims", tt.claims)
			}
			status, body := postForm(t, a, "tenant-c", f)
			if status != http.StatusOK {
				t.Fatalf("status %d %v", status, body)
			}
			claims := payload(t, body["access_token"].(string))
			got, _ := claims["roles"].([]any)
			if len(got) != len(tt.wantRoles) || (len(got) > 0 && got[0] != tt.wantRoles[0]) {
				t.Errorf("roles = %v, want %v", claims["roles"], tt.wantRoles)
			}
			if _, cae := claims["xms_cc"]; cae != tt.wantCAE {
				t.Errorf("xms_cc present = %v, want %v", cae, tt.wantCAE)
			}
			reqs := a.TokenRequests()
			if got := reqs[len(reqs)-1].Claims; got != tt.claims {
				t.Errorf("recorded claims = %q, want %q", got, tt.claims)
			}
		})
	}
}

func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGuard: Guard passes valid tokens and refuses the others as Graph does; a revoked
// token of a CAE client gets a claims challenge for a token issued after the
// revocation, that of another client a plain challenge.
func TestGuard(t *testing.T) {
	a := NewAuthority()
	defer a.Close()
	issue := func(claims string) string {
		form := url.Values{"client_id": {"app"}, "scope": {"https://graph.microsoft.com/.default"},
			"grant_type": {"client_credentials"}, "client_secret": {"s"}, "claims": {claims}}
		_, body := postForm(t, a, "t", form)
		return body["access_token"].(string)
	}
	caeTok, plainTok, expiredTok := issue(`{"access_token":{"xms_cc":{"values":["cp1"]}}}`), issue(""), ""
	a.SetTokenLifetime(-time.Second)
	expiredTok = issue("")
	srv := httptest.NewServer(a.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})))
	defer srv.Close()
	get := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	if !a.Valid(caeTok) || a.Valid(expiredTok) || a.Valid("forged") {
		t.Errorf("Valid(cae, expired, forged) = %v, %v, %v; want true, false, false", a.Valid(caeTok), a.Valid(expiredTok), a.Valid("forged"))
	}
	for name, tok := range map[string]string{"valid": caeTok, "plain": plainTok} {
		if status, _ := get(tok); status != http.StatusOK {
			t.Errorf("%s token: status %d, want 200", name, status)
		}
	}
	for name, tok := range map[string]string{"none": "", "forged": "forged", "expired": expiredTok} {
		status, challenge := get(tok)
		if status != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer ") || strings.Contains(challenge, "claims=") {
			t.Errorf("%s token: %d %q, want 401 with a plain Bearer challenge", name, status, challenge)
		}
	}
	before := time.Now().Unix()
	a.Revoke(caeTok)
	a.Revoke(plainTok)
	if a.Valid(caeTok) {
		t.Error("Valid(revoked) = true")
	}
	status, challenge := get(caeTok)
	if status != http.StatusUnauthorized || !strings.Contains(challenge, `error="insufficient_claims"`) {
		t.Fatalf("revoked CAE token: %d %q, want 401 with a claims challenge", status, challenge)
	}
	_, enc, _ := strings.Cut(challenge, `claims="`)
	enc, _, _ = strings.Cut(enc, `"`)
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		AccessToken struct {
			NBF struct {
				Essential bool   `json:"essential"`
				Value     string `json:"value"`
			} `json:"nbf"`
		} `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || !claims.AccessToken.NBF.Essential {
		t.Fatalf("claims %s: %v, want an essential nbf", raw, err)
	}
	if nbf, _ := strconv.ParseInt(claims.AccessToken.NBF.Value, 10, 64); nbf < before {
		t.Errorf("nbf %d is before the revocation (%d)", nbf, before)
	}
	if status, challenge := get(plainTok); status != http.StatusUnauthorized || strings.Contains(challenge, "claims=") {
		t.Errorf("revoked non-CAE token: %d %q, want 401 without claims", status, challenge)
	}
}
