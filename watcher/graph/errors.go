package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors, matched with errors.Is. A *Error from Graph matches the one for its
// status code.
var (
	// ErrNotFound reports a 404: the workflow, run, result or user does not exist (any more).
	ErrNotFound = errors.New("graph: not found")
	// ErrForbidden reports a 403: the application lacks a permission (see docs/graph-permissions.md).
	ErrForbidden = errors.New("graph: forbidden")
	// ErrUnauthorized reports a 401: the token was refused (wrong tenant or audience, expired, revoked).
	ErrUnauthorized = errors.New("graph: unauthorized")
	// ErrThrottled reports that Graph kept answering 429 or 503 until the retry budget
	// (Options.MaxRetryTime) ran out.
	ErrThrottled = errors.New("graph: throttled past the retry budget")
	// ErrMalformedResponse reports a response that is not JSON, is truncated or does not
	// have the expected shape. No partial list is ever returned with it.
	ErrMalformedResponse = errors.New("graph: malformed response")
	// ErrForeignNextLink reports an @odata.nextLink that leaves the configured Graph root
	// (another scheme or host), loops, or pages without end. It is never followed: the
	// token must not be sent anywhere else.
	ErrForeignNextLink = errors.New("graph: refused @odata.nextLink")
	// ErrInvalidQuery reports a request Graph documents no form for: a Query that uses a
	// filter, order or selection Graph does not document for the resource, a list of
	// runs or results without a date range, an activation without users or with an
	// incomplete scope. It is detected before any request is sent.
	ErrInvalidQuery = errors.New("graph: invalid query")
	// ErrConflict reports a 409: the resource is not in a state that allows the
	// request (an activation of a disabled workflow, of a result or run that has not
	// finished).
	ErrConflict = errors.New("graph: conflict")
	// ErrUnconfirmed reports an action that was sent but whose effect is unknown: the
	// connection broke once the request was out, or Graph answered 500, 502, 504, or
	// 503 without Retry-After. It is never retried blindly: a second activation would
	// start a second run.
	ErrUnconfirmed = errors.New("graph: action sent, outcome unknown")
	// ErrCredential reports that no token could be obtained from the credential.
	ErrCredential = errors.New("graph: cannot get a token")
)

// Error is an error response from Graph. It never holds a token: the message is what
// Graph wrote, with any bearer token the client sent removed.
type Error struct {
	// Operation is the client operation that failed, e.g. "list_results".
	Operation string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is Graph's error.code, e.g. "ResourceNotFound". Act on it, never on Message.
	Code string
	// Message is Graph's error.message, for people.
	Message string
	// RequestID, ClientRequestID and Date come from error.innerError (or the response
	// headers when the body has none); quote them to Microsoft support.
	RequestID       string
	ClientRequestID string
	Date            string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s: %d %s", e.Operation, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" || e.ClientRequestID != "" {
		fmt.Fprintf(&b, " (request-id %s, client-request-id %s)", e.RequestID, e.ClientRequestID)
	}
	return b.String()
}

// Is matches the sentinel for the status code: ErrNotFound, ErrForbidden,
// ErrUnauthorized, ErrConflict.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	}
	return false
}

// errorsIsStatus reports whether err is a *Error with one of the statuses.
func errorsIsStatus(err error, statuses ...int) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	for _, s := range statuses {
		if ge.StatusCode == s {
			return true
		}
	}
	return false
}

// newError decodes Graph's error body, falling back to the response headers for the
// ids. Whatever the server wrote, the token sent does not survive into the error.
func newError(op string, resp *http.Response, body []byte, crid, token string) *Error {
	var eb struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Date            string `json:"date"`
				RequestID       string `json:"request-id"`
				ClientRequestID string `json:"client-request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &eb) // a body that is not Graph's error shape leaves the fields empty
	e := &Error{
		Operation:       op,
		StatusCode:      resp.StatusCode,
		Code:            eb.Error.Code,
		Message:         eb.Error.Message,
		RequestID:       firstNonEmpty(eb.Error.InnerError.RequestID, resp.Header.Get("request-id")),
		ClientRequestID: firstNonEmpty(eb.Error.InnerError.ClientRequestID, resp.Header.Get("client-request-id"), crid),
		Date:            firstNonEmpty(eb.Error.InnerError.Date, resp.Header.Get("Date")),
	}
	for _, f := range []*string{&e.Code, &e.Message, &e.RequestID, &e.ClientRequestID, &e.Date} {
		*f = sanitize(*f, token)
	}
	return e
}

// maxErrorText bounds each text field of an Error.
const maxErrorText = 512

// sanitize removes token from s and bounds its length.
func sanitize(s, token string) string {
	if token != "" {
		s = strings.ReplaceAll(s, token, "[REDACTED]")
	}
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
