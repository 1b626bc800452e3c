package main

// Reading a settings struct. envconfig names every variable and converts its value
// (a Decode method for lcwnotify's own types, its own rules for durations, numbers and
// booleans); the tags next to each field give its default, bounds, choices and whether it
// is required; rules.go relates settings to each other. envconfig.Process stops at the
// first value it cannot convert and takes a variable set to "" as a value, but a bad
// configuration must be reported whole, one line per bad variable, and an empty variable
// counts as unset: so readSettings hands envconfig one variable at a time.
//
// Tags, besides envconfig's split_words, default and required:
//
//	desc      the meaning, for help
//	group     starts a section in help
//	show      what help prints as the default when it is worked out at start
//	min, max  bounds of a number, duration or size, written as the value is
//	oneof     the accepted values of a string, comma-separated; matched ignoring case
//
// No field has an explicit envconfig tag: those make envconfig also read the unprefixed
// name, which other programs' variables could collide with.

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// setting is one variable of a settings struct.
type setting struct {
	key   string        // as envconfig names it: LCW_POLL_INTERVAL
	field reflect.Value // the field, settable
	tags  reflect.StructTag
}

// settingsOf lists the variables of spec, a pointer to a settings struct, in the order
// they are declared. The list is envconfig's own: its usage template is handed exactly
// what Process reads, names and fields included, and envconfig exports no other view.
func settingsOf(prefix string, spec any) ([]setting, error) {
	var out []setting
	tmpl, err := template.New("settings").Funcs(template.FuncMap{
		"collect": func(key string, f reflect.Value, tags reflect.StructTag) string {
			out = append(out, setting{key: key, field: f, tags: tags})
			return ""
		},
	}).Parse(`{{range .}}{{collect .Key .Field .Tags}}{{end}}`)
	if err != nil {
		return nil, err
	}
	if err := envconfig.Usaget(prefix, spec, io.Discard, tmpl); err != nil {
		return nil, err
	}
	return out, nil
}

// revealer is what a secret has: help marks it, and its value is never quoted.
type revealer interface{ Reveal() string }

func (s setting) secret() bool {
	t := s.field.Type()
	return t.Implements(reflect.TypeFor[revealer]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[revealer]())
}

func (s setting) required() bool {
	b, _ := strconv.ParseBool(s.tags.Get("required"))
	return b
}

// reading is what readSettings found.
type reading struct {
	settings []setting
	given    map[string]bool // every variable: set to a non-empty value, valid or not
	problems problems
}

// readSettings fills spec from getenv, one variable at a time, and records a problem for
// each variable it cannot take. A value is trimmed; an empty one counts as unset, so its
// default applies. The error is for a settings struct that is itself wrong (a bound that
// does not convert): a programming error, not a bad configuration.
func readSettings(prefix string, spec any, getenv func(string) string) (*reading, error) {
	settings, err := settingsOf(prefix, spec)
	if err != nil {
		return nil, err
	}
	r := &reading{settings: settings, given: make(map[string]bool, len(settings))}
	for _, s := range settings {
		v := strings.TrimSpace(getenv(s.key))
		r.given[s.key] = v != ""
		if v == "" {
			v = s.tags.Get("default")
		}
		if v == "" {
			if s.required() {
				r.problems.add(s.key, "required: %s", s.tags.Get("desc"))
			}
			continue
		}
		val, problem, err := s.decode(v)
		if err != nil {
			return nil, err
		}
		if problem != "" {
			r.problems.add(s.key, "%s", problem)
			continue
		}
		s.field.Set(val)
	}
	return r, nil
}

// decode converts v for s and checks it against s's bounds and choices. It returns the
// value, or what is wrong with v (never quoting a secret).
func (s setting) decode(v string) (val reflect.Value, problem string, err error) {
	val, err = convert(s.field.Type(), v)
	if err != nil {
		problem = conversionProblem(s.field.Type(), v, err)
		if s.secret() && strings.Contains(problem, v) {
			problem = "not a valid value (not shown: it is secret)"
		}
		return reflect.Value{}, problem, nil
	}
	if problem, err = s.checkBounds(val, v); problem != "" || err != nil {
		return reflect.Value{}, problem, err
	}
	if choices := s.tags.Get("oneof"); choices != "" {
		if val.Kind() != reflect.String {
			return reflect.Value{}, "", fmt.Errorf("setting %s: oneof on a %s", s.key, val.Type())
		}
		list := strings.Split(choices, ",")
		i := slices.IndexFunc(list, func(c string) bool { return strings.EqualFold(c, v) })
		if i < 0 {
			return reflect.Value{}, fmt.Sprintf("%q: use %s", v, orList(list)), nil
		}
		val.SetString(list[i])
	}
	return val, "", nil
}

// checkBounds compares val with the min and max tags, converted as the value was.
func (s setting) checkBounds(val reflect.Value, v string) (problem string, err error) {
	lo, hi := s.tags.Get("min"), s.tags.Get("max")
	if lo == "" && hi == "" {
		return "", nil
	}
	if !val.CanInt() {
		return "", fmt.Errorf("setting %s: bounds on a %s", s.key, val.Type())
	}
	bound := func(b string) (int64, error) {
		bv, err := convert(val.Type(), b)
		if err != nil {
			return 0, fmt.Errorf("setting %s: bound %q: %w", s.key, b, err)
		}
		return bv.Int(), nil
	}
	below, above := false, false
	if lo != "" {
		n, err := bound(lo)
		if err != nil {
			return "", err
		}
		below = val.Int() < n
	}
	if hi != "" {
		n, err := bound(hi)
		if err != nil {
			return "", err
		}
		above = val.Int() > n
	}
	switch {
	case !below && !above:
		return "", nil
	case lo != "" && hi != "":
		return fmt.Sprintf("%s is out of range: use %s to %s", v, lo, hi), nil
	case below:
		return fmt.Sprintf("%s is too small: use at least %s", v, lo), nil
	}
	return fmt.Sprintf("%s is too large: use at most %s", v, hi), nil
}

// noVariable is a name no environment can hold: C strings end at NUL.
const noVariable = "\x00"

// convert converts v to a value of typ with envconfig's own conversion. envconfig only
// converts what it reads from the environment or from a default tag, so v is handed to it
// as the default of a one-field struct whose variable no environment can hold.
func convert(typ reflect.Type, v string) (reflect.Value, error) {
	holder := reflect.New(reflect.StructOf([]reflect.StructField{{
		Name: "V",
		Type: typ,
		Tag:  reflect.StructTag(`envconfig:` + strconv.Quote(noVariable) + ` default:` + strconv.Quote(v)),
	}}))
	if err := envconfig.Process("", holder.Interface()); err != nil {
		if pe, ok := errors.AsType[*envconfig.ParseError](err); ok {
			return reflect.Value{}, pe.Err
		}
		return reflect.Value{}, err
	}
	return holder.Elem().Field(0), nil
}

// conversionProblem says what a value that did not convert should be. lcwnotify's own
// types say it in their Decode error; for envconfig's, it depends on the type.
func conversionProblem(typ reflect.Type, v string, err error) string {
	decoder := reflect.TypeFor[envconfig.Decoder]()
	switch {
	case typ.Implements(decoder) || reflect.PointerTo(typ).Implements(decoder):
		return err.Error()
	case typ == reflect.TypeFor[time.Duration]():
		return fmt.Sprintf("%q is not a duration: use a number with a unit, such as 90s, 5m or 1h", v)
	case typ.Kind() == reflect.Bool:
		return fmt.Sprintf("%q: use true or false", v)
	case reflect.Zero(typ).CanInt():
		return fmt.Sprintf("%q is not a whole number", v)
	case reflect.Zero(typ).CanUint():
		return fmt.Sprintf("%q is not a whole number of 0 or more", v)
	case reflect.Zero(typ).CanFloat():
		return fmt.Sprintf("%q is not a number", v)
	}
	return fmt.Sprintf("%q: %v", v, err)
}

// orList writes "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// problems collects what is wrong with each bad variable. Several problems with one
// variable share its line.
type problems struct {
	vars []string
	msgs map[string][]string
}

// add records a problem with variable.
func (p *problems) add(variable, format string, args ...any) {
	if p.msgs == nil {
		p.msgs = make(map[string][]string)
	}
	if _, seen := p.msgs[variable]; !seen {
		p.vars = append(p.vars, variable)
	}
	p.msgs[variable] = append(p.msgs[variable], fmt.Sprintf(format, args...))
}

// has reports whether variable has a problem.
func (p *problems) has(variable string) bool {
	_, ok := p.msgs[variable]
	return ok
}

// err returns nil or the *configError listing every bad variable, one line each, in
// the order of settings (the order of help); variables that are not settings first.
func (p *problems) err(settings []setting) error {
	if len(p.vars) == 0 {
		return nil
	}
	index := func(v string) int {
		return slices.IndexFunc(settings, func(s setting) bool { return s.key == v })
	}
	vars := slices.Clone(p.vars)
	slices.SortStableFunc(vars, func(a, b string) int { return index(a) - index(b) })
	lines := make([]string, len(vars))
	for i, v := range vars {
		lines[i] = v + ": " + strings.Join(p.msgs[v], "; ")
	}
	return &configError{problems: lines}
}

// configError lists every bad setting, one line each.
type configError struct{ problems []string }

func (e *configError) Error() string { return strings.Join(e.problems, "\n") }

// asConfigError reports whether err is a bad configuration (exit 2).
func asConfigError(err error) (*configError, bool) {
	var ce *configError
	ok := errors.As(err, &ce)
	return ce, ok
}
