package slack

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/notify"
)

// escape makes text from Graph inert in Slack mrkdwn. It escapes '&', '<' and '>' (so
// nothing can mention, as <!channel> or <@U…> do, or link, as <https://x|y> does) and
// replaces the characters that would format text (*bold*, _italic_, ~strike~, `code`)
// with look-alikes that do not. notify.Clean has already put the text on one line (so a
// name cannot fake a line of its own); escape cleans again for any caller that did not.
func escape(s string) string {
	s = notify.Clean(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '*':
			b.WriteRune('∗') // U+2217 ASTERISK OPERATOR
		case '~':
			b.WriteRune('∼') // U+223C TILDE OPERATOR
		case '`':
			b.WriteRune('ˋ') // U+02CB MODIFIER LETTER GRAVE ACCENT
		case '_':
			// Inside a word (first_last@contoso) an underscore cannot format; at a word's
			// edge (_italic_) it can.
			prev, _ := utf8.DecodeLastRuneInString(s[:i])
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if isWordRune(prev) && isWordRune(next) {
				b.WriteByte('_')
			} else {
				b.WriteRune('＿') // U+FF3F FULLWIDTH LOW LINE
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// escapeURL makes a URL safe inside <url|label>: the characters mrkdwn gives a meaning
// are escaped, and '|' cannot end the URL early.
func escapeURL(u string) string {
	return strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C", " ", "%20").Replace(u)
}

// textLen counts characters as Slack does, in UTF-16 code units.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// splitText cuts escaped mrkdwn into pieces of at most limit characters, preferring to
// cut at a space and never inside an entity such as &amp;.
func splitText(s string, limit int) []string {
	var parts []string
	for textLen(s) > limit {
		cut := cutIndex(s, limit)
		parts = append(parts, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut:], " ")
	}
	return append(parts, s)
}

// cutIndex returns the byte offset of a good place to cut s so that s[:cut] holds at most
// limit characters.
func cutIndex(s string, limit int) int {
	n, end := 0, 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > limit {
			break
		}
		n += w
		end = i + utf8.RuneLen(r)
	}
	// Do not cut an entity in two.
	if amp := strings.LastIndexByte(s[:end], '&'); amp >= 0 && !strings.Contains(s[amp:end], ";") && amp > 0 {
		end = amp
	}
	// Prefer a space in the last fifth.
	if sp := strings.LastIndexByte(s[:end], ' '); sp > end*4/5 {
		end = sp
	}
	if end == 0 {
		// A limit too small for a single character or entity; cannot happen with
		// Slack's limits, but never loop forever.
		_, w := utf8.DecodeRuneInString(s)
		end = w
	}
	return end
}
