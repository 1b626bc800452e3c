package digest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// Schedule is when digests are made: every day at a time of day, or every week on a
// weekday at a time of day, on the wall clock of a time zone. A period runs from one
// such moment to the next, so that a day of a daylight saving change is 23 or 25 hours
// long and a digest still goes out at 09:00 local time.
type Schedule struct {
	weekly       bool
	weekday      time.Weekday
	hour, minute int
	loc          *time.Location
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse reads a schedule as LCW_DIGEST writes it, "daily@HH:MM" or "weekly@DAY HH:MM"
// (DAY is mon … sun, or the full English name; case does not matter), in loc (nil:
// UTC). Its errors say what is expected.
func Parse(spec string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	bad := fmt.Errorf("%q: want daily@HH:MM or weekly@DAY HH:MM, such as daily@09:00 or weekly@mon 09:00", spec)
	kind, at, ok := strings.Cut(strings.ToLower(strings.TrimSpace(spec)), "@")
	if !ok {
		return nil, bad
	}
	s := &Schedule{loc: loc}
	switch kind {
	case "daily":
	case "weekly":
		day, clock, ok := strings.Cut(strings.TrimSpace(at), " ")
		if !ok {
			return nil, bad
		}
		if len(day) > 3 {
			full := map[string]string{"sunday": "sun", "monday": "mon", "tuesday": "tue", "wednesday": "wed",
				"thursday": "thu", "friday": "fri", "saturday": "sat"}
			day = full[day]
		}
		wd, ok := weekdays[day]
		if !ok {
			return nil, fmt.Errorf("%q: the day must be mon, tue, wed, thu, fri, sat or sun", spec)
		}
		s.weekly, s.weekday, at = true, wd, clock
	default:
		return nil, bad
	}
	hh, mm, ok := strings.Cut(strings.TrimSpace(at), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || h < 0 || h > 23 || m < 0 || m > 59 {
		return nil, fmt.Errorf("%q: the time must be HH:MM on a 24-hour clock, from 00:00 to 23:59", spec)
	}
	s.hour, s.minute = h, m
	return s, nil
}

// String writes s as Parse reads it, in its canonical form: "daily@09:00",
// "weekly@mon 09:00".
func (s *Schedule) String() string {
	if s.weekly {
		return fmt.Sprintf("weekly@%s %02d:%02d", strings.ToLower(s.weekday.String()[:3]), s.hour, s.minute)
	}
	return fmt.Sprintf("daily@%02d:%02d", s.hour, s.minute)
}

// Location returns the time zone the schedule is read in.
func (s *Schedule) Location() *time.Location { return s.loc }

// days is the length of a period in calendar days.
func (s *Schedule) days() int {
	if s.weekly {
		return 7
	}
	return 1
}

// at returns the schedule's moment on the calendar day y-m-d of its zone. time.Date
// normalises a day out of range and, for a time of day a daylight saving change skips
// or repeats, picks one of the two offsets: always the same one for the same day.
func (s *Schedule) at(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, s.hour, s.minute, 0, 0, s.loc)
}

// Latest returns the latest period that ended at or before now: it ends at the
// schedule's last moment not after now and starts at the one before.
func (s *Schedule) Latest(now time.Time) events.Period {
	local := now.In(s.loc)
	y, m, d := local.Date()
	if s.weekly {
		d -= (int(local.Weekday()) - int(s.weekday) + 7) % 7
	}
	if s.at(y, m, d).After(now) {
		d -= s.days()
	}
	return s.period(y, m, d)
}

// Next returns the end of the first period that ends after now.
func (s *Schedule) Next(now time.Time) time.Time {
	end := s.Latest(now).End.In(s.loc)
	y, m, d := end.Date()
	return s.at(y, m, d+s.days())
}

// period returns the period ending on day y-m-d.
func (s *Schedule) period(y int, m time.Month, d int) events.Period {
	return events.Period{
		Start:    s.at(y, m, d-s.days()).UTC(),
		End:      s.at(y, m, d).UTC(),
		Schedule: s.String(),
		TimeZone: s.loc.String(),
	}
}
