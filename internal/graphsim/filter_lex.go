package graphsim

import (
	"fmt"
	"strings"
)

// tokenKind classifies a $filter token.
type tokenKind uint8

const (
	tokEOF    tokenKind = iota
	tokIdent            // a name: property path, operator or keyword (eq, and, true, …)
	tokString           // 'quoted', with '' standing for one quote
	tokNumber           // an unquoted literal starting with a digit or '-': integer or DateTimeOffset
	tokLParen
	tokRParen
	tokComma
	tokColon
)

func (k tokenKind) String() string {
	switch k {
	case tokEOF:
		return "end of input"
	case tokIdent:
		return "name"
	case tokString:
		return "string"
	case tokNumber:
		return "literal"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokComma:
		return "','"
	case tokColon:
		return "':'"
	}
	return "token"
}

// token is one lexeme; text is the decoded value for strings and the raw text
// otherwise; pos is its byte offset in the clause, for error messages.
type token struct {
	kind tokenKind
	text string
	pos  int
}

// lexFilter splits a $filter clause into tokens.
func lexFilter(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ",", i})
			i++
		case c == ':':
			toks = append(toks, token{tokColon, ":", i})
			i++
		case c == '\'':
			s, n, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, s, i})
			i = n
		case isDigit(c) || (c == '-' && i+1 < len(src) && isDigit(src[i+1])):
			j := i + 1
			for j < len(src) && isLiteralChar(src[j]) {
				j++
			}
			toks = append(toks, token{tokNumber, src[i:j], i})
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, src[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("syntax error: character %q is not valid at position %d", printable(src[i:]), i)
		}
	}
	return append(toks, token{tokEOF, "", len(src)}), nil
}

// lexString reads a quoted string starting at src[start] == '\”.
func lexString(src string, start int) (string, int, error) {
	var b strings.Builder
	i := start + 1
	for i < len(src) {
		if src[i] == '\'' {
			if i+1 < len(src) && src[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			return b.String(), i + 1, nil
		}
		b.WriteByte(src[i])
		i++
	}
	return "", 0, fmt.Errorf("syntax error: unterminated string literal at position %d", start)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '/' || c == '.' }

// isLiteralChar accepts what an unquoted number or DateTimeOffset literal is made of.
func isLiteralChar(c byte) bool {
	return isDigit(c) || c == '-' || c == ':' || c == '.' || c == '+' || c == 'T' || c == 'Z' || c == 't' || c == 'z'
}

// printable returns the first rune of s for an error message.
func printable(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}
