package watcher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// docBlocks returns the ```json blocks of docs/events.md under the heading that starts
// with heading.
func docBlocks(t *testing.T, heading string) [][]byte {
	t.Helper()
	doc, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := bytes.Cut(doc, []byte("\n"+heading))
	if !ok {
		t.Fatalf("docs/events.md has no heading %q", heading)
	}
	if end := bytes.Index(section, []byte("\n## ")); end >= 0 {
		section = section[:end]
	}
	var out [][]byte
	for _, part := range bytes.Split(section, []byte("```json\n"))[1:] {
		block, _, _ := bytes.Cut(part, []byte("```"))
		out = append(out, block)
	}
	return out
}

func docSchema(t *testing.T) map[string]any {
	t.Helper()
	blocks := docBlocks(t, "## JSON Schema")
	if len(blocks) != 1 {
		t.Fatalf("want one JSON block under JSON Schema, got %d", len(blocks))
	}
	var schema map[string]any
	if err := json.Unmarshal(blocks[0], &schema); err != nil {
		t.Fatalf("the schema in docs/events.md is not JSON: %v", err)
	}
	return schema
}

// TestSchemaMatchesPublishedEvents checks the documented schema against every kind of
// event the watcher publishes, and the documented example against both.
func TestSchemaMatchesPublishedEvents(t *testing.T) {
	schema := docSchema(t)
	e := newEnv(t)
	wf, u := e.workflow("Leaver", 4)
	e.sim.SetUserAccess(u[1], graphsim.UserMissing)
	w := e.watcher()
	e.poll(w)
	r := e.run(wf, "r", time.Time{}, u...)
	e.poll(w)
	e.clock.advance(time.Minute)
	e.set(r[0], "failed", time.Time{})
	e.set(r[1], "completedWithErrors", time.Time{})
	e.set(r[2], "quarantined", time.Time{})
	e.set(r[3], "canceled", time.Time{})
	e.poll(w)
	msgs := e.messages()
	if len(msgs) != 8 {
		t.Fatalf("%d events, want 8", len(msgs))
	}
	for _, m := range msgs {
		var doc any
		if err := json.Unmarshal(m.Data, &doc); err != nil {
			t.Fatal(err)
		}
		if err := validate(schema, schema, doc, "event"); err != nil {
			t.Errorf("event on %s does not match the documented schema: %v\n%s", m.Subject, err, m.Data)
		}
	}

	examples := docBlocks(t, "## The event")
	if len(examples) != 1 {
		t.Fatalf("want one example, got %d", len(examples))
	}
	var doc any
	if err := json.Unmarshal(examples[0], &doc); err != nil {
		t.Fatalf("the example is not JSON: %v", err)
	}
	if err := validate(schema, schema, doc, "example"); err != nil {
		t.Errorf("the documented example does not match the schema: %v", err)
	}
	if _, err := events.Decode(examples[0]); err != nil {
		t.Errorf("the documented example is not a valid event: %v", err)
	}
}

// TestSchemaValidatorRejects makes sure validate can fail: a schema check that passes
// everything proves nothing.
func TestSchemaValidatorRejects(t *testing.T) {
	schema := docSchema(t)
	var good map[string]any
	if err := json.Unmarshal(docBlocks(t, "## The event")[0], &good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(ev, data map[string]any)
	}{
		{"wrong type", func(ev, _ map[string]any) { ev["type"] = "other" }},
		{"id shape", func(ev, _ map[string]any) { ev["id"] = "123" }},
		{"no time", func(ev, _ map[string]any) { delete(ev, "time") }},
		{"bad time", func(ev, _ map[string]any) { ev["time"] = "yesterday" }},
		{"previous a number", func(_, d map[string]any) { d["previousProcessingStatus"] = 3 }},
		{"result without status", func(_, d map[string]any) {
			delete(d["userProcessingResult"].(map[string]any), "processingStatus")
		}},
		{"user without id", func(_, d map[string]any) { d["user"] = map[string]any{"displayName": "x"} }},
		{"task without name", func(_, d map[string]any) {
			d["taskProcessingResults"].([]any)[0].(map[string]any)["task"] = map[string]any{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev map[string]any
			b, _ := json.Marshal(good)
			_ = json.Unmarshal(b, &ev)
			tt.mutate(ev, ev["data"].(map[string]any))
			if err := validate(schema, schema, ev, "event"); err == nil {
				t.Error("validate accepted it")
			}
		})
	}
}

// validate checks v against the subset of JSON Schema 2020-12 the documented schema
// uses: $ref to #/$defs, type, const, required, properties, items, oneOf, minLength,
// pattern and format date-time/uri. Other keywords are annotations.
func validate(root, s map[string]any, v any, at string) error {
	if ref, ok := s["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		def, _ := root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok || def == nil {
			return fmt.Errorf("%s: unresolvable $ref %s", at, ref)
		}
		return validate(root, def, v, at)
	}
	if c, ok := s["const"]; ok && c != v {
		return fmt.Errorf("%s: %v, want %v", at, v, c)
	}
	if ty, ok := s["type"]; ok {
		var types []any
		if one, isStr := ty.(string); isStr {
			types = []any{one}
		} else {
			types = ty.([]any)
		}
		match := false
		for _, t := range types {
			match = match || hasType(v, t.(string))
		}
		if !match {
			return fmt.Errorf("%s: %v is not %v", at, v, ty)
		}
	}
	if alts, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, a := range alts {
			if validate(root, a.(map[string]any), v, at) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: %v matches %d of oneOf, want 1", at, v, n)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, r := range asSlice(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s: %s is required", at, r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, pv := range x {
			if ps, ok := props[k].(map[string]any); ok {
				if err := validate(root, ps, pv, at+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		if is, ok := s["items"].(map[string]any); ok {
			for i, item := range x {
				if err := validate(root, is, item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case string:
		if n, ok := s["minLength"].(float64); ok && len(x) < int(n) {
			return fmt.Errorf("%s: %q is shorter than %v", at, x, n)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			return fmt.Errorf("%s: %q does not match %s", at, x, p)
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, x)
			}
		case "uri":
			if !strings.Contains(x, "://") {
				return fmt.Errorf("%s: %q is not a URI", at, x)
			}
		}
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return false
}
