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

var demoSummary = regexp.MustCompile(`Notifications: (\d+) expected, (\d+) delivered`)

// TestDemoEndsByItself: `lcwnotify demo` with no configuration at all, at its normal
// speed, ends by itself with status 0 within the minute the contract promises, having
// printed every notification its scenario calls for, once.
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
}
