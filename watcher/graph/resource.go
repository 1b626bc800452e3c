package graph

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// resource describes what Graph documents for querying one resource type: which
// properties $filter accepts, with which operators, and which literal type. Anything
// else is refused before a request is sent (graph-api.md, "$filter").
type resource struct {
	name  string
	props map[string]prop
	// needsDateRange: lists of this resource return only the last 7 days without a date
	// filter, and at most 30 days with one, so every list must carry an explicit range.
	needsDateRange bool
	// required are properties a $select must keep, without which no item can be decoded.
	required []string
}

// prop is one filterable property.
type prop struct {
	kind kind
	// ordered: lt, le, gt, ge are documented besides eq and ne.
	ordered bool
}

var (
	timeProp   = prop{kind: kindTime, ordered: true}
	stringEq   = prop{kind: kindString}
	stringOrd  = prop{kind: kindString, ordered: true}
	intOrdered = prop{kind: kindInt, ordered: true}
	boolEq     = prop{kind: kindBool}
)

var (
	runResource = &resource{
		name: "run",
		props: map[string]prop{
			"completedDateTime":     timeProp,
			"lastUpdatedDateTime":   timeProp,
			"scheduledDateTime":     timeProp,
			"startedDateTime":       timeProp,
			"processingStatus":      stringEq,
			"workflowExecutionType": stringEq,
		},
		needsDateRange: true,
		required:       []string{"id", "processingStatus"},
	}
	resultResource = &resource{
		name: "userProcessingResult",
		props: map[string]prop{
			"completedDateTime":     timeProp,
			"scheduledDateTime":     timeProp,
			"startedDateTime":       timeProp,
			"workflowExecutionType": stringOrd,
			"id":                    stringEq,
			"processingStatus":      stringEq,
			"subject/id":            stringEq,
		},
		needsDateRange: true,
		required:       []string{"id", "processingStatus"},
	}
	workflowResource = &resource{
		name: "workflow",
		props: map[string]prop{
			"createdDateTime":      timeProp,
			"lastModifiedDateTime": timeProp,
			"version":              intOrdered,
			"category":             stringEq,
			"displayName":          stringEq,
			"id":                   stringEq,
			"isEnabled":            boolEq,
			"isSchedulingEnabled":  boolEq,
		},
		required: []string{"id"},
	}
)

// validate checks q against what Graph documents for r: documented properties and
// operators with literals of their type, a non-empty date range where r needs one, a
// documented $orderby, and a $select that keeps what decoding needs. Its errors wrap
// ErrInvalidQuery.
func (r *resource) validate(q Query) error {
	if err := q.Filter.err; err != nil {
		return fmt.Errorf("%s filter: %w", r.name, err)
	}
	lowest, highest := map[string]time.Time{}, map[string]time.Time{}
	for _, t := range q.Filter.terms {
		p, ok := r.props[t.prop]
		if !ok {
			return fmt.Errorf("%w: %s: $filter on %q is not documented (documented: %s)",
				ErrInvalidQuery, r.name, t.prop, strings.Join(r.propNames(), ", "))
		}
		if t.op.ordering() && !p.ordered {
			return fmt.Errorf("%w: %s: %q supports only eq and ne, not %s", ErrInvalidQuery, r.name, t.prop, t.op)
		}
		if t.kind != p.kind {
			return fmt.Errorf("%w: %s: %q compares with %s, not %s", ErrInvalidQuery, r.name, t.prop, p.kind, t.kind)
		}
		if t.kind == kindTime {
			if t.op == Ge || t.op == Gt || t.op == Eq {
				if l, ok := lowest[t.prop]; !ok || t.at.After(l) {
					lowest[t.prop] = t.at
				}
			}
			if t.op == Le || t.op == Lt || t.op == Eq {
				if h, ok := highest[t.prop]; !ok || t.at.Before(h) {
					highest[t.prop] = t.at
				}
			}
		}
	}
	// A range bounds one property on both sides: a lower bound on one and an upper
	// bound on another leave each open.
	ranged := false
	for p, l := range lowest {
		h, ok := highest[p]
		if !ok {
			continue
		}
		ranged = true
		// A reversed range is a clock or arithmetic bug in the caller; Graph would
		// silently return nothing.
		if l.After(h) {
			return fmt.Errorf("%w: %s: %s range is empty (from %s after to %s)",
				ErrInvalidQuery, r.name, p, FormatTime(l), FormatTime(h))
		}
	}
	if r.needsDateRange && !ranged {
		return fmt.Errorf("%w: %s: a list needs an explicit date range, e.g. "+
			"Between(\"completedDateTime\", from, to): without one Graph returns only the last 7 days",
			ErrInvalidQuery, r.name)
	}
	if q.OrderBy != "" {
		name, dir, _ := strings.Cut(q.OrderBy, " ")
		if _, ok := r.props[name]; !ok || (dir != "" && dir != "asc" && dir != "desc") {
			return fmt.Errorf("%w: %s: $orderby %q: want a documented property, optionally followed by asc or desc",
				ErrInvalidQuery, r.name, q.OrderBy)
		}
	}
	if len(q.Select) > 0 {
		for _, s := range q.Select {
			if !isIdentifier(s) {
				return fmt.Errorf("%w: %s: $select %q is not a property name", ErrInvalidQuery, r.name, s)
			}
		}
		for _, req := range r.required {
			if !slices.Contains(q.Select, req) {
				return fmt.Errorf("%w: %s: $select must include %q", ErrInvalidQuery, r.name, req)
			}
		}
	}
	return nil
}

func (r *resource) propNames() []string {
	names := make([]string, 0, len(r.props))
	for n := range r.props {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// isIdentifier reports whether s is a plain OData property name.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
