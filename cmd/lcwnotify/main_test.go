package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// The lcwnotify binary the process tests run, built once per test binary (on first use,
// so that tests that need none stay fast) with a stamped version and commit.
var (
	binDir    string
	buildOnce sync.Once
	binary    string
	buildErr  error
)

const (
	testVersion = "v0.0.0-test"
	testCommit  = "0123456789abcdef"
)

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "lcwnotify-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// lcwnotifyBinary builds the binary the first time a test needs it.
func lcwnotifyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binary = filepath.Join(binDir, "lcwnotify")
		out, err := exec.Command("go", "build", "-o", binary,
			"-ldflags", "-X main.version="+testVersion+" -X main.commit="+testCommit, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build lcwnotify: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// proc is a running lcwnotify process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *notifytest.Buffer
	stderr *notifytest.Buffer
	done   chan struct{}
	code   int
}

// baseEnv is the environment every test process starts from: nothing of the developer's
// (no LCW_ settings, no Azure login), the HTTP server on a free loopback port.
func baseEnv(t *testing.T) map[string]string {
	return map[string]string{
		"PATH":          os.Getenv("PATH"),
		"TMPDIR":        t.TempDir(),
		"LCW_HTTP_ADDR": "127.0.0.1:0",
		"LCW_DATA_DIR":  t.TempDir(),
	}
}

func start(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(lcwnotifyBinary(t), args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{t: t, cmd: cmd, stdout: &notifytest.Buffer{}, stderr: &notifytest.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			p.code = ee.ExitCode()
		default:
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("lcwnotify %s stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.stdout, p.stderr)
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(limit):
		p.t.Fatalf("lcwnotify did not exit within %s", limit)
		return -1
	}
}

// runBinary runs lcwnotify to completion.
func runBinary(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, env, args...)
	code = p.wait(60 * time.Second)
	return code, p.stdout.String(), p.stderr.String()
}

// httpAddr returns the address of the operations server, from the process's log.
func (p *proc) httpAddr() string {
	p.t.Helper()
	var addr string
	eventually(p.t, 15*time.Second, "the HTTP server's address in the log", func() bool {
		for _, l := range p.logLines() {
			if l["msg"] == "serving /healthz, /readyz and /metrics" {
				addr, _ = l["addr"].(string)
				return addr != ""
			}
		}
		return false
	})
	return addr
}

// logLines decodes the JSON log lines written so far.
func (p *proc) logLines() []map[string]any {
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version"} {
		code, out, _ := runBinary(t, baseEnv(t), arg)
		if code != 0 {
			t.Fatalf("%s: exit %d, want 0", arg, code)
		}
		for _, want := range []string{"lcwnotify " + testVersion, "commit " + testCommit, runtime.Version()} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output %q lacks %q", arg, out, want)
			}
		}
	}
}

// TestHelpCommand: help lists every setting, and never a value, even of a secret set in
// the environment.
func TestHelpCommand(t *testing.T) {
	t.Parallel()
	env := baseEnv(t)
	env["LCW_SLACK_TOKEN"] = "xoxb-HELPS3CR3T"
	env["LCW_WEBHOOK_SECRET"] = "whsec_HELPS3CR3T"
	env["AZURE_CLIENT_SECRET"] = "HELPS3CR3T"
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "run"}, {"run", "-h"}, {"demo", "--help"}, {"check", "-help"}, {"digest", "--help"}, {"help", "digest"}, {"test-notification", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runBinary(t, env, args...)
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr: %s", code, errOut)
			}
			for _, name := range settingNames(t) {
				if !strings.Contains(out, name) {
					t.Errorf("help lacks %s", name)
				}
			}
			if strings.Contains(out+errOut, "HELPS3CR3T") {
				t.Errorf("help printed a secret:\n%s", out)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"serve"}, `unknown command "serve"`},
		{[]string{"run", "--verbose"}, "flag provided but not defined: -verbose"},
		{[]string{"watch", "now"}, `unexpected argument "now"`},
		{[]string{"version", "now"}, `unexpected argument "now"`},
		{[]string{"help", "nope"}, `unknown command "nope"`},
		{[]string{"demo", "-speed", "0"}, "-speed 0"},
		{[]string{"digest", "--since", "40d"}, "at most 30d"},
		{[]string{"digest", "--speed", "2"}, "flag provided but not defined: -speed"},
		{[]string{"test-notification", "nowhere"}, `unknown destination "nowhere"`},
		{[]string{"test-notification", "teams", "slack"}, `unexpected argument "teams"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runBinary(t, baseEnv(t), tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "lcwnotify help") {
				t.Errorf("stderr %q: want %q and a pointer to help", errOut, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// TestBadConfigExits2: every command that reads the configuration refuses a bad one
// before starting anything, one line per bad variable, naming it.
func TestBadConfigExits2(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"run", "watch", "notify", "demo", "check", "digest"} {
		t.Run(cmd, func(t *testing.T) {
			env := baseEnv(t)
			env["LCW_POLL_INTERVAL"] = "banana"
			env["LCW_SLACK_TOKEN"] = "not-a-token-BADS3CR3T"
			env["LCW_SLACK_CHANNEL"] = "C0123ABCD"
			code, _, errOut := runBinary(t, env, cmd)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errOut)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
				if strings.HasPrefix(l, "lcwnotify: LCW_") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "lcwnotify: LCW_POLL_INTERVAL: ") ||
				!strings.HasPrefix(lines[1], "lcwnotify: LCW_SLACK_TOKEN: ") {
				t.Errorf("stderr:\n%s\nwant one line for LCW_POLL_INTERVAL and one for LCW_SLACK_TOKEN", errOut)
			}
			if strings.Contains(errOut, "BADS3CR3T") {
				t.Errorf("stderr quotes the token:\n%s", errOut)
			}
			if entries, _ := os.ReadDir(env["LCW_DATA_DIR"]); len(entries) > 0 {
				t.Errorf("the data directory was touched before the configuration was validated")
			}
		})
	}
}

// TestPlainHTTPWebhookExits2: an http webhook on another host stops the start, naming
// LCW_WEBHOOK_URL without quoting it, unless LCW_WEBHOOK_ALLOW_HTTP=true.
func TestPlainHTTPWebhookExits2(t *testing.T) {
	t.Parallel()
	env := baseEnv(t)
	env["LCW_WEBHOOK_URL"] = "http://hooks.example/lcw?token=PLAINS3CR3T"
	env["LCW_WEBHOOK_SECRET"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	code, _, errOut := runBinary(t, env, "notify")
	if code != 2 || !strings.Contains(errOut, "lcwnotify: LCW_WEBHOOK_URL: ") || !strings.Contains(errOut, "LCW_WEBHOOK_ALLOW_HTTP=true") {
		t.Fatalf("exit %d, stderr:\n%s\nwant 2 and a line for LCW_WEBHOOK_URL that names LCW_WEBHOOK_ALLOW_HTTP", code, errOut)
	}
	if strings.Contains(errOut, "PLAINS3CR3T") {
		t.Errorf("stderr quotes the URL:\n%s", errOut)
	}
	env["LCW_WEBHOOK_ALLOW_HTTP"] = "true"
	if code, _, errOut := runBinary(t, env, "check"); code == 2 {
		t.Errorf("with LCW_WEBHOOK_ALLOW_HTTP=true: exit 2, stderr:\n%s", errOut)
	}
}

func TestNoDestinationExits2(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"run", "notify"} {
		code, _, errOut := runBinary(t, baseEnv(t), cmd)
		if code != 2 || !strings.Contains(errOut, "no destination configured") {
			t.Errorf("%s: exit %d, stderr %q; want 2 and 'no destination configured'", cmd, code, errOut)
		}
	}
}

var rerunOf = regexp.MustCompile(`clicks "Re-run failed tasks" on the failure of "([^"]+)"`)

// TestDemo: the demo needs nothing, ends by itself, prints every notification it
// expected, the on-call person's re-run from Slack step by step and the failure's
// resolution (which is no notification), and says so.
func TestDemo(t *testing.T) {
	t.Parallel()
	env := baseEnv(t)
	delete(env, "LCW_DATA_DIR") // a temporary store of its own
	delete(env, "LCW_HTTP_ADDR")
	code, out, errOut := runBinary(t, env, "demo", "-speed", "6")
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Graph simulator  http://127.0.0.1:",
		"» run 1 of 'Onboard new hires'",
		"curl -X PATCH",
		"Lifecycle workflow failed: Offboard leavers",
		"Lifecycle workflow completed with errors",
		"» the on-call person clicks \"Re-run failed tasks\" on the failure of",
		"» the click reaches lcwnotify as Slack sends it: POST http://127.0.0.1:",
		"(to @oncall, only they see it) Re-running the failed tasks of",
		"↻ oncall asked to re-run the failed tasks for",
		"↻ Graph accepted the request to re-run the failed tasks for",
		"✓ Resolved: ",
		"‼ Lifecycle workflow quarantined: Onboard new hires",
		"✓ Lifecycle workflow released from quarantine: Onboard new hires",
		"Demo over in",
		"Resolutions: 1 expected, 1 delivered to console.",
		"Workflow changes: 2 expected, 2 delivered to console.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	var expected, delivered int
	for _, l := range strings.Split(out, "\n") {
		if _, err := fmt.Sscanf(l, "Notifications: %d expected, %d delivered to console.", &expected, &delivered); err == nil {
			break
		}
	}
	if expected == 0 || delivered != expected {
		t.Errorf("summary: %d expected, %d delivered; want equal and more than 0:\n%s", expected, delivered, out)
	}
	if got := strings.Count(out, "\n✗ ") + strings.Count(out, "\n! "); got != expected {
		t.Errorf("printed %d notifications, want %d", got, expected)
	}
	// The resolution names the user as the failure did, not by the id its event carries.
	if m := rerunOf.FindStringSubmatch(out); m == nil || !strings.Contains(out, "✓ Resolved: "+m[1]+" (") {
		t.Errorf("the resolution does not name the user re-run (%q):\n%s", m, out)
	}
}

// TestDemoInterrupted: Ctrl-C ends the demo early and cleanly.
func TestDemoInterrupted(t *testing.T) {
	t.Parallel()
	env := baseEnv(t)
	p := start(t, env, "demo")
	eventually(t, 20*time.Second, "the scenario to start", func() bool {
		return strings.Contains(p.stdout.String(), "» run 1 of")
	})
	p.signal(syscall.SIGINT)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGINT, want 0", code)
	}
	if out := p.stdout.String(); !strings.Contains(out, "Demo stopped early") {
		t.Errorf("stdout lacks the early-stop summary:\n%s", out)
	}
}
