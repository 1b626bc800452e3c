package graph

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// credential is the caller's credential with its failures classified once, as
// ErrCredential, wherever the token is asked for (BearerTokenPolicy, TenantID).
type credential struct{ azcore.TokenCredential }

// GetToken implements azcore.TokenCredential.
func (c credential) GetToken(ctx context.Context, tro policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, tro)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	if tok.Token == "" {
		return azcore.AccessToken{}, fmt.Errorf("%w: the credential returned an empty token", ErrCredential)
	}
	return tok, nil
}

// token returns a bearer token for the configured scope, for reading its claims. It
// asks as BearerTokenPolicy does (EnableCAE): azidentity keeps tokens with and
// without the CAE capability in separate caches, and this one is then a cache hit.
func (c *Client) token(ctx context.Context) (string, error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}, EnableCAE: true})
	if err != nil {
		return "", err
	}
	return tok.Token, nil
}

// errRefusedAgain ends the handling of a 401 whose token was itself the fresh one
// asked for at the previous 401: asking once more would only repeat the pair of
// requests at every call (a stream of 401s and token requests) while nothing changes.
var errRefusedAgain = errors.New("graph: a fresh token was refused too")

// authorizer decides, for azcore's BearerTokenPolicy, which token a request carries
// and what a 401 is worth:
//
//   - a Continuous Access Evaluation claims challenge (WWW-Authenticate: Bearer
//     error="insufficient_claims", claims="…": the token was revoked, or a policy
//     changed) is azcore's to parse; it asks the credential for a token with the
//     decoded claims, which makes azidentity skip its cache, and tries once more;
//   - any other Bearer challenge (Graph sends one with every 401: the token expired,
//     was issued for another audience, or before a permission was granted) gets the
//     same: a token with claims that ask for one issued from now on
//     ({"access_token":{"nbf":…}}, the form a CAE challenge takes), so that the
//     cached token is not simply sent again, and one more try;
//   - a token that was the fresh answer to a 401 and is refused before Graph ever
//     accepted it is not replaced again (errRefusedAgain): the 401 stands, and each
//     later call costs one request, not two and a token request, until the
//     credential hands out another token by itself.
type authorizer struct {
	scopes []string

	mu    sync.Mutex
	fresh [sha256.Size]byte // the token obtained in answer to the last 401, if any
	held  bool
}

func newAuthorizer(scope string) *authorizer { return &authorizer{scopes: []string{scope}} }

// onRequest authorizes a request. BearerTokenPolicy calls it for every request, and
// again, with claims added by authNZ, to answer a CAE challenge: then the request
// still carries the token refused.
func (a *authorizer) onRequest(req *policy.Request, authNZ func(policy.TokenRequestOptions) error) error {
	refused := bearerToken(req.Raw().Header)
	if refused == "" {
		return authNZ(policy.TokenRequestOptions{Scopes: a.scopes})
	}
	return a.refresh(req, refused, authNZ, policy.TokenRequestOptions{Scopes: a.scopes})
}

// onChallenge answers a 401 with a challenge that is not a CAE claims challenge.
func (a *authorizer) onChallenge(req *policy.Request, _ *http.Response, authNZ func(policy.TokenRequestOptions) error) error {
	claims := `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(time.Now().Unix(), 10) + `"}}}`
	return a.refresh(req, bearerToken(req.Raw().Header), authNZ, policy.TokenRequestOptions{Scopes: a.scopes, Claims: claims})
}

func (a *authorizer) refresh(req *policy.Request, refused string, authNZ func(policy.TokenRequestOptions) error, tro policy.TokenRequestOptions) error {
	sum := sha256.Sum256([]byte(refused))
	a.mu.Lock()
	again := a.held && a.fresh == sum
	a.mu.Unlock()
	if again {
		return errRefusedAgain
	}
	if err := authNZ(tro); err != nil {
		return err
	}
	sum = sha256.Sum256([]byte(bearerToken(req.Raw().Header)))
	a.mu.Lock()
	a.fresh, a.held = sum, true
	a.mu.Unlock()
	return nil
}

// accepted notes that Graph accepted token: once the fresh token has worked, a later
// 401 of it (a revocation an hour on) deserves a fresh token again.
func (a *authorizer) accepted(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held && a.fresh == sha256.Sum256([]byte(token)) {
		a.held = false
	}
}

// bearerToken returns the token of an Authorization: Bearer header, or "".
func bearerToken(h http.Header) string {
	scheme, tok, ok := strings.Cut(h.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// tokenClaims are the claims of an access token the client reads, unverified: Graph
// verifies tokens; the client only reports what a token says.
type tokenClaims struct {
	TID   string   `json:"tid"`
	Roles []string `json:"roles"` // application permissions (app-only tokens)
	Scp   string   `json:"scp"`   // delegated scopes, space-separated
}

// permissions returns the application permissions (roles) and delegated scopes the
// token carries.
func (tc tokenClaims) permissions() []string {
	return append(slices.Clone(tc.Roles), strings.Fields(tc.Scp)...)
}

// readClaims decodes the payload of a JWT access token.
func readClaims(token string) (tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return tokenClaims{}, errors.New("token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return tokenClaims{}, errors.New("token payload is not base64url")
	}
	var tc tokenClaims
	if err := json.Unmarshal(payload, &tc); err != nil {
		return tokenClaims{}, errors.New("token payload is not JSON")
	}
	return tc, nil
}

// tenantOf returns the tid claim of a JWT access token.
func tenantOf(token string) (string, error) {
	tc, err := readClaims(token)
	if err != nil {
		return "", err
	}
	if tc.TID == "" {
		return "", errors.New("token has no tid claim")
	}
	return tc.TID, nil
}
