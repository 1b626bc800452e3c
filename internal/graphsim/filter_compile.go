package graphsim

import (
	"fmt"
	"math"

	"github.com/lcwnotify/lcwnotify/events"
)

// cond is one comparison bound to a property.
type cond[T any] struct {
	p  *prop[T]
	op cmpOp
	v  value
}

// match applies OData's null semantics: a null property equals nothing and differs
// from every literal, so only 'ne' holds.
func (c cond[T]) match(x T) bool {
	got := c.p.get(x)
	if got.null {
		return c.op == opNe
	}
	return c.op.holds(compare(got, c.v))
}

// span is an inclusive range of stamps; math.MinInt64/MaxInt64 mean unbounded.
type span struct{ lo, hi stamp }

func unbounded() span { return span{math.MinInt64, math.MaxInt64} }

// filter is a compiled $filter: a conjunction, plus the range it imposes on each
// DateTimeOffset property, which the listings use to pick an index.
type filter[T any] struct {
	conds  []cond[T]
	bounds map[string]span
	// lowered lists the DateTimeOffset properties with a lower bound.
	lowered []string
	// statuses is the set of processingStatus values the filter admits (nil: all).
	statuses map[string]bool
}

func (f *filter[T]) match(x T) bool {
	if f == nil {
		return true
	}
	for _, c := range f.conds {
		if !c.match(x) {
			return false
		}
	}
	return true
}

// lowestBound returns the earliest lower bound on any DateTimeOffset property, and
// whether there is one.
func (f *filter[T]) lowestBound() (stamp, bool) {
	if f == nil || len(f.lowered) == 0 {
		return 0, false
	}
	lo := stamp(math.MaxInt64)
	for _, name := range f.lowered {
		lo = min(lo, f.bounds[name].lo)
	}
	return lo, true
}

// span returns the range the filter imposes on a DateTimeOffset property.
func (f *filter[T]) span(name string) span {
	if f == nil {
		return unbounded()
	}
	if s, ok := f.bounds[name]; ok {
		return s
	}
	return unbounded()
}

// compileFilter type-checks a parsed clause against an entity type: every property
// must exist and be documented as filterable with that operator, and every literal
// must have the property's type.
func compileFilter[T any](e *entityType[T], src string) (*filter[T], error) {
	node, err := parseFilter(src)
	if err != nil {
		return nil, err
	}
	f := &filter[T]{bounds: make(map[string]span)}
	if err := f.add(e, node); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *filter[T]) add(e *entityType[T], n filterNode) error {
	switch n := n.(type) {
	case andNode:
		if err := f.add(e, n.l); err != nil {
			return err
		}
		return f.add(e, n.r)
	case cmpNode:
		c, err := bind(e, n)
		if err != nil {
			return err
		}
		f.conds = append(f.conds, c)
		f.narrow(c)
		return nil
	}
	return fmt.Errorf("unsupported expression")
}

func bind[T any](e *entityType[T], n cmpNode) (cond[T], error) {
	p, ok := e.byName[n.path]
	if !ok || (p.get == nil) {
		return cond[T]{}, fmt.Errorf("could not find a property named '%s' on type '%s'", n.path, e.name)
	}
	if p.filter == 0 {
		return cond[T]{}, fmt.Errorf("property '%s' of type '%s' does not support $filter", n.path, e.name)
	}
	if p.filter&n.op == 0 {
		return cond[T]{}, fmt.Errorf("operator '%s' is not supported for property '%s'; it supports %s",
			n.op, n.path, p.filter.names())
	}
	want := p.typ
	if want == edmEnum {
		want = edmString
	}
	if n.lit.kind.edm() != want {
		return cond[T]{}, fmt.Errorf("a binary operator with incompatible types was detected: found operand types '%s' and '%s' for operator '%s' (property '%s'); %s",
			typeName(p), n.lit.kind.edm(), n.op, n.path, literalHint(p.typ))
	}
	var v value
	switch p.typ {
	case edmEnum:
		if !p.enum.valid(n.lit.s) {
			return cond[T]{}, fmt.Errorf("the string '%s' is not a valid enumeration type constant of '%s'", n.lit.s, p.enum.name)
		}
		v = enumValue(p.enum, n.lit.s)
	case edmString:
		v = strValue(n.lit.s)
	case edmDateTime:
		v = timeValue(n.lit.t)
	case edmInt:
		v = intValue(int(n.lit.n))
	case edmBool:
		v = boolValue(n.lit.n != 0)
	}
	return cond[T]{p: p, op: n.op, v: v}, nil
}

func typeName[T any](p *prop[T]) string {
	if p.typ == edmEnum {
		return p.enum.name
	}
	return p.typ.String()
}

func literalHint(t edmType) string {
	switch t {
	case edmDateTime:
		return "DateTimeOffset literals are not quoted: write e.g. 2024-05-01T00:00:00Z"
	case edmString, edmEnum:
		return "string literals are quoted: write e.g. 'value'"
	case edmInt:
		return "integer literals are not quoted"
	case edmBool:
		return "write true or false"
	}
	return ""
}

// narrow records what c implies for the index ranges and the status set.
func (f *filter[T]) narrow(c cond[T]) {
	switch c.p.typ {
	case edmDateTime:
		s := f.span(c.p.name)
		t := stamp(c.v.n)
		hadLower := s.lo != math.MinInt64
		switch c.op {
		case opEq:
			s.lo, s.hi = max(s.lo, t), min(s.hi, t)
		case opGe, opGt:
			s.lo = max(s.lo, t)
		case opLe, opLt:
			s.hi = min(s.hi, t)
		}
		f.bounds[c.p.name] = s
		if !hadLower && s.lo != math.MinInt64 {
			f.lowered = append(f.lowered, c.p.name)
		}
	case edmEnum:
		if c.p.enum != statusEnum {
			return
		}
		if f.statuses == nil {
			f.statuses = make(map[string]bool, len(statusEnum.members))
			for _, m := range statusEnum.members {
				f.statuses[m] = true
			}
		}
		for _, m := range statusEnum.members {
			if (c.op == opEq) != (m == c.v.s) {
				f.statuses[m] = false
			}
		}
	}
}

// onlyActive reports whether the filter admits no final status, so the active set
// holds every match.
func (f *filter[T]) onlyActive() bool {
	if f == nil || f.statuses == nil {
		return false
	}
	for m, ok := range f.statuses {
		if ok && events.IsFinal(m) {
			return false
		}
	}
	return true
}
