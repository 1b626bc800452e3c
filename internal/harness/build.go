package harness

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// Package is the import path of the binary under test.
const Package = "github.com/lcwnotify/lcwnotify/cmd/lcwnotify"

// Version is stamped into the binaries Build makes.
const Version = "v0.0.0-e2e"

// BuildOptions configure Build.
type BuildOptions struct {
	// Race builds with the race detector, so that races in the real process under kills
	// and outages are reported on its stderr (see Process.Races).
	Race bool
}

// Build compiles lcwnotify into dir and returns the binary's path. It runs the go
// command of PATH from the current directory, which must lie inside the module.
func Build(ctx context.Context, dir string, o BuildOptions) (string, error) {
	bin := filepath.Join(dir, "lcwnotify")
	args := []string{"build", "-o", bin, "-ldflags", "-X main.version=" + Version}
	if o.Race {
		args = append(args, "-race")
	}
	out, err := exec.CommandContext(ctx, "go", append(args, Package)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", Package, err, out)
	}
	return bin, nil
}
