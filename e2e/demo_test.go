package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/harness"
)

var (
	demoSummary     = regexp.MustCompile(`Notifications: (\d+) expected, (\d+) delivered`)
	demoResolutions = regexp.MustCompile(`Resolutions: (\d+) expected, (\d+) delivered`)
	demoRerunOf     = regexp.MustCompile(`» the on-call person clicks "Re-run failed tasks" on the failure of "([^"]+)" in Slack`)
)

// TestDemoEndsByItself: `lcwnotify demo` with no configuration at all, at its normal
// speed, ends by itself with status 0 within the minute the contract promises, having
// printed every notification its scenario calls for, once; the on-call person's click
// on a failure's "Re-run failed tasks", lcwnotify's answers to them, the action's
// records and the failure's resolution, in that order, the resolution not counted as a
// notification; the joiner workflow quarantined and released; and no digest, which
// LCW_DIGEST unset leaves off.
func TestDemoEndsByItself(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	env := map[string]string{"TMPDIR": t.TempDir()}
	start := time.Now()
	p, err := harness.Start("demo", bin, env, "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, p.Stdout(), p.Stderr())
	}
	t.Logf("demo ended after %s", time.Since(start).Round(100*time.Millisecond))
	out := p.Stdout()
	if code != 0 {
		t.Fatalf("demo exited %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, p.Stderr())
	}
	m := demoSummary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo printed no notification summary:\n%s", out)
	}
	want, _ := strconv.Atoi(m[1])
	delivered, _ := strconv.Atoi(m[2])
	printed := 0
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "✗ Lifecycle workflow") || strings.HasPrefix(line, "! Lifecycle workflow") {
			printed++
		}
	}
	if want == 0 || delivered != want || printed != want {
		t.Errorf("demo: %d notifications expected, %d delivered, %d printed; want all equal and above 0\n%s", want, delivered, printed, out)
	}

	r := demoResolutions.FindStringSubmatch(out)
	if r == nil || r[1] != "1" || r[2] != "1" || strings.Count(out, "\n✓ Resolved: ") != 1 {
		t.Errorf("resolutions %q, %d printed; want 1 expected, delivered and printed", r, strings.Count(out, "\n✓ Resolved: "))
	}
	who := demoRerunOf.FindStringSubmatch(out)
	if who == nil {
		t.Fatalf("demo printed no click:\n%s", out)
	}
	// Each step once, after the one before it.
	steps := []string{
		"✗ Lifecycle workflow failed: Onboard new hires (joiner)\n  user:     " + who[1] + " (",
		who[0],
		"» the click reaches lcwnotify as Slack sends it: POST http://127.0.0.1:",
		"(to @oncall, only they see it) Re-running the failed tasks of " + who[1] + " in Onboard new hires",
		"↻ oncall asked to re-run the failed tasks for " + who[1] + "\n",
		"↻ Graph accepted the request to re-run the failed tasks for " + who[1] + "\n",
		"✓ Resolved: " + who[1] + " (",
	}
	at := 0
	for _, step := range steps {
		i := strings.Index(out[at:], step)
		if i < 0 || strings.Count(out, step) != 1 {
			t.Errorf("demo output has %q %d times, or not after %q; want once, in order:\n%s", step, strings.Count(out, step), out[:at], out)
			break
		}
		at += i + len(step)
	}
	for _, want := range []string{"(to @oncall, only they see it) Graph accepted", "‼ Lifecycle workflow quarantined: Onboard new hires",
		"✓ Lifecycle workflow released from quarantine: Onboard new hires", "Workflow changes: 2 expected, 2 delivered to console."} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(out, "▤ Lifecycle workflows") {
		t.Errorf("demo printed a digest with LCW_DIGEST unset:\n%s", out)
	}
}
