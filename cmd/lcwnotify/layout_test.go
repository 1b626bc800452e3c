package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Test-support packages never reach the binary; the Graph simulator does only through the
// demo, which plays it.
func TestBinaryLinksNoTestSupport(t *testing.T) {
	const module = "github.com/lcwnotify/lcwnotify/"
	testSupport := []string{"internal/slacktest", "internal/webhooktest", "internal/httpfake", "internal/harness", "internal/pagerdutytest", "internal/teamstest", "internal/status/statustest", "notify/notifytest", "events/eventstest", "watcher/graph/graphtest"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			pkg, ours := strings.CutPrefix(path, module)
			if !ours {
				continue
			}
			for _, ts := range testSupport {
				if pkg == ts {
					t.Errorf("%s imports the test-support package %s", name, pkg)
				}
			}
			if pkg == "internal/graphsim" && name != "demo.go" {
				t.Errorf("%s imports the Graph simulator; only demo.go may", name)
			}
		}
	}
}
