package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeAgreesWithHelp: the README's configuration table is the one help prints,
// row for row: the same sections, settings, order, defaults and meanings. The README
// may set literals in backticks, and has one row help keeps apart: AZURE_*, which
// azidentity reads.
func TestReadmeAgreesWithHelp(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	in := false
	for line := range strings.SplitSeq(string(b), "\n") {
		switch {
		case line == "| variable | default | meaning |":
			in = true
		case in && !strings.HasPrefix(line, "|"):
			in = false
		case in && !strings.HasPrefix(line, "|---") && !strings.HasPrefix(line, "| `AZURE_*`"):
			got = append(got, strings.ReplaceAll(line, "`", ""))
		}
	}
	if len(got) == 0 {
		t.Fatal("README has no configuration table (| variable | default | meaning |)")
	}

	rows, err := helpRows()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range rows {
		if r.group != "" {
			want = append(want, markdownRow("**"+r.group+"**", "", ""))
		}
		want = append(want, markdownRow(r.key, r.def, r.meaning))
	}
	for i := range max(len(got), len(want)) {
		g, w := "(none)", "(none)"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("README table row %d:\ngot  %s\nwant %s", i+1, g, w)
		}
	}
}

func markdownRow(cells ...string) string {
	var b strings.Builder
	for _, c := range cells {
		b.WriteString("| " + c)
		if c != "" {
			b.WriteByte(' ')
		}
	}
	return b.String() + "|"
}
