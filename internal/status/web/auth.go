package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
)

// Access: every route but the static files and the login form needs the token (as a
// bearer header, or the session cookie the login form sets), unless the server listens
// on loopback only and no token is configured. A request that changes something (a
// replay) also needs the CSRF token of its session, unless it carries the bearer header
// (which a browser never adds by itself), and passes net/http's cross-origin check.

const (
	sessionCookie = "lcw_session"
	// sessionLife is how long a login lasts.
	sessionLife = 12 * time.Hour
	// csrfField and csrfHeader carry the CSRF token of a form and of a script's request.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
	// failedLoginDelay slows down guessing; the token's length makes it hopeless anyway.
	failedLoginDelay = 300 * time.Millisecond
)

// guard decides who may do what.
type guard struct {
	token []byte // sha256 of the token; nil when none is configured
	key   []byte // signs sessions and CSRF tokens
	// loopback: the server listens on loopback only. Without a token, requests must then
	// name a loopback host, so that a web page cannot reach the server by pointing a
	// name of its own at 127.0.0.1 (DNS rebinding).
	loopback bool
	cop      *http.CrossOriginProtection
}

func newGuard(token string, loopback bool) *guard {
	g := &guard{loopback: loopback, cop: http.NewCrossOriginProtection()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		g.token = sum[:]
		// Derived from the token: sessions outlive a restart, and end when it changes.
		k := sha256.Sum256([]byte("lcwnotify ui session key\x00" + token))
		g.key = k[:]
	} else {
		g.key = make([]byte, 32)
		_, _ = rand.Read(g.key)
	}
	return g
}

// who is what a request proved.
type who struct {
	ok     bool
	bearer bool   // the bearer header: no CSRF token needed
	nonce  string // the session's, "" without one
}

// check reports what r proves.
func (g *guard) check(r *http.Request) who {
	if g.token == nil && !loopbackHost(r.Host) {
		return who{}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		given, ok := strings.CutPrefix(h, "Bearer ")
		return who{ok: ok && g.tokenMatches(given), bearer: true}
	}
	nonce := g.session(r)
	if g.token == nil {
		return who{ok: true, nonce: nonce}
	}
	return who{ok: nonce != "", nonce: nonce}
}

// tokenMatches compares in constant time, whatever the lengths.
func (g *guard) tokenMatches(given string) bool {
	if g.token == nil {
		return false
	}
	sum := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(sum[:], g.token) == 1
}

// loopbackHost reports whether the Host header names this machine.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return outbound.IsLoopback(strings.Trim(host, "[]"))
}

func (g *guard) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, g.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// newSession sets a session cookie on w and returns its nonce.
func (g *guard) newSession(w http.ResponseWriter, r *http.Request) string {
	nb := make([]byte, 16)
	_, _ = rand.Read(nb)
	nonce := b64.EncodeToString(nb)
	exp := strconv.FormatInt(time.Now().Add(sessionLife).Unix(), 10)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: nonce + "." + exp + "." + b64.EncodeToString(g.mac("session", nonce, exp)),
		Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r),
		MaxAge: int(sessionLife / time.Second),
	})
	return nonce
}

// endSession removes the session cookie.
func endSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: overTLS(r), MaxAge: -1})
}

// overTLS reports whether the browser reached the server over https, directly or
// through a proxy that says so: the cookie is then only ever sent back over https.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// session returns the nonce of r's valid session cookie, or "".
func (g *guard) session(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return ""
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, g.mac("session", parts[0], parts[1])) {
		return ""
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || time.Now().Unix() > exp {
		return ""
	}
	return parts[0]
}

// csrf returns the CSRF token of the session nonce.
func (g *guard) csrf(nonce string) string {
	if nonce == "" {
		return ""
	}
	return b64.EncodeToString(g.mac("csrf", nonce))
}

// mutationAllowed reports whether r may change something: a bearer request, or one that
// carries its session's CSRF token and passes the cross-origin check.
func (g *guard) mutationAllowed(r *http.Request, id who) bool {
	if !id.ok {
		return false
	}
	if id.bearer {
		return true
	}
	if err := g.cop.Check(r); err != nil || id.nonce == "" {
		return false
	}
	given := r.Header.Get(csrfHeader)
	if given == "" {
		given = r.PostFormValue(csrfField)
	}
	return hmac.Equal([]byte(given), []byte(g.csrf(id.nonce)))
}
