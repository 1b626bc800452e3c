package teams

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/notify"
)

// Adaptive Card TextBlocks (and FactSet titles and values) interpret a subset of
// CommonMark, to which Teams adds a little: **bold** and *italic* or _italic_, ~~strike~~,
// `code`, [links](url), <autolinks>, bare URLs it links by itself, "- " and "1. " lists
// at the start of a line, # headings, character references (&amp;) and backslash
// escapes; the templating language turns {{DATE(…)}} and {{TIME(…)}} into dates. Teams
// mentions need an entity in the card's msteams property, which lcwnotify never sends,
// so text cannot mention anyone.
//
// escape neutralises all of it by replacing each character that could start or end
// such a construct with a look-alike that cannot. A renderer's backslash escapes are not
// relied on: Teams' clients differ in which they honour. The look-alikes read the same
// to a person, and a name keeps its letters and digits.

// lookalikes are the replacements, and what unescape maps back (tests only).
var lookalikes = map[rune]rune{
	'*':  '∗', // U+2217 ASTERISK OPERATOR
	'_':  '＿', // U+FF3F FULLWIDTH LOW LINE, at a word's edge only
	'~':  '∼', // U+223C TILDE OPERATOR
	'`':  'ˋ', // U+02CB MODIFIER LETTER GRAVE ACCENT
	'[':  '［', // U+FF3B
	']':  '］', // U+FF3D
	'<':  '＜', // U+FF1C
	'>':  '＞', // U+FF1E
	'\\': '＼', // U+FF3C
	'{':  '｛', // U+FF5B, before another '{' only
	'&':  '＆', // U+FF06, before a character reference only
	':':  '∶', // U+2236 RATIO, before "//" only
	'.':  '․', // U+2024 ONE DOT LEADER, after a leading "www" or number only
	'-':  '‐', // U+2010 HYPHEN, leading only
	'+':  '＋', // U+FF0B, leading only
	'#':  '＃', // U+FF03, leading only
	')':  '）', // U+FF09, after a leading number only
	'=':  '＝', // U+FF1D, leading only
}

// escape makes text from Graph inert in a TextBlock: on one line (notify.Clean), and
// unable to format, link, list, head, reference a character or call a template function.
func escape(s string) string {
	s = notify.Clean(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	lead := leadingNumber(s)
	for i, r := range s {
		rest := s[i+utf8.RuneLen(r):]
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		next, _ := utf8.DecodeRuneInString(rest)
		replace := false
		switch r {
		case '*', '~', '`', '[', ']', '<', '>', '\\':
			replace = true
		case '_':
			// Inside a word (first_last@contoso) an underscore cannot emphasise.
			replace = !isWordRune(prev) || !isWordRune(next)
		case '{':
			replace = next == '{'
		case '&':
			replace = startsReference(rest)
		case ':':
			replace = strings.HasPrefix(rest, "//")
		case '.':
			replace = i == lead || isWWW(s[:i])
		case '-', '+', '#', '=':
			replace = i == 0
		case ')':
			replace = i == lead
		}
		if replace {
			b.WriteRune(lookalikes[r])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// leadingNumber returns the index of the '.' or ')' that would make s an ordered list
// item ("1. ", "12) "), or -1.
func leadingNumber(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i == len(s) || s[i] != '.' && s[i] != ')' {
		return -1
	}
	return i
}

// isWWW reports whether before ends in a "www" that starts a word: with the '.' after
// it, Teams links "www.example.com" by itself.
func isWWW(before string) bool {
	if len(before) < 3 || !strings.EqualFold(before[len(before)-3:], "www") {
		return false
	}
	prev, _ := utf8.DecodeLastRuneInString(before[:len(before)-3])
	return len(before) == 3 || !isWordRune(prev)
}

// startsReference reports whether rest, what follows an '&', makes it a character
// reference: a name, #digits or #x hex digits, then ';'.
func startsReference(rest string) bool {
	end := strings.IndexByte(rest[:min(len(rest), 33)], ';')
	if end <= 0 {
		return false
	}
	ref := rest[:end]
	if h, ok := strings.CutPrefix(ref, "#"); ok {
		if x, ok := strings.CutPrefix(strings.ToLower(h), "x"); ok {
			h = x
		}
		return h != "" && strings.Trim(strings.ToLower(h), "0123456789abcdef") == ""
	}
	for i, r := range ref {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// escapeURL makes a URL safe as the target of [label](url): the characters that would
// end it early are percent-encoded.
func escapeURL(u string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "[", "%5B", "]", "%5D").Replace(u)
}

// plain cleans text that Teams shows as it is (an action's title, a card's summary),
// bounded to n characters.
func plain(s string, n int) string {
	s = notify.Clean(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}
