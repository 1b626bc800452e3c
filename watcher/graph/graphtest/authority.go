package graphtest

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// TokenRequest is one request to the token endpoint, as the authority saw it. The
// client secret is not kept, only whether one was sent.
type TokenRequest struct {
	Tenant    string
	ClientID  string
	Scope     string
	GrantType string
	HasSecret bool
	// Claims is the claims request as sent (the "claims" form field): JSON such as
	// {"access_token":{"xms_cc":{"values":["cp1"]},"nbf":{…}}}, where xms_cc declares
	// that the client handles CAE claims challenges and anything else was asked for
	// by a challenge.
	Claims string
}

// DefaultRoles are the application permissions (roles claim) of the tokens an
// Authority issues unless SetRoles says otherwise: what docs/graph-permissions.md
// tells an operator to grant.
var DefaultRoles = []string{"LifecycleWorkflows-Reports.Read.All", "LifecycleWorkflows-Workflow.ReadBasic.All", "User.Read.All"}

// Authority is a fake Entra authority over TLS: the OpenID discovery document and the
// v2.0 token endpoint for any tenant, issuing JWT-shaped tokens whose payload carries
// the tenant as tid and the application permissions as roles. Point
// AZURE_AUTHORITY_HOST at URL, trust its certificate (Client, CertPool or CertPEM) and
// disable instance discovery. It can revoke a token, and Guard checks tokens the way
// Graph does, with a Continuous Access Evaluation claims challenge for a revoked one.
// It is safe for concurrent use.
type Authority struct {
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	lifetime time.Duration
	roles    []string
	requests []TokenRequest
	tokens   []string
	issued   map[string]*issued
}

// issued is what the authority remembers of a token.
type issued struct {
	expires time.Time
	revoked time.Time // zero: not revoked
	cae     bool      // the client declared the cp1 capability: it handles claims challenges
}

// NewAuthority starts an Authority on a loopback port. Close it when done.
func NewAuthority() *Authority {
	a := &Authority{lifetime: time.Hour, roles: DefaultRoles, issued: map[string]*issued{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", a.discovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", a.token)
	a.srv = httptest.NewTLSServer(mux)
	return a
}

// Close shuts the authority down.
func (a *Authority) Close() { a.srv.Close() }

// URL returns the authority host, for AZURE_AUTHORITY_HOST, e.g. "https://127.0.0.1:41234".
func (a *Authority) URL() string { return a.srv.URL }

// Client returns an HTTP client that trusts the authority's certificate. It is a
// policy.Transporter, for azidentity's ClientOptions.Transport.
func (a *Authority) Client() *http.Client { return a.srv.Client() }

// CertPool returns a pool holding the authority's certificate.
func (a *Authority) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(a.srv.Certificate())
	return pool
}

// CertPEM returns the authority's certificate in PEM, for SSL_CERT_FILE of a child process.
func (a *Authority) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw})
}

// RequireClientSecret makes the token endpoint refuse, as Entra does (401
// invalid_client), any request without this client secret. "" accepts any.
func (a *Authority) RequireClientSecret(secret string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secret = secret
}

// SetTokenLifetime sets expires_in of the tokens issued from now on (default 1h).
// azidentity does not reuse a token with less than about 5 minutes left.
func (a *Authority) SetTokenLifetime(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lifetime = d
}

// SetRoles sets the roles claim of the tokens issued from now on (default
// DefaultRoles); none leaves the claim out, as Entra does for an application without
// any application permission granted.
func (a *Authority) SetRoles(roles ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roles = slices.Clone(roles)
}

// Revoke revokes an issued token, as Entra does when a service principal is disabled
// or its credentials are reset: Valid is false for it from now on, and Guard answers
// it with a claims challenge asking for a token issued after this moment.
func (a *Authority) Revoke(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.issued[token]; t != nil && t.revoked.IsZero() {
		t.revoked = time.Now()
	}
}

// Valid reports whether token was issued by the authority and is neither expired nor
// revoked.
func (a *Authority) Valid(token string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.issued[token]
	return t != nil && t.revoked.IsZero() && time.Now().Before(t.expires)
}

// TokenRequests returns the token requests received so far, in order.
func (a *Authority) TokenRequests() []TokenRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]TokenRequest(nil), a.requests...)
}

// Tokens returns the access tokens issued so far, in order.
func (a *Authority) Tokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.tokens...)
}

func (a *Authority) discovery(w http.ResponseWriter, r *http.Request) {
	base := a.srv.URL + "/" + r.PathValue("tenant")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                   base + "/v2.0",
		"token_endpoint":           base + "/oauth2/v2.0/token",
		"authorization_endpoint":   base + "/oauth2/v2.0/authorize",
		"jwks_uri":                 base + "/discovery/v2.0/keys",
		"response_types_supported": []string{"code", "id_token", "code id_token", "id_token token"},
	})
}

func (a *Authority) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_request", "unreadable form"))
		return
	}
	tenant := r.PathValue("tenant")
	req := TokenRequest{
		Tenant:    tenant,
		ClientID:  r.PostForm.Get("client_id"),
		Scope:     r.PostForm.Get("scope"),
		GrantType: r.PostForm.Get("grant_type"),
		HasSecret: r.PostForm.Get("client_secret") != "",
		Claims:    r.PostForm.Get("claims"),
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, req)
	if a.secret != "" && r.PostForm.Get("client_secret") != a.secret {
		writeJSON(w, http.StatusUnauthorized, oauthError("invalid_client",
			"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value."))
		return
	}
	now := time.Now()
	cae := declaresCAE(req.Claims)
	claims := map[string]any{
		"tid":   tenant,
		"appid": req.ClientID,
		"aud":   strings.TrimSuffix(strings.Fields(req.Scope + " x")[0], "/.default"),
		"iat":   now.Unix(),
		"exp":   now.Add(a.lifetime).Unix(),
		"jti":   fmt.Sprintf("token-%d", len(a.tokens)+1),
	}
	if len(a.roles) > 0 {
		claims["roles"] = a.roles
	}
	if cae {
		claims["xms_cc"] = []string{"cp1"}
	}
	tok := NewToken(claims)
	a.tokens = append(a.tokens, tok)
	a.issued[tok] = &issued{expires: now.Add(a.lifetime), cae: cae}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(a.lifetime.Seconds()),
		"ext_expires_in": int(a.lifetime.Seconds()),
		"access_token":   tok,
	})
}

// NewToken returns a JWT-shaped token (header.payload.signature, base64url) with the
// given claims and a signature nobody verifies: enough for code that reads claims such
// as tid, and for a Graph fake that checks the bearer token it issued.
func NewToken(claims map[string]any) string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // claims are test data of basic types
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"typ": "JWT", "alg": "RS256"}) + "." + enc(claims) + "." +
		base64.RawURLEncoding.EncodeToString([]byte("graphtest-signature"))
}

func oauthError(code, desc string) map[string]any {
	return map[string]any{"error": code, "error_description": desc, "error_codes": []int{7000215}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// declaresCAE reports whether a claims request declares the cp1 client capability
// (the client handles claims challenges), as azidentity does with EnableCAE.
func declaresCAE(claims string) bool {
	var c struct {
		AccessToken struct {
			XMSCC struct {
				Values []string `json:"values"`
			} `json:"xms_cc"`
		} `json:"access_token"`
	}
	if json.Unmarshal([]byte(claims), &c) != nil {
		return false
	}
	// azidentity sends "CP1"; Entra compares capabilities without case.
	return slices.ContainsFunc(c.AccessToken.XMSCC.Values, func(v string) bool { return strings.EqualFold(v, "cp1") })
}
