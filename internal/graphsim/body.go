package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBody bounds a request body: the simulator's writes take a few hundred bytes.
const maxBody = 64 << 10

// readObject reads a request body that must be one JSON object sent as
// application/json, and returns its members undecoded.
func readObject(x *exchange) (map[string]json.RawMessage, *apiError) {
	mt, _, _ := mime.ParseMediaType(x.r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "UnsupportedMediaType",
			message: "The request body must be JSON: send 'Content-Type: application/json'."}
	}
	raw, err := io.ReadAll(io.LimitReader(x.r.Body, maxBody+1))
	if err != nil || len(raw) > maxBody {
		return nil, errBadRequest("The request body could not be read or is too large.")
	}
	var body map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&body); err != nil || body == nil {
		return nil, errBadRequest("The request body is not a JSON object.")
	}
	if dec.More() {
		return nil, errBadRequest("The request body holds more than one JSON value.")
	}
	return body, nil
}

// jsonNode names the kind of a JSON value the way OData's reader does in its errors.
func jsonNode(raw json.RawMessage) string {
	switch {
	case len(raw) == 0:
		return "None"
	case raw[0] == '[':
		return "StartArray"
	case raw[0] == '{':
		return "StartObject"
	}
	return "PrimitiveValue"
}

// errNode is OData's complaint about a value of the wrong kind.
func errNode(what string, raw json.RawMessage, want string) *apiError {
	return errBadRequest(fmt.Sprintf("Invalid value for %s: an unexpected '%s' node was found when reading from the JSON reader. A '%s' node was expected.",
		what, jsonNode(raw), want))
}

// errNoProperty is OData's complaint about a property its type does not declare.
func errNoProperty(prop, typ string) *apiError {
	return errBadRequest(fmt.Sprintf("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type.", prop, typ))
}

// odataType reads an "@odata.type" annotation: "#namespace.name", or "namespace.name"
// as Microsoft's own examples write it.
func odataType(raw json.RawMessage) (string, bool) {
	var t string
	if json.Unmarshal(raw, &t) != nil {
		return "", false
	}
	return strings.TrimPrefix(t, "#"), true
}
