package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/status"
)

// funcs are the templates' helpers. None of them returns markup: html/template escapes
// everything they give.
var funcs = template.FuncMap{
	"when":   when,
	"ago":    ago,
	"short":  short,
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"dur":    func(d status.Duration) string { return humanDuration(time.Duration(d)) },
	"slug":   slug,
	"plural": plural,
	"int":    func(v uint64) int { return int(min(v, 1<<31)) },
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
}

// when writes a time in full, in UTC: the same for every reader of the page.
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// short writes a time as briefly as it stays clear relative to now.
func short(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t, now = t.UTC(), now.UTC()
	switch {
	case t.Year() == now.Year() && t.YearDay() == now.YearDay():
		return t.Format("15:04:05")
	case now.Sub(t) < 6*24*time.Hour && now.After(t):
		return t.Format("Mon 15:04")
	}
	return t.Format("Jan 2 15:04")
}

// ago writes how long ago t was, or how long until it comes.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		if -d < time.Second {
			return "now"
		}
		return "in " + humanDuration(-d)
	}
	if d < time.Second {
		return "just now"
	}
	return humanDuration(d) + " ago"
}

// humanDuration writes d in its two largest units: 3 h 20 min, 45 s.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		m, s := int(d.Minutes()), int(d.Seconds())%60
		if s == 0 || m >= 10 {
			return fmt.Sprintf("%d min", m)
		}
		return fmt.Sprintf("%d min %d s", m, s)
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// slug turns a state or status into a CSS class name part.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
