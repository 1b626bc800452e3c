package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
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
	compact, err := compactJSON(body)
	if err != nil {
		return page{}, err
	}
	var env struct {
		Value    *[]json.RawMessage `json:"value"`
		NextLink *string            `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(compact, &env); err != nil {
		return page{}, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	if env.Value == nil {
		return page{}, fmt.Errorf("%w: no \"value\" array", ErrMalformedResponse)
	}
	p := page{items: *env.Value}
	if env.NextLink != nil {
		p.nextLink = *env.NextLink
	}
	return p, nil
}

// compactJSON validates body as one JSON object and returns it without insignificant
// whitespace, which is how Raw keeps an item "exactly as received".
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

// itemDecoder decodes the properties of one item, collecting what it had to repair.
type itemDecoder struct {
	id    string
	warns []slog.Attr
}

func (d *itemDecoder) warn(prop, problem string, raw json.RawMessage) {
	const maxShown = 64
	shown := string(raw)
	if len(shown) > maxShown {
		shown = shown[:maxShown] + "…"
	}
	d.warns = append(d.warns, slog.Group(prop, "problem", problem, "value", shown))
}

// isNull reports whether raw is absent or null: a property without a value, not a defect.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// unquote returns the string raw holds, if it is a JSON string.
func unquote(raw json.RawMessage) (string, bool) {
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

// string decodes a string property; anything but a string or null becomes "".
func (d *itemDecoder) string(prop string, raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	s, ok := unquote(raw)
	if !ok {
		d.warn(prop, "not a string", raw)
	}
	return s
}

// optString decodes a nullable string property.
func (d *itemDecoder) optString(prop string, raw json.RawMessage) *string {
	if isNull(raw) {
		return nil
	}
	s, ok := unquote(raw)
	if !ok {
		d.warn(prop, "not a string", raw)
		return nil
	}
	return &s
}

// time decodes a DateTimeOffset; a value that does not parse becomes nil.
func (d *itemDecoder) time(prop string, raw json.RawMessage) *time.Time {
	if isNull(raw) {
		return nil
	}
	s, ok := unquote(raw)
	if !ok {
		d.warn(prop, "not a string", raw)
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.warn(prop, "not an RFC 3339 time", raw)
		return nil
	}
	return &t
}

// int decodes an Int32 property; anything but an integral number becomes 0.
func (d *itemDecoder) int(prop string, raw json.RawMessage) int {
	if isNull(raw) {
		return 0
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
		return int(n)
	}
	if f, err := strconv.ParseFloat(string(raw), 64); err == nil && f == math.Trunc(f) &&
		f >= math.MinInt32 && f <= math.MaxInt32 && raw[0] != '"' {
		return int(f)
	}
	d.warn(prop, "not an Int32", raw)
	return 0
}

// bool decodes a Boolean property; anything but true or false becomes false.
func (d *itemDecoder) bool(prop string, raw json.RawMessage) bool {
	switch string(raw) {
	case "true":
		return true
	case "false", "", "null":
		return false
	}
	d.warn(prop, "not a boolean", raw)
	return false
}

// subjectID decodes subject.id.
func (d *itemDecoder) subjectID(raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	var s struct {
		ID json.RawMessage `json:"id"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &s) != nil {
		d.warn("subject", "not an object", raw)
		return ""
	}
	return d.string("subject.id", s.ID)
}

// skip is why an item cannot be used at all.
type skip string

// required decodes the id (and, when withStatus, processingStatus) an item cannot be
// used without.
func (d *itemDecoder) required(id, status json.RawMessage, withStatus bool) (string, skip) {
	var ok bool
	if d.id, ok = unquote(id); !ok || d.id == "" {
		return "", "no string id"
	}
	if !withStatus {
		return "", ""
	}
	s, ok := unquote(status)
	if !ok || s == "" {
		return "", "no string processingStatus"
	}
	return s, ""
}

// object reports whether raw is a JSON object, the only thing an item can be.
func object(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '{' }
