package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Stamped by the release build (see Dockerfile):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=0123abc" ./cmd/lcwnotify
//
// These two are the only package-level variables: -X can set nothing else.
var (
	version string
	commit  string
)

// buildInfo is what `lcwnotify version` prints and lcwnotify_build_info exports.
type buildInfo struct {
	Version   string
	Commit    string
	GoVersion string
}

// readBuildInfo returns the stamped version and commit, or what the Go toolchain
// recorded: the module version for `go install …@v1.2.3`, the VCS revision for a build
// in a checkout.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && b.Commit != "" && b.Commit != commit {
			b.Commit += "-dirty"
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func writeVersion(w io.Writer, b buildInfo) error {
	_, err := fmt.Fprintf(w, "lcwnotify %s\ncommit %s\n%s %s/%s\n", b.Version, b.Commit, b.GoVersion, runtime.GOOS, runtime.GOARCH)
	return err
}
