package graph

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Op is an OData comparison operator of $filter.
type Op string

// The comparison operators Graph documents for Lifecycle Workflows reports.
const (
	Eq Op = "eq"
	Ne Op = "ne"
	Lt Op = "lt"
	Le Op = "le"
	Gt Op = "gt"
	Ge Op = "ge"
)

func (o Op) valid() bool {
	switch o {
	case Eq, Ne, Lt, Le, Gt, Ge:
		return true
	}
	return false
}

// ordering reports whether o compares order (lt, le, gt, ge) rather than equality.
func (o Op) ordering() bool { return o == Lt || o == Le || o == Gt || o == Ge }

// Filter is a $filter expression: comparisons of a property with a literal, joined by
// "and" — the only form Graph documents for these resources. The zero Filter filters
// nothing. Filters are values: And returns a new one.
type Filter struct {
	terms []term
	err   error
}

// term is one comparison "prop op literal".
type term struct {
	prop    string
	op      Op
	kind    kind
	literal string
	// at is the value of a time comparison, for the date-range check.
	at time.Time
}

// kind is the type of a literal, checked against the property's documented type.
type kind int

const (
	kindString kind = iota + 1
	kindTime
	kindInt
	kindBool
)

func (k kind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindTime:
		return "a time.Time"
	case kindInt:
		return "an integer"
	case kindBool:
		return "a bool"
	}
	return "unknown"
}

// Where returns the filter "prop op value". value is a string (sent quoted, with ' doubled),
// a time.Time (sent unquoted in UTC, RFC 3339 with at most 7 fractional digits, Graph's
// precision), an int or a bool. Whether prop and op are documented for the resource is
// checked when the query is used; other value types make the query fail then.
func Where(prop string, op Op, value any) Filter {
	t := term{prop: prop, op: op}
	switch v := value.(type) {
	case string:
		t.kind, t.literal = kindString, "'"+strings.ReplaceAll(v, "'", "''")+"'"
	case time.Time:
		t.kind, t.literal, t.at = kindTime, FormatTime(v), v
	case int:
		t.kind, t.literal = kindInt, strconv.Itoa(v)
	case int32:
		t.kind, t.literal = kindInt, strconv.FormatInt(int64(v), 10)
	case int64:
		t.kind, t.literal = kindInt, strconv.FormatInt(v, 10)
	case bool:
		t.kind, t.literal = kindBool, strconv.FormatBool(v)
	default:
		return Filter{err: fmt.Errorf("%w: %s %s: unsupported value type %T", ErrInvalidQuery, prop, op, value)}
	}
	if prop == "" {
		return Filter{err: fmt.Errorf("%w: comparison without a property", ErrInvalidQuery)}
	}
	if !op.valid() {
		return Filter{err: fmt.Errorf("%w: %s: unknown operator %q", ErrInvalidQuery, prop, string(op))}
	}
	return Filter{terms: []term{t}}
}

// Between returns "prop ge from and prop le to": the explicit date range that lists of
// runs and results need.
func Between(prop string, from, to time.Time) Filter {
	return Where(prop, Ge, from).And(Where(prop, Le, to))
}

// And returns f and every filter of g joined with "and".
func (f Filter) And(g ...Filter) Filter {
	out := Filter{terms: make([]term, 0, len(f.terms)), err: f.err}
	out.terms = append(out.terms, f.terms...)
	for _, h := range g {
		out.terms = append(out.terms, h.terms...)
		out.err = errors.Join(out.err, h.err)
	}
	return out
}

// IsZero reports whether f filters nothing.
func (f Filter) IsZero() bool { return len(f.terms) == 0 && f.err == nil }

// String returns the $filter expression as sent (before URL encoding).
func (f Filter) String() string {
	var b strings.Builder
	for i, t := range f.terms {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(t.prop)
		b.WriteByte(' ')
		b.WriteString(string(t.op))
		b.WriteByte(' ')
		b.WriteString(t.literal)
	}
	return b.String()
}

// Err returns the error of a filter built from invalid parts (an unsupported value
// type, an unknown operator), or nil.
func (f Filter) Err() error { return f.err }

// Query holds the OData options of a list request.
type Query struct {
	// Filter restricts the items; lists of runs and results require a date range.
	Filter Filter
	// Select names the properties returned. For runs and results it must include id and
	// processingStatus, without which no item can be used.
	Select []string
	// OrderBy is a documented property, optionally followed by " asc" or " desc".
	OrderBy string
}

// FormatTime formats t as Graph's DateTimeOffset literal: UTC, RFC 3339, at most seven
// fractional digits (Graph's precision), e.g. 2022-08-24T23:28:11.1348863Z.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

// encode returns the URL query of q ("$filter=…&$orderby=…&$select=…"), percent-encoded
// with %20 for spaces as OData expects, or "" for the zero Query.
func (q Query) encode(extra ...string) string {
	var parts []string
	if len(q.Filter.terms) > 0 {
		parts = append(parts, "$filter="+escape(q.Filter.String()))
	}
	if q.OrderBy != "" {
		parts = append(parts, "$orderby="+escape(q.OrderBy))
	}
	if len(q.Select) > 0 {
		parts = append(parts, "$select="+escape(strings.Join(q.Select, ",")))
	}
	parts = append(parts, extra...)
	return strings.Join(parts, "&")
}

// escape percent-encodes s for a query value, spaces as %20 rather than +.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
