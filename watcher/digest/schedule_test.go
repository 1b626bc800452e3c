package digest

import (
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParse(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{"daily@09:00", "daily@09:00"},
		{" Daily@9:05 ", "daily@09:05"},
		{"weekly@mon 09:00", "weekly@mon 09:00"},
		{"WEEKLY@Friday 17:30", "weekly@fri 17:30"},
		{"daily@00:00", "daily@00:00"},
		{"daily@23:59", "daily@23:59"},
	} {
		s, err := Parse(tt.spec, nil)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.spec, err)
			continue
		}
		if got := s.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.spec, got, tt.want)
		}
	}
	for _, tt := range []struct{ spec, want string }{
		{"", "want daily@HH:MM or weekly@DAY HH:MM"},
		{"hourly@09:00", "want daily@HH:MM"},
		{"daily", "want daily@HH:MM"},
		{"daily@24:00", "24-hour clock"},
		{"daily@9:5", "24-hour clock"},
		{"daily@09:60", "24-hour clock"},
		{"daily@nine", "24-hour clock"},
		{"weekly@09:00", "want daily@HH:MM"},
		{"weekly@someday 09:00", "the day must be"},
	} {
		if _, err := Parse(tt.spec, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", tt.spec, err, tt.want)
		}
	}
}

func TestLatest(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	ny := mustLoad(t, "America/New_York")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tt := range []struct {
		name, spec string
		loc        *time.Location
		now        string
		start, end string
	}{
		{"daily, after today's", "daily@09:00", time.UTC, "2026-12-03T10:00:00Z", "2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z"},
		{"daily, before today's", "daily@09:00", time.UTC, "2026-12-03T08:59:59Z", "2026-12-01T09:00:00Z", "2026-12-02T09:00:00Z"},
		{"daily, exactly at it", "daily@09:00", time.UTC, "2026-12-03T09:00:00Z", "2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z"},
		{"daily in a zone", "daily@09:00", berlin, "2026-12-03T08:30:00Z", "2026-12-02T08:00:00Z", "2026-12-03T08:00:00Z"},
		// The last Sunday of October: CEST (UTC+2) ends at 03:00, the day has 25 hours.
		{"daily across the end of summer time", "daily@09:00", berlin, "2026-10-25T12:00:00Z", "2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"},
		// The last Sunday of March: the day has 23 hours.
		{"daily across the start of summer time", "daily@09:00", berlin, "2026-03-29T12:00:00Z", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"},
		{"weekly, the same day after", "weekly@mon 09:00", time.UTC, "2026-11-30T09:30:00Z", "2026-11-23T09:00:00Z", "2026-11-30T09:00:00Z"},
		{"weekly, the same day before", "weekly@mon 09:00", time.UTC, "2026-11-30T08:00:00Z", "2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z"},
		{"weekly, midweek", "weekly@mon 09:00", time.UTC, "2026-12-03T10:00:00Z", "2026-11-23T09:00:00Z", "2026-11-30T09:00:00Z"},
		{"weekly, Sunday before Monday", "weekly@mon 09:00", time.UTC, "2026-12-06T23:00:00Z", "2026-11-23T09:00:00Z", "2026-11-30T09:00:00Z"},
		// New York's clocks go back on 2026-11-01: the week is 169 hours long.
		{"weekly across a change", "weekly@mon 09:00", ny, "2026-11-02T15:00:00Z", "2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z"},
		// Local midnight is another day in UTC.
		{"a zone ahead of UTC near midnight", "daily@00:30", berlin, "2026-12-02T23:45:00Z", "2026-12-01T23:30:00Z", "2026-12-02T23:30:00Z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.spec, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			p := s.Latest(utc(tt.now))
			if !p.Start.Equal(utc(tt.start)) || !p.End.Equal(utc(tt.end)) {
				t.Errorf("Latest(%s) = %s to %s, want %s to %s", tt.now, p.Start, p.End, tt.start, tt.end)
			}
			if p.Schedule != s.String() || p.TimeZone != tt.loc.String() {
				t.Errorf("period names %q in %q, want %q in %q", p.Schedule, p.TimeZone, s.String(), tt.loc)
			}
			if next := s.Next(utc(tt.now)); !next.After(utc(tt.now)) || !s.Latest(next).End.Equal(next) {
				t.Errorf("Next(%s) = %s: not the end of the next period", tt.now, next)
			}
		})
	}
}

// TestPeriodsTile: consecutive periods meet exactly, through a year of daylight saving
// changes, and each ends at the scheduled wall-clock time.
func TestPeriodsTile(t *testing.T) {
	for _, spec := range []string{"daily@09:00", "daily@02:30", "weekly@sun 02:30"} {
		s, err := Parse(spec, mustLoad(t, "Europe/Berlin"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		prev := s.Latest(now)
		for range 400 {
			next := s.Next(now)
			p := s.Latest(next)
			if !p.Start.Equal(prev.End) {
				t.Fatalf("%s: period %s to %s does not start where %s to %s ended", spec, p.Start, p.End, prev.Start, prev.End)
			}
			if h := p.End.Sub(p.Start); h < 23*time.Hour || h > 7*24*time.Hour+time.Hour {
				t.Fatalf("%s: period %s to %s lasts %s", spec, p.Start, p.End, h)
			}
			prev, now = p, next
		}
	}
}
