package graphsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The $filter grammar the simulator accepts is the one Lifecycle Workflows documents:
//
//	filter     = conjunct EOF
//	conjunct   = primary { "and" primary }
//	primary    = "(" conjunct ")" | comparison
//	comparison = path op literal
//	op         = "eq" | "ne" | "lt" | "le" | "gt" | "ge"
//	literal    = string | integer | DateTimeOffset | "true" | "false"
//
// The parser recognises the rest of OData's syntax (or, not, in, has, arithmetic,
// functions, lambdas, null) only to refuse it with a message that says why.

// filterNode is a parsed $filter expression: a conjunction or a comparison.
type filterNode interface {
	String() string
}

// andNode is "l and r".
type andNode struct{ l, r filterNode }

func (n andNode) String() string { return "(" + n.l.String() + " and " + n.r.String() + ")" }

// cmpNode is "path op literal".
type cmpNode struct {
	path string
	op   cmpOp
	lit  literal
	pos  int
}

func (n cmpNode) String() string { return n.path + " " + n.op.String() + " " + n.lit.String() }

// litKind is the type of a literal.
type litKind uint8

const (
	litString litKind = iota + 1
	litInt
	litDateTime
	litBool
)

func (k litKind) edm() edmType {
	switch k {
	case litString:
		return edmString
	case litInt:
		return edmInt
	case litDateTime:
		return edmDateTime
	}
	return edmBool
}

// literal is a typed constant from the clause.
type literal struct {
	kind litKind
	s    string // litString
	n    int64  // litInt, litBool (0/1)
	t    stamp  // litDateTime
}

func (l literal) String() string {
	switch l.kind {
	case litString:
		return "'" + strings.ReplaceAll(l.s, "'", "''") + "'"
	case litInt:
		return strconv.FormatInt(l.n, 10)
	case litDateTime:
		return l.t.Time().Format(timeLayout)
	case litBool:
		return strconv.FormatBool(l.n != 0)
	}
	return "?"
}

// maxFilterDepth bounds nesting of parentheses so hostile input cannot exhaust the stack.
const maxFilterDepth = 32

// maxFilterLength bounds the clause; Graph refuses long URLs well before this.
const maxFilterLength = 8192

// parseFilter parses a $filter clause into a conjunction of comparisons.
func parseFilter(src string) (filterNode, error) {
	if len(src) > maxFilterLength {
		return nil, fmt.Errorf("the clause is longer than %d characters", maxFilterLength)
	}
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("the clause is empty")
	}
	toks, err := lexFilter(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.conjunct(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}
	return n, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) peekWord(w string) bool {
	t := p.peek()
	return t.kind == tokIdent && strings.EqualFold(t.text, w)
}

func (p *parser) conjunct(depth int) (filterNode, error) {
	left, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.peekWord("and"):
			p.next()
			right, err := p.primary(depth)
			if err != nil {
				return nil, err
			}
			left = andNode{left, right}
		case p.peekWord("or"):
			return nil, fmt.Errorf("the 'or' operator at position %d is not supported for this resource; "+
				"combine conditions with 'and' or make one request per alternative", p.peek().pos)
		default:
			return left, nil
		}
	}
}

func (p *parser) primary(depth int) (filterNode, error) {
	t := p.peek()
	switch {
	case t.kind == tokLParen:
		if depth >= maxFilterDepth {
			return nil, fmt.Errorf("parentheses are nested deeper than %d at position %d", maxFilterDepth, t.pos)
		}
		p.next()
		n, err := p.conjunct(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, fmt.Errorf("syntax error: expected ')' at position %d, found %s", c.pos, describe(c))
		}
		return n, nil
	case p.peekWord("not"):
		return nil, fmt.Errorf("the 'not' operator at position %d is not supported for this resource", t.pos)
	}
	return p.comparison()
}

// operand is one side of a comparison: a property path or a literal.
type operand struct {
	path string
	lit  literal
	pos  int
}

func (p *parser) comparison() (filterNode, error) {
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	opTok := p.next()
	if opTok.kind != tokIdent {
		return nil, fmt.Errorf("syntax error: expected a comparison operator (eq, ne, lt, le, gt, ge) at position %d, found %s",
			opTok.pos, describe(opTok))
	}
	word := strings.ToLower(opTok.text)
	op, ok := opNames[opTok.text]
	if !ok {
		switch word {
		case "in":
			return nil, fmt.Errorf("the 'in' operator at position %d is not supported for this resource; use 'eq' once per value", opTok.pos)
		case "has":
			return nil, fmt.Errorf("the 'has' operator at position %d is not supported for this resource", opTok.pos)
		case "add", "sub", "mul", "div", "divby", "mod":
			return nil, fmt.Errorf("arithmetic operator '%s' at position %d is not supported", opTok.text, opTok.pos)
		case "eq", "ne", "lt", "le", "gt", "ge":
			return nil, fmt.Errorf("operator '%s' at position %d must be written in lower case", opTok.text, opTok.pos)
		}
		return nil, fmt.Errorf("syntax error: expected a comparison operator (eq, ne, lt, le, gt, ge) at position %d, found '%s'",
			opTok.pos, opTok.text)
	}
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch {
	case left.path != "" && right.path != "":
		return nil, fmt.Errorf("comparing property '%s' with property '%s' is not supported; compare a property with a literal", left.path, right.path)
	case left.path == "" && right.path == "":
		return nil, fmt.Errorf("the comparison at position %d has no property; write 'property %s literal'", left.pos, opTok.text)
	case left.path == "":
		return nil, fmt.Errorf("the literal at position %d must be on the right: write '%s %s %s'",
			left.pos, right.path, opTok.text, left.lit)
	}
	return cmpNode{path: left.path, op: op, lit: right.lit, pos: left.pos}, nil
}

func (p *parser) operand() (operand, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return operand{lit: literal{kind: litString, s: t.text}, pos: t.pos}, nil
	case tokNumber:
		l, err := parseNumberLiteral(t)
		return operand{lit: l, pos: t.pos}, err
	case tokIdent:
		if p.peek().kind == tokLParen {
			return operand{}, callError(t)
		}
		if p.peek().kind == tokString {
			return operand{}, fmt.Errorf("typed literal %s'…' at position %d is not supported; write the value as a plain string", t.text, t.pos)
		}
		switch strings.ToLower(t.text) {
		case "true":
			return operand{lit: literal{kind: litBool, n: 1}, pos: t.pos}, nil
		case "false":
			return operand{lit: literal{kind: litBool}, pos: t.pos}, nil
		case "null":
			return operand{}, fmt.Errorf("the null literal at position %d is not supported for this resource; filter on a date range instead", t.pos)
		case "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "in", "has":
			return operand{}, fmt.Errorf("syntax error: expected a property or a literal at position %d, found '%s'", t.pos, t.text)
		}
		if strings.HasPrefix(t.text, "$") {
			return operand{}, fmt.Errorf("'%s' at position %d is not supported in $filter", t.text, t.pos)
		}
		if strings.Contains(t.text, ".") {
			return operand{}, fmt.Errorf("type casts and qualified names ('%s' at position %d) are not supported in $filter", t.text, t.pos)
		}
		return operand{path: t.text, pos: t.pos}, nil
	case tokLParen:
		return operand{}, fmt.Errorf("a parenthesised operand at position %d is not supported; write 'property op literal'", t.pos)
	}
	return operand{}, fmt.Errorf("syntax error: expected a property or a literal at position %d, found %s", t.pos, describe(t))
}

// callError refuses name(…): a function or, after a path, a lambda.
func callError(t token) error {
	name := t.text
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		if fn := strings.ToLower(name[i+1:]); fn == "any" || fn == "all" {
			return fmt.Errorf("lambda operator '%s' at position %d is not supported for this resource", fn, t.pos)
		}
	}
	return fmt.Errorf("function '%s' at position %d is not supported for this resource; "+
		"only comparisons (eq, ne, lt, le, gt, ge) joined by 'and' are", name, t.pos)
}

// parseNumberLiteral reads an integer or an unquoted DateTimeOffset.
func parseNumberLiteral(t token) (literal, error) {
	s := t.text
	if strings.ContainsAny(s, "Tt") {
		ts, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			return literal{}, fmt.Errorf("'%s' at position %d is not a valid DateTimeOffset; write e.g. 2024-05-01T00:00:00Z "+
				"(an offset's '+' must be sent as %%2B)", s, t.pos)
		}
		return literal{kind: litDateTime, t: toStamp(ts)}, nil
	}
	if len(s) == 10 && strings.Count(s, "-") == 2 {
		return literal{}, fmt.Errorf("'%s' at position %d is an Edm.Date; these properties are Edm.DateTimeOffset, write e.g. %sT00:00:00Z", s, t.pos, s)
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return literal{}, fmt.Errorf("'%s' at position %d is not a valid Edm.Int32 or DateTimeOffset literal", s, t.pos)
	}
	return literal{kind: litInt, n: n}, nil
}

func describe(t token) string {
	if t.kind == tokEOF {
		return "end of input"
	}
	return "'" + t.text + "'"
}

func (p *parser) unexpected(t token) error {
	return fmt.Errorf("syntax error: unexpected %s at position %d", describe(t), t.pos)
}
