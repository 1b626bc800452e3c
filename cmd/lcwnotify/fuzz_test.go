package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// The decoders take whatever an operator's environment holds. The fuzz targets check
// that none panics, and that a value one accepts reads back the same from how the
// program writes it. Seeds: testdata/fuzz. Run one with, e.g.:
//
//	go test -run '^$' -fuzz FuzzRouteList -fuzztime 30s ./cmd/lcwnotify

func FuzzRouteList(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		var r routeList
		if err := r.Decode(v); err != nil {
			return
		}
		for k, target := range r {
			if k != strings.ToLower(k) || !isGraphID(k) || !isTarget(target) {
				t.Errorf("Decode(%q) accepted the route %q:%q", v, k, target)
			}
		}
		var again routeList
		if err := again.Decode(r.String()); err != nil || !maps.Equal(again, r) {
			t.Errorf("Decode(%q) = %v; reading back %q gives %v, %v", v, r, r.String(), again, err)
		}
	})
}

func FuzzDurationRange(f *testing.F) {
	type spec struct {
		Wait time.Duration `min:"1s" max:"24h"`
		Text string
	}
	f.Fuzz(func(t *testing.T, v string) {
		var s spec
		r, err := readSettings("t", &s, func(string) string { return v })
		if err != nil {
			t.Fatalf("readSettings(%q): %v", v, err)
		}
		trimmed := strings.TrimSpace(v)
		if s.Text != trimmed {
			t.Errorf("a string setting %q reads as %q, want %q", v, s.Text, trimmed)
		}
		if r.problems.has("T_WAIT") {
			if s.Wait != 0 {
				t.Errorf("%q refused, yet the setting holds %s", v, s.Wait)
			}
			return
		}
		if trimmed == "" {
			return
		}
		if s.Wait < time.Second || s.Wait > 24*time.Hour {
			t.Errorf("%q accepted as %s, outside 1s to 24h", v, s.Wait)
		}
		var back spec
		if r, _ := readSettings("t", &back, func(string) string { return s.Wait.String() }); r.problems.has("T_WAIT") || back.Wait != s.Wait {
			t.Errorf("%q reads as %s, but %s reads back as %s", v, s.Wait, s.Wait.String(), back.Wait)
		}
	})
}

func FuzzByteSize(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		var b byteSize
		if err := b.Decode(v); err != nil {
			return
		}
		if b < 0 {
			t.Errorf("Decode(%q) = %d, a negative size", v, b)
		}
		var again byteSize
		if err := again.Decode(b.String()); err != nil || again != b {
			t.Errorf("Decode(%q) = %d; reading back %q gives %d, %v", v, b, b.String(), again, err)
		}
	})
}

func FuzzList(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		var l list
		if err := l.Decode(v); err != nil {
			t.Fatalf("list.Decode(%q): %v", v, err)
		}
		for i, e := range l {
			if e == "" || e != strings.TrimSpace(e) || strings.Contains(e, ",") || slices.Contains(l[:i], e) {
				t.Errorf("list.Decode(%q) = %q: entry %q is empty, untrimmed, split or repeated", v, l, e)
			}
		}
		var again list
		if again.Decode(l.String()); !slices.Equal(again, l) {
			t.Errorf("list.Decode(%q) = %q; reading back %q gives %q", v, l, l.String(), again)
		}
		var ids workflowIDs
		if err := ids.Decode(v); err == nil {
			if !slices.Equal([]string(ids), []string(l)) || slices.ContainsFunc(ids, func(id string) bool { return !isGraphID(id) }) {
				t.Errorf("workflowIDs.Decode(%q) = %q, want the list %q of Graph ids", v, ids, l)
			}
		}
	})
}
