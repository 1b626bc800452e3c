package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// A response is decoded in two steps. The page as a whole must be well-formed JSON
// with a "value" array, or the whole page is refused (ErrMalformedResponse): a list is
// never returned partial. Each item is then decoded leniently: an item without a
// string id (or, for runs and results, processingStatus) is skipped and counted, a
// property of the wrong type becomes its zero value with a warning. One bad item must
// not block a workflow forever.

// page is a decoded collection page; items are compacted JSON.
type page struct {
	items    []json.RawMessage
	nextLink string
}

// decodePage checks and splits a collection response.
func decodePage(body []byte) (page, error) {
	var env struct {
		Value    *[]json.RawMessage `json:"value"`
		NextLink *string            `json:"@odata.nextLink"`
	}
	// Unmarshal validates the whole body before it decodes anything: a truncated page
	// fails here, whole.
	if err := json.Unmarshal(body, &env); err != nil {
		return page{}, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	if env.Value == nil {
		return page{}, fmt.Errorf("%w: no \"value\" array", ErrMalformedResponse)
	}
	p := page{items: *env.Value}
	for i, item := range p.items {
		p.items[i] = compactItem(item)
	}
	if env.NextLink != nil {
		p.nextLink = *env.NextLink
	}
	return p, nil
}

// compactItem returns item (valid JSON, owned by the caller) without insignificant
// whitespace. Graph sends compact JSON, so most items are returned as they are.
func compactItem(item json.RawMessage) json.RawMessage {
	if bytes.IndexAny(item, " \t\r\n") < 0 {
		return item
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, item); err != nil {
		return item // cannot happen: item was validated with the page
	}
	return buf.Bytes()
}

// compactJSON validates body as one JSON object and returns it without insignificant
// whitespace, which is how Raw keeps an object "exactly as received".
func compactJSON(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	b := buf.Bytes()
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformedResponse)
	}
	return b, nil
}

// itemDecoder turns the lenient fields of one decoded item into values, collecting a
// warning for each property it had to zero.
type itemDecoder struct {
	id    string
	warns []slog.Attr
}

func (d *itemDecoder) warn(prop string, f flaw) {
	const maxShown = 64
	shown := string(f.raw)
	if len(shown) > maxShown {
		shown = strings.ToValidUTF8(shown[:maxShown], "") + "…"
	}
	d.warns = append(d.warns, slog.Group(prop, "problem", f.why, "value", shown))
}

// flaw records a property value that could not be used, for the warning.
type flaw struct {
	raw []byte
	why string
}

func (f *flaw) set(raw []byte, why string) { f.raw, f.why = bytes.Clone(raw), why }

// The j* types decode one property leniently: UnmarshalJSON never fails, a value of the
// wrong type is kept aside as a flaw and the property left at its zero value. Absent
// and null are not flaws.

// jString is a String property.
type jString struct {
	v  string
	ok bool // a JSON string was present
	flaw
}

func (j *jString) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	if j.v, j.ok = unquote(b); !j.ok {
		j.set(b, "not a string")
	}
	return nil
}

// jInt is an Int32 property; an integral number written with a fraction or exponent
// (2.0, 1e2) is accepted.
type jInt struct {
	v int
	flaw
}

func (j *jInt) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 32); err == nil {
		j.v = int(n)
		return nil
	}
	if b[0] != '"' {
		if f, err := strconv.ParseFloat(string(b), 64); err == nil && f == math.Trunc(f) &&
			f >= math.MinInt32 && f <= math.MaxInt32 {
			j.v = int(f)
			return nil
		}
	}
	j.set(b, "not an Int32")
	return nil
}

// jBool is a Boolean property.
type jBool struct {
	v  bool
	ok bool // a JSON boolean was present
	flaw
}

func (j *jBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		j.v, j.ok = true, true
	case "false":
		j.ok = true
	case "null":
	default:
		j.set(b, "not a boolean")
	}
	return nil
}

// jTime is a DateTimeOffset property (RFC 3339, Graph sends 7 fractional digits).
type jTime struct {
	v *time.Time
	flaw
}

func (j *jTime) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	s, ok := unquote(b)
	if !ok {
		j.set(b, "not a string")
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		j.set(b, "not an RFC 3339 time")
		return nil
	}
	j.v = &t
	return nil
}

// jSubject is the subject navigation property, of which only the id is used.
type jSubject struct {
	id jString
	flaw
}

func (j *jSubject) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	var s struct {
		ID jString `json:"id"`
	}
	if !object(b) || json.Unmarshal(b, &s) != nil {
		j.set(b, "not an object")
		return nil
	}
	j.id = s.ID
	return nil
}

func (d *itemDecoder) string(prop string, j jString) string {
	if j.raw != nil {
		d.warn(prop, j.flaw)
	}
	return j.v
}

// optString returns a nullable String property: nil when absent, null or unusable.
func (d *itemDecoder) optString(prop string, j jString) *string {
	if j.raw != nil {
		d.warn(prop, j.flaw)
	}
	if !j.ok {
		return nil
	}
	return &j.v
}

func (d *itemDecoder) int(prop string, j jInt) int {
	if j.raw != nil {
		d.warn(prop, j.flaw)
	}
	return j.v
}

func (d *itemDecoder) bool(prop string, j jBool) bool {
	if j.raw != nil {
		d.warn(prop, j.flaw)
	}
	return j.v
}

func (d *itemDecoder) time(prop string, j jTime) *time.Time {
	if j.raw != nil {
		d.warn(prop, j.flaw)
	}
	return j.v
}

func (d *itemDecoder) subjectID(j jSubject) string {
	if j.raw != nil {
		d.warn("subject", j.flaw)
	}
	return d.string("subject.id", j.id)
}

// skip is why an item cannot be used at all.
type skip string

// required checks the id (and, when withStatus, the processingStatus) an item cannot
// be used without.
func (d *itemDecoder) required(id, status *jString, withStatus bool) skip {
	if !id.ok || id.v == "" {
		return "no string id"
	}
	d.id = id.v
	if withStatus && (!status.ok || status.v == "") {
		return "no string processingStatus"
	}
	return ""
}

// isNull reports whether raw is absent or null: a property without a value, not a defect.
func isNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// unquote returns the string raw holds, if it is a JSON string.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// object reports whether raw is a JSON object, the only thing an item can be.
func object(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }
