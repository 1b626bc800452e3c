package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/status"
	"github.com/lcwnotify/lcwnotify/internal/status/statustest"
	"github.com/lcwnotify/lcwnotify/internal/status/web"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

const token = "t0ken-for-the-status-page-tests-0123456789"

// hostile is a user name written to break out of HTML.
const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)> "Bob" & 'Eve'`

// site is a status page over a deployment with failures delivered, one of them
// dead-lettered first.
type site struct {
	*statustest.Env
	srv  *httptest.Server
	logs *notifytest.Buffer
}

func newSite(t *testing.T, tok string) *site {
	t.Helper()
	e := statustest.New(t)
	logs := &notifytest.Buffer{}
	h, err := web.New(web.Options{Source: e.Reader, Replayer: statustest.Replayer{D: e.D}, Token: tok, Loopback: true,
		Version: "v-test", LiveInterval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Stop) // before Close, which waits for the live pages
	s := &site{Env: e, srv: srv, logs: logs}

	e.Slack.SetChannelError(statustest.Channel, "channel_not_found")
	e.Publish(e.Event(notifytest.Result{ResultID: "upr-dana", UserID: "u-dana", UserName: "Dana Dead-Letter"}))
	notifytest.Eventually(t, "the dead letter", func() bool {
		rep, err := e.Reader.Report(context.Background(), status.Filter{})
		return err == nil && len(rep.DeadLetters) == 1
	})
	e.Slack.SetChannelError(statustest.Channel, "")
	e.Publish(
		e.Event(notifytest.Result{ResultID: "upr-alex", UserID: "u-alex", UserName: "Alex Wilber", UPN: "alex@contoso.example"}),
		e.Event(notifytest.Result{WorkflowID: "wf-2", WorkflowName: "Offboard leavers", Category: "leaver", ResultID: "upr-megan",
			UserID: "u-megan", UserName: "Megan Bowen", Status: "completedWithErrors"}),
		e.Event(notifytest.Result{ResultID: "upr-bob", UserID: "u-bob", UserName: hostile}),
	)
	notifytest.Eventually(t, "delivered", e.Drained())
	t.Cleanup(func() {
		if strings.Contains(logs.String(), tok) && tok != "" {
			t.Error("the log holds the token")
		}
	})
	return s
}

// request makes one request without following redirects.
func (s *site) request(t *testing.T, method, path string, body url.Values, hdr http.Header) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// login logs in and returns the session cookie and the page's CSRF token.
func (s *site) login(t *testing.T, hdr http.Header) (*http.Cookie, string) {
	t.Helper()
	resp, _ := s.request(t, "POST", "/login", url.Values{"token": {token}, "next": {"/"}}, hdr)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login = %s to %q, want 303 to /", resp.Status, resp.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "lcw_session" {
			c = ck
		}
	}
	if c == nil {
		t.Fatal("login set no session cookie")
	}
	_, page := s.request(t, "GET", "/", nil, http.Header{"Cookie": {c.String()}})
	_, after, ok := strings.Cut(page, `data-csrf="`)
	if !ok {
		t.Fatal("the page carries no CSRF token")
	}
	csrf, _, _ := strings.Cut(after, `"`)
	return c, csrf
}

// TestAccess: without the token every page and API answer is refused; the bearer header
// and the login's cookie (HttpOnly, SameSite=Strict, Secure behind https) are accepted; a
// replay needs the session's CSRF token and passes no cross-origin request.
func TestAccess(t *testing.T) {
	t.Parallel()
	s := newSite(t, token)

	for _, tc := range []struct {
		name, method, path string
		hdr                http.Header
		want               int
	}{
		{"page without token", "GET", "/", nil, http.StatusSeeOther},
		{"api without token", "GET", "/api/status", nil, http.StatusUnauthorized},
		{"live without token", "GET", "/live", nil, http.StatusUnauthorized},
		{"dlq without token", "GET", "/api/dlq", nil, http.StatusUnauthorized},
		{"wrong bearer", "GET", "/api/status", http.Header{"Authorization": {"Bearer " + token + "x"}}, http.StatusUnauthorized},
		{"not a bearer", "GET", "/api/status", http.Header{"Authorization": {"Basic " + token}}, http.StatusUnauthorized},
		{"forged cookie", "GET", "/api/status", http.Header{"Cookie": {"lcw_session=abc.9999999999.def"}}, http.StatusUnauthorized},
		{"bearer", "GET", "/api/status", http.Header{"Authorization": {"Bearer " + token}}, http.StatusOK},
		{"static files", "GET", "/static/app.css", nil, http.StatusOK},
		{"login form", "GET", "/login", nil, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.request(t, tc.method, tc.path, nil, tc.hdr)
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s = %s, want %d", tc.method, tc.path, resp.Status, tc.want)
			}
			if tc.want != http.StatusOK && strings.Contains(body, "Alex Wilber") {
				t.Errorf("a refused answer shows a user: %s", body)
			}
		})
	}
	if resp, body := s.request(t, "POST", "/login", url.Values{"token": {"guess"}}, nil); resp.StatusCode != http.StatusUnauthorized ||
		len(resp.Cookies()) != 0 || !strings.Contains(body, "not the token") {
		t.Errorf("a wrong login = %s with cookies %v", resp.Status, resp.Cookies())
	}

	c, csrf := s.login(t, nil)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || strings.Contains(c.Value, token) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over http, no token in it", c)
	}
	if c2, _ := s.login(t, http.Header{"X-Forwarded-Proto": {"https"}}); !c2.Secure {
		t.Error("behind https the session cookie is not Secure")
	}
	withCookie := http.Header{"Cookie": {c.String()}}
	if resp, body := s.request(t, "GET", "/", nil, withCookie); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Alex Wilber") {
		t.Errorf("the page after login = %s", resp.Status)
	}

	dl := s.deadLetter(t)
	before := len(s.Slack.Messages())
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  http.Header
	}{
		{"no csrf token", url.Values{"id": {dl}}, withCookie},
		{"wrong csrf token", url.Values{"id": {dl}, "csrf": {csrf + "x"}}, withCookie},
		{"csrf token without the session", url.Values{"id": {dl}, "csrf": {csrf}}, nil},
		{"cross-origin", url.Values{"id": {dl}, "csrf": {csrf}}, http.Header{"Cookie": {c.String()}, "Sec-Fetch-Site": {"cross-site"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := s.request(t, "POST", "/dlq/replay", tc.form, tc.hdr)
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("replay = %s, want it refused", resp.Status)
			}
		})
	}
	if n := len(s.Slack.Messages()); n != before {
		t.Fatalf("refused replays posted %d messages", n-before)
	}
	resp, _ := s.request(t, "POST", "/dlq/replay", url.Values{"id": {dl}, "csrf": {csrf}}, withCookie)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("replay with the CSRF token = %s, want 303", resp.Status)
	}
	if n := len(s.Slack.Messages()); n != before+1 {
		t.Errorf("the replay posted %d messages, want 1", n-before)
	}
	_, page := s.request(t, "GET", resp.Header.Get("Location"), nil, withCookie)
	if !strings.Contains(page, dl+": sent") {
		t.Errorf("the page after the replay does not say it was sent")
	}
}

// deadLetter returns the id of the site's dead letter.
func (s *site) deadLetter(t *testing.T) string {
	t.Helper()
	rep, err := s.Reader.Report(context.Background(), status.Filter{})
	if err != nil || len(rep.DeadLetters) != 1 {
		t.Fatalf("dead letters = %v, %v", rep, err)
	}
	return rep.DeadLetters[0].ID
}

// TestLoopbackWithoutToken: on loopback without a token the page needs none, but answers
// only to loopback host names (a name of another site pointed at 127.0.0.1 is refused),
// and a replay still needs the CSRF token.
func TestLoopbackWithoutToken(t *testing.T) {
	t.Parallel()
	s := newSite(t, "")
	if resp, _ := s.request(t, "GET", "/", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("page = %s, want 200", resp.Status)
	}
	req, _ := http.NewRequest("GET", s.srv.URL+"/api/status", nil)
	req.Host = "rebound.attacker.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a request naming another host = %v, %v; want 403", resp, err)
	}
	resp, _ := s.request(t, "POST", "/api/dlq/replay", nil, http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("replay without the CSRF token = %s, want 403", resp.Status)
	}
	c := web.NewClient(s.srv.URL, "", nil)
	out, err := c.ReplayDeadLetters(context.Background(), []string{s.deadLetter(t)}, false, nil)
	if err != nil || len(out) != 1 || out[0].Result != status.ReplaySent {
		t.Errorf("replay through the client = %+v, %v", out, err)
	}
}

// TestPageEscapes: a user name written to break out of the markup shows as text.
func TestPageEscapes(t *testing.T) {
	t.Parallel()
	s := newSite(t, token)
	_, page := s.request(t, "GET", "/", nil, http.Header{"Authorization": {"Bearer " + token}})
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
		t.Errorf("the page holds the hostile name unescaped")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the page lacks the hostile name, escaped")
	}
	if strings.Contains(page, token) {
		t.Error("the page holds the token")
	}
}

// TestClient: the operator commands' client reads the report and the dead letters, and
// replays, with the bearer token.
func TestClient(t *testing.T) {
	t.Parallel()
	s := newSite(t, token)
	ctx := context.Background()
	if _, err := web.NewClient(s.srv.URL, "wrong", nil).Status(ctx, status.Filter{}); err == nil || !strings.Contains(err.Error(), "LCW_UI_TOKEN") {
		t.Errorf("status with a wrong token = %v, want a refusal naming LCW_UI_TOKEN", err)
	}
	c := web.NewClient(s.srv.URL, token, nil)
	rep, err := c.Status(ctx, status.Filter{User: "megan"})
	if err != nil || len(rep.Failures.Items) != 1 || rep.Failures.Items[0].Deliveries[0].Link == "" {
		t.Fatalf("status = %+v, %v", rep, err)
	}
	dls, err := c.DeadLetters(ctx)
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters = %v, %v", dls, err)
	}
	var progress bytes.Buffer
	res, err := c.ReplayPeriod(ctx, status.PeriodReplay{Since: time.Now().Add(-time.Hour), To: "slack", Name: "r-client"},
		func(done, total int) { progress.WriteString(".") })
	if err != nil || res.Counts[status.ReplaySent] != 4 || progress.Len() == 0 {
		t.Errorf("replay = %+v, %v (progress %q)", res, err, progress.String())
	}
}
