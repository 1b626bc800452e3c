package graphtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Guard returns a handler that lets through to next only requests whose bearer token
// the authority issued and Valid accepts, and refuses the others as Microsoft Graph
// does: 401 InvalidAuthenticationToken with a WWW-Authenticate Bearer challenge, which
// for a revoked token of a client that declared the CAE capability is a claims
// challenge (error="insufficient_claims", claims = base64 of
// {"access_token":{"nbf":{"essential":true,"value":"<revocation, Unix seconds>"}}}).
func (a *Authority) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			a.refuse(w, "", "Access token is empty.")
			return
		}
		a.mu.Lock()
		t := a.issued[tok]
		var revoked time.Time
		var cae, expired bool
		if t != nil {
			revoked, cae, expired = t.revoked, t.cae, !time.Now().Before(t.expires)
		}
		a.mu.Unlock()
		switch {
		case t == nil:
			a.refuse(w, "", "Access token validation failure. Invalid signature.")
		case !revoked.IsZero() && cae:
			a.refuse(w, Challenge(revoked), "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp")
		case !revoked.IsZero():
			a.refuse(w, "", "Access token has been revoked.")
		case expired:
			a.refuse(w, "", "Lifetime validation failed, the token is expired.")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// Challenge returns the claims of a CAE claims challenge for a token revoked at t,
// base64-encoded as they travel in WWW-Authenticate.
func Challenge(t time.Time) string {
	claims := fmt.Sprintf(`{"access_token":{"nbf":{"essential":true, "value":"%d"}}}`, t.Unix())
	return base64.StdEncoding.EncodeToString([]byte(claims))
}

// refuse answers 401 with Graph's error body; claims, when set, make the challenge a
// claims challenge.
func (a *Authority) refuse(w http.ResponseWriter, claims, message string) {
	challenge := `Bearer realm="", authorization_uri="` + a.srv.URL + `/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`
	if claims != "" {
		challenge += `, error="insufficient_claims", claims="` + claims + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
		"code": "InvalidAuthenticationToken", "message": message,
		"innerError": map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": "graphtest-guard"},
	}})
}
