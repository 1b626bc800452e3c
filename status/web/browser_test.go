package web_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/lcwnotify/lcwnotify/notify/notifytest"
	"github.com/lcwnotify/lcwnotify/status/statustest"
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
// delivered meanwhile appears without a reload; the replay button re-delivers the dead
// letter once.
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

	run(t, ctx, "filter by workflow", chromedp.SetValue(chromedp.ID("f-workflow"), "wf-2"),
		chromedp.Submit(chromedp.ID("f-workflow")), chromedp.WaitVisible(chromedp.CSS(`a.btn.ghost[href="/"]`)))
	loc = get(t, ctx, "where it went", chromedp.Location())
	if rows := text(t, ctx, "table.failures tbody"); !strings.Contains(loc, "workflow=wf-2") || !strings.Contains(rows, "Megan Bowen") || strings.Contains(rows, "Alex Wilber") {
		t.Errorf("filtered by wf-2 (%s), the table shows:\n%s", loc, rows)
	}
	run(t, ctx, "filter by user", chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("f-user")),
		chromedp.SendKeys(chromedp.ID("f-user"), "ALEX"), chromedp.Submit(chromedp.ID("f-user")),
		chromedp.WaitVisible(chromedp.CSS(`a.btn.ghost[href="/"]`)))
	if rows := text(t, ctx, "table.failures tbody"); !strings.Contains(rows, "Alex Wilber") || strings.Contains(rows, "Megan Bowen") {
		t.Errorf("filtered by user ALEX, the table shows:\n%s", rows)
	}

	run(t, ctx, "back to all", chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.failures")),
		chromedp.WaitVisible(chromedp.CSS("#live-dot.on")))
	s.Publish(s.Event(notifytest.Result{ResultID: "upr-nestor", UserID: "u-nestor", UserName: "Nestor Wilke"}))
	get(t, ctx, "the new failure appears by itself", chromedp.Poll[bool](`document.querySelector("table.failures").innerText.includes("Nestor Wilke")`,
		chromedp.WithPollingTimeout(20*time.Second)))

	before := len(s.Slack.Messages())
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
