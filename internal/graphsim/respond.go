package graphsim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// apiError is an error response in Graph's shape.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errBadRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "BadRequest", message: msg}
}

func errNotFound(what, id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "ResourceNotFound",
		message: fmt.Sprintf("The %s with id '%s' was not found.", what, id)}
}

// contentType is what Graph sends with JSON bodies.
const contentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// exchange is one request being answered: its ids, the response writer that counts
// bytes, and the client's preferences.
type exchange struct {
	w               *countingWriter
	r               *http.Request
	requestID       string
	clientRequestID string
	includeUnknown  bool
	rt              route
	token           string // the bearer token, for the roles it carries
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	hi, lo := uint64(0), uint64(0)
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return guidFrom(hi, lo)
}

// setHeaders writes the headers every Graph response carries.
func (x *exchange) setHeaders() {
	h := x.w.Header()
	h.Set("request-id", x.requestID)
	h.Set("client-request-id", x.clientRequestID)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Loopback","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"graphsim"}}`)
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
}

// writeJSON sends a 200 (or status) with body b.
func (x *exchange) writeJSON(status int, b []byte) {
	x.setHeaders()
	h := x.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if x.includeUnknown {
		h.Set("Preference-Applied", "include-unknown-enum-members")
	}
	x.w.WriteHeader(status)
	_, _ = x.w.Write(b)
}

// writeNoContent sends 204, the answer of an action without a result.
func (x *exchange) writeNoContent() {
	x.setHeaders()
	if x.includeUnknown {
		x.w.Header().Set("Preference-Applied", "include-unknown-enum-members")
	}
	x.w.WriteHeader(http.StatusNoContent)
}

// writeError sends e in Graph's error shape, echoing the client's request id.
func (x *exchange) writeError(e *apiError) {
	b := x.errorBody(e.code, e.message)
	if e.status == http.StatusUnauthorized {
		x.w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	}
	x.setHeaders()
	h := x.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	x.w.WriteHeader(e.status)
	_, _ = x.w.Write(b)
}

func (x *exchange) errorBody(code, message string) []byte {
	b := make([]byte, 0, 256+len(message))
	b = append(b, `{"error":{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	b = append(b, `,"innerError":{"date":`...)
	b = appendJSONString(b, time.Now().UTC().Format("2006-01-02T15:04:05"))
	b = append(b, `,"request-id":`...)
	b = appendJSONString(b, x.requestID)
	b = append(b, `,"client-request-id":`...)
	b = appendJSONString(b, x.clientRequestID)
	return append(b, "}}}"...)
}

// baseURL is the request's own scheme and host plus the version: the root of
// @odata.context and @odata.nextLink.
func (x *exchange) baseURL() string {
	scheme := "http"
	if x.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + x.r.Host + "/" + x.rt.version
}

// countingWriter counts response bytes and remembers the status for the counters.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// Flush lets a truncated-body fault push half a body onto the wire.
func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
