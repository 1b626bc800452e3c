package graphsim

import (
	"strconv"
	"time"
)

// edmType is the OData type of a property, which decides the literals $filter accepts
// for it and how its value is written.
type edmType uint8

const (
	edmString edmType = iota + 1
	edmDateTime
	edmInt
	edmBool
	edmEnum
)

func (t edmType) String() string {
	switch t {
	case edmString:
		return "Edm.String"
	case edmDateTime:
		return "Edm.DateTimeOffset"
	case edmInt:
		return "Edm.Int32"
	case edmBool:
		return "Edm.Boolean"
	case edmEnum:
		return "enum"
	}
	return "unknown"
}

// stamp is an instant in Unix nanoseconds truncated to Graph's 100 ns resolution; 0
// means null. Storing int64s rather than time.Time keeps 300k results small and their
// comparisons cheap.
type stamp int64

// toStamp converts t, truncated to 100 ns. The zero time is null.
func toStamp(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	return stamp(n - n%100)
}

// Time returns s as a UTC time, the zero time for null.
func (s stamp) Time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s)).UTC()
}

// timeLayout is how Graph writes DateTimeOffset values: UTC, up to seven fractional
// digits with trailing zeros dropped ("2022-08-24T23:28:04.490313Z").
const timeLayout = "2006-01-02T15:04:05.9999999Z"

// appendStamp appends s as a JSON value: a quoted timestamp or null.
func appendStamp(b []byte, s stamp) []byte {
	if s == 0 {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = s.Time().AppendFormat(b, timeLayout)
	return append(b, '"')
}

// value is one property value, typed for $filter comparisons and JSON output.
type value struct {
	t    edmType
	null bool
	s    string // edmString, edmEnum
	n    int64  // edmDateTime (stamp), edmInt, edmBool (0/1), edmEnum (ordinal)
}

func strValue(s string) value { return value{t: edmString, s: s} }
func intValue(n int) value    { return value{t: edmInt, n: int64(n)} }
func timeValue(s stamp) value { return value{t: edmDateTime, n: int64(s), null: s == 0} }
func boolValue(b bool) value {
	v := value{t: edmBool}
	if b {
		v.n = 1
	}
	return v
}
func enumValue(e *enumType, m string) value {
	return value{t: edmEnum, s: m, n: int64(e.ordinal(m))}
}

// compare orders a and b of the same type; null sorts before everything, as in OData.
func compare(a, b value) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return -1
	case b.null:
		return 1
	}
	if a.t == edmString {
		switch {
		case a.s < b.s:
			return -1
		case a.s > b.s:
			return 1
		}
		return 0
	}
	switch {
	case a.n < b.n:
		return -1
	case a.n > b.n:
		return 1
	}
	return 0
}

// appendValue appends v as JSON; enums are rendered for a client that did or did not
// opt in to evolvable members.
func appendValue(b []byte, v value, e *enumType, includeUnknown bool) []byte {
	if v.null {
		return append(b, "null"...)
	}
	switch v.t {
	case edmString:
		return appendJSONString(b, v.s)
	case edmDateTime:
		return appendStamp(b, stamp(v.n))
	case edmInt:
		return strconv.AppendInt(b, v.n, 10)
	case edmBool:
		return strconv.AppendBool(b, v.n != 0)
	case edmEnum:
		return appendJSONString(b, e.render(v.s, includeUnknown))
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping only what JSON requires, as
// Graph does (it writes '&' and '<' as they are).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
