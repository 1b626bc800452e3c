package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// The binary under test: built once, on first use, into a directory TestMain removes.
var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// parallel is how many tests run at once unless -parallel says otherwise: they spend
// their time waiting for pollers, acknowledgement deadlines, leases and rate limits,
// not computing, so more of them than the machine has cores overlap well.
const parallel = "4"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", parallel)
	}
	var err error
	if binDir, err = os.MkdirTemp("", "lcwnotify-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// binary returns the lcwnotify binary, building it the first time; it skips the test
// with -short.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end suite: skipped with -short")
	}
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		binPath, buildErr = harness.Build(ctx, binDir, harness.BuildOptions{Race: raceEnabled})
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// soak reports whether the long variants run (LCW_E2E_SOAK=1).
func soak() bool { return os.Getenv("LCW_E2E_SOAK") == "1" }

// scaled returns n, or several times n in the long variants: how many results a traffic
// test drives.
func scaled(n int) int {
	if soak() {
		return 8 * n
	}
	return n
}

// randomSeed returns the seed of a test's randomness — the traffic, the moments things break —
// and logs it: LCW_E2E_SEED replays the same traffic and the same choices (the timing of
// the processes themselves is the machine's).
func randomSeed(t *testing.T) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if v := os.Getenv("LCW_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("LCW_E2E_SEED=%q: want a number", v)
		}
		s = n
	}
	t.Logf("seed %d (LCW_E2E_SEED=%d replays it)", s, s)
	return s
}
