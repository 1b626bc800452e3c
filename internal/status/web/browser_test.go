package web_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/lcwnotify/lcwnotify/internal/status/statustest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// screenshots, when set, is where TestInBrowser writes its screenshots (the docs' are
// made with: go test ./status/web -run TestInBrowser -screenshots ../../docs/img).
var screenshots = flag.String("screenshots", "", "directory to write the browser tests' screenshots to")

// chromium returns the browser binary, or skips the test outside CI when there is none
// (.ci/run installs Debian's chromium, and CI must run these tests).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium binary on PATH: .ci/run installs Debian's chromium before the tests")
	}
	t.Skip("no chromium binary on PATH (apt-get install chromium, or run .ci/run): skipping the browser tests")
	return ""
}

// browser starts a headless chromium of its own, closed when the test ends, with every
// background connection off (this machine's network is closed).
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// A dialog is what an injected script would open: fail on any.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Errorf("the page opened a dialog: %q", ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return ctx
}

// run runs steps, failing the test after 30 s.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// shows waits until the page's address holds query and its failures table shows want
// and not notWant.
func shows(t *testing.T, ctx context.Context, what, query, want, notWant string) {
	t.Helper()
	cond := fmt.Sprintf(`location.search.includes(%q) && !!document.querySelector("table.failures") &&
		document.querySelector("table.failures tbody").innerText.includes(%q) &&
		!document.querySelector("table.failures tbody").innerText.includes(%q)`, query, want, notWant)
	// A poll runs in the page, and a navigation under way ends it: poll again until the
	// page that answers the form is there.
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = chromedp.Run(tctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(time.Second)))
		cancel()
		if err == nil {
			return
		}
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	rows, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table.failures")))
	t.Fatalf("%s: at %s the page does not show %q without %q (%v):\n%s", what, loc, want, notWant, err, rows)
}

func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	png := get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(*screenshots, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInBrowser drives the page in a real browser: without the token it is refused and
// asks to log in; after the login it shows the failures the test delivered, with where
// each went and a hostile user name as text; the filter narrows them; a failure
// delivered meanwhile appears without a reload; a replay without its CSRF token is
// refused; the replay button re-delivers the dead letter once.
func TestInBrowser(t *testing.T) {
	ctx := browser(t)
	s := newSite(t, token)

	run(t, ctx, "open the page without the token", chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	loc := get(t, ctx, "where it went", chromedp.Location())
	if !strings.Contains(loc, "/login") || strings.Contains(text(t, ctx, "body"), "Alex Wilber") {
		t.Fatalf("without the token the page went to %s and showed the failures", loc)
	}
	run(t, ctx, "log in with a wrong token", chromedp.SendKeys(chromedp.ID("token"), "not-the-token"), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(".flash-bad")))
	run(t, ctx, "log in", chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("table.failures")))

	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies
	if len(cookies) != 1 || !cookies[0].HTTPOnly || cookies[0].SameSite != network.CookieSameSiteStrict {
		t.Errorf("cookies %+v: want one session cookie, HttpOnly and SameSite=Strict", cookies)
	}

	rows := text(t, ctx, "table.failures tbody")
	for _, want := range []string{"Alex Wilber", "alex@contoso.example", "Megan Bowen", "Offboard leavers", "completedWithErrors",
		`<script>alert(1)</script>`, "Add user to groups", "The group does not exist.", statustest.Channel, "notified", "dead-lettered"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the failures table lacks %q:\n%s", want, rows)
		}
	}
	link := get(t, ctx, "the permalink", chromedp.AttributeValue(chromedp.CSS(`.told a`), "href")).Value
	if !strings.HasPrefix(link, statustest.Workspace+"archives/"+statustest.Channel+"/p") {
		t.Errorf("the delivery links to %q, want a permalink into the workspace", link)
	}
	shoot(t, ctx, "status.png")

	run(t, ctx, "filter by workflow", chromedp.SetValue(chromedp.ID("f-workflow"), "wf-2"), chromedp.Submit(chromedp.ID("f-workflow")))
	shows(t, ctx, "filtered by workflow wf-2", "workflow=wf-2", "Megan Bowen", "Alex Wilber")
	run(t, ctx, "filter by user", chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("f-user")),
		chromedp.SendKeys(chromedp.ID("f-user"), "ALEX"), chromedp.Submit(chromedp.ID("f-user")))
	shows(t, ctx, "filtered by user ALEX", "user=ALEX", "Alex Wilber", "Megan Bowen")

	run(t, ctx, "back to all", chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.failures")),
		chromedp.WaitVisible(chromedp.CSS("#live-dot.on")))
	s.Publish(s.Event(notifytest.Result{ResultID: "upr-nestor", UserID: "u-nestor", UserName: "Nestor Wilke"}))
	get(t, ctx, "the new failure appears by itself", chromedp.Poll[bool](`document.querySelector("table.failures").innerText.includes("Nestor Wilke")`,
		chromedp.WithPollingTimeout(20*time.Second)))

	before := len(s.Slack.Messages())
	// The replay form without its CSRF token, as a forged one would come: refused.
	get(t, ctx, "submit the replay without its CSRF token", chromedp.Evaluate[bool](`(() => {
		const f = document.querySelector('button[aria-label^="Replay dead letter"]').form;
		f.querySelector('input[name=csrf]').remove();
		f.submit();
		return true;
	})()`))
	run(t, ctx, "the refusal", chromedp.WaitVisible(chromedp.CSS("body > pre")))
	if got := text(t, ctx, "body > pre"); !strings.Contains(got, "forbidden") {
		t.Errorf("a replay without its CSRF token got %q, want it forbidden", got)
	}
	if n := len(s.Slack.Messages()); n != before {
		t.Fatalf("a replay without its CSRF token posted %d messages", n-before)
	}
	run(t, ctx, "back to the page", chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.failures")))
	run(t, ctx, "replay the dead letter", chromedp.Click(chromedp.CSS(`button[aria-label^="Replay dead letter"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
	if f := text(t, ctx, ".flash-ok"); !strings.Contains(f, "sent") {
		t.Errorf("after the replay the page says %q", f)
	}
	notifytest.Eventually(t, "the replay posted", func() bool { return len(s.Slack.Messages()) > before })
	time.Sleep(300 * time.Millisecond) // a second message would have come by now
	if got := len(s.Slack.Messages()) - before; got != 1 {
		t.Errorf("the replay button made %d messages, want 1", got)
	} else if m := s.Slack.Messages()[before]; !strings.Contains(m.BlockText(), "Dana Dead-Letter") {
		t.Errorf("the replayed message does not name the dead-lettered user: %s", m.BlockText())
	}
	if replayed := text(t, ctx, "#dead-letters"); !strings.Contains(replayed, "replayed") {
		t.Errorf("the dead letter is not shown as replayed: %s", replayed)
	}
	shoot(t, ctx, "status-replayed.png")

	run(t, ctx, "a narrow screen", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("table.failures")))
	shoot(t, ctx, "status-phone.png")
}
