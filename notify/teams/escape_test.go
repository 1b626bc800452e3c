package teams

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/notify"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Adele Vance", "Adele Vance"},
		{"first_last@contoso.com", "first_last@contoso.com"},
		{"**bold** _it_ ~~s~~ `code`", "∗∗bold∗∗ ＿it＿ ∼∼s∼∼ ˋcodeˋ"},
		{"[Microsoft support](https://evil.example/login)", "［Microsoft support］(https∶//evil.example/login)"},
		{"<https://evil.example>", "＜https∶//evil.example＞"},
		{"<at>Megan</at>", "＜at＞Megan＜/at＞"},
		{"see www.evil.example or WWW.x.y, not awww.", "see www․evil.example or WWW․x.y, not awww."},
		{"- not a list", "‐ not a list"},
		{"1. not a list", "1․ not a list"},
		{"12) not a list", "12） not a list"},
		{"# not a heading", "＃ not a heading"},
		{"+ not a list", "＋ not a list"},
		{"== nor this", "＝= nor this"},
		{"3.5 GB quota, 1) two", "3․5 GB quota, 1) two"},
		{"{{DATE(2017-02-14T06:00:00Z, SHORT)}}", "｛{DATE(2017-02-14T06:00:00Z, SHORT)}}"},
		{"&amp; &#60; &#x3C; but AT&T & co", "＆amp; ＆#60; ＆#x3C; but AT&T & co"},
		{`C:\share\file`, "C:＼share＼file"},
		{"line one\nline two\u202e", "line one line two"},
	}
	for _, tc := range tests {
		if got := escape(tc.in); got != tc.want {
			t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// unescape maps the look-alikes back, so that a test can tell escape kept everything
// else of the text.
func unescape(s string) string {
	back := map[rune]rune{}
	for r, l := range lookalikes {
		back[l] = r
	}
	return strings.Map(func(r rune) rune {
		if o, ok := back[r]; ok {
			return o
		}
		return r
	}, s)
}

var (
	reference = regexp.MustCompile(`&([A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);`)
	listStart = regexp.MustCompile(`^([-+#=]|[0-9]+[.)])`)
	bareWWW   = regexp.MustCompile(`(?i)(^|[^\pL\pN])www\.`)
)

// FuzzEscape: whatever Graph sends, the escaped text holds nothing a TextBlock
// interprets, stays on one line, and is the cleaned text with look-alikes in place of
// the characters it neutralised.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"**x**", "_a_ b_c", "[x](y)", "<x>", "1. x", "- x", "www.x", "a://b", "{{DATE(x)}}", "&amp;", `\*`, "é_", "_é", "x\n- y", "\u202e", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := escape(in)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\t") {
			t.Fatalf("escape(%q) = %q: not one line of valid UTF-8", in, got)
		}
		if i := strings.IndexAny(got, "*~`[]<>\\"); i >= 0 {
			t.Fatalf("escape(%q) = %q keeps %q", in, got, got[i])
		}
		for _, bad := range []string{"{{", "://"} {
			if strings.Contains(got, bad) {
				t.Fatalf("escape(%q) = %q keeps %q", in, got, bad)
			}
		}
		if reference.MatchString(got) || listStart.MatchString(got) || bareWWW.MatchString(got) {
			t.Fatalf("escape(%q) = %q keeps a character reference, a list or heading marker, or a bare www.", in, got)
		}
		for i, r := range got {
			if r != '_' {
				continue
			}
			prev, _ := utf8.DecodeLastRuneInString(got[:i])
			next, _ := utf8.DecodeRuneInString(got[i+1:])
			if !isWordRune(prev) || !isWordRune(next) {
				t.Fatalf("escape(%q) = %q keeps an underscore at a word's edge", in, got)
			}
		}
		if unescape(got) != unescape(notify.Clean(in)) {
			t.Fatalf("escape(%q) = %q changed more than the characters it neutralises", in, got)
		}
	})
}
