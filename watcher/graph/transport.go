package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"
)

// maxBody bounds a response body. Graph pages are a few hundred kilobytes; anything
// near this is not a page the client can use.
const maxBody = 64 << 20

// preferEnums asks Graph for enum members added after unknownFutureValue (canceling,
// quarantined, activatedWithScope…) instead of unknownFutureValue. Sent on every
// request, nextLink pages included: headers do not carry over.
const preferEnums = "include-unknown-enum-members"

// token returns a bearer token for the configured scope. azidentity caches tokens per
// credential, so this is cheap after the first call.
func (c *Client) token(ctx context.Context) (string, error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCredential, err)
	}
	if tok.Token == "" {
		return "", fmt.Errorf("%w: the credential returned an empty token", ErrCredential)
	}
	return tok.Token, nil
}

// get fetches rawURL (which must be under the configured root) and returns the body of
// a 2xx response. It retries throttling (429, 503), server errors and connection
// failures within the retry budget, and returns a *Error for other statuses.
func (c *Client) get(ctx context.Context, op, rawURL string) ([]byte, error) {
	deadline := time.Now().Add(c.maxRetry)
	for attempt := 0; ; attempt++ {
		out := c.attempt(ctx, op, rawURL)
		if out.err == nil {
			return out.body, nil
		}
		if !out.retry {
			return nil, out.err
		}
		// A Retry-After of zero (or a date gone by) asks for no wait at all: taken
		// at its word, a server that keeps refusing would be asked again at once,
		// for the whole budget. It gets the backoff instead, as azcore does.
		wait, fromServer := out.retryAfter, out.hasRetryAfter && out.retryAfter > 0
		if !fromServer {
			wait = c.backoff.delay(attempt)
		}
		if time.Now().Add(wait).After(deadline) {
			if out.throttled {
				return nil, fmt.Errorf("%w (%s): %w", ErrThrottled, c.maxRetry, out.err)
			}
			return nil, fmt.Errorf("graph %s: giving up after %d attempts: %w", op, attempt+1, out.err)
		}
		if out.newConn {
			// The attempt closed the connection it used; an HTTP/1 connection may
			// also have gone back to the pool as the body ended, and closes here.
			c.hc.CloseIdleConnections()
		}
		c.log.DebugContext(ctx, "graph request retried", "operation", op, "attempt", attempt+1,
			"wait", wait, "retry_after", fromServer, "throttled", out.throttled, "error", out.err)
		waited, err := sleep(ctx, wait)
		if out.throttled {
			c.metrics.addThrottled(waited)
		}
		if err != nil {
			return nil, fmt.Errorf("graph %s: %w", op, err)
		}
	}
}

// outcome is the result of one attempt and how to go on.
type outcome struct {
	body          []byte
	err           error
	retry         bool // worth another attempt
	throttled     bool // 429 or 503: counts as throttled time
	newConn       bool // retry on a new connection
	retryAfter    time.Duration
	hasRetryAfter bool
}

// attempt makes one request, bounded by the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, op, rawURL string) (out outcome) {
	tok, err := c.token(ctx)
	if err != nil {
		// azidentity retries its own requests; a failure here is final for this call.
		return outcome{err: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.reqTimeout)
	defer cancel()
	// The failure may be the connection's (a sick frontend, a half-closed socket): the
	// retry must not reuse it. Closing idle connections is not enough: over HTTP/2 the
	// requests of other workflows keep the one connection busy, so it is closed here
	// by hand, and their requests are retried on a new one too.
	var used usedConn
	actx = httptrace.WithClientTrace(actx, used.trace())
	defer func() {
		if out.newConn {
			used.close()
		}
	}()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return outcome{err: fmt.Errorf("graph %s: %w", op, err)}
	}
	crid := uuid.NewString()
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Prefer", preferEnums)
	req.Header.Set("client-request-id", crid)
	req.Header.Set("return-client-request-id", "true")
	req.Header.Set("User-Agent", c.userAgent)

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.metrics.observeRequest(op, 0, time.Since(start))
		return c.transportFailure(ctx, op, crid, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	c.metrics.observeRequest(op, resp.StatusCode, time.Since(start))
	if err != nil {
		return c.transportFailure(ctx, op, crid, err)
	}
	if len(body) > maxBody {
		return outcome{err: fmt.Errorf("%w: graph %s: response larger than %d bytes", ErrMalformedResponse, op, maxBody)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return outcome{body: body}
	}

	gerr := newError(op, resp, body, crid, tok)
	c.log.DebugContext(ctx, "graph request failed", "operation", op, "status", gerr.StatusCode,
		"code", gerr.Code, "request_id", gerr.RequestID, "client_request_id", gerr.ClientRequestID)
	out = outcome{err: gerr}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		out.retry, out.throttled = true, true
	case http.StatusServiceUnavailable:
		out.retry, out.throttled, out.newConn = true, true, true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		out.retry, out.newConn = true, true
	}
	if out.retry {
		out.retryAfter, out.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return out
}

// usedConn records the connection a request went out on.
type usedConn struct {
	mu   sync.Mutex
	conn net.Conn
}

func (u *usedConn) trace() *httptrace.ClientTrace {
	// GotConn may run on the HTTP/2 transport's goroutine, hence the lock.
	return &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		u.mu.Lock()
		u.conn = info.Conn
		u.mu.Unlock()
	}}
}

func (u *usedConn) close() {
	u.mu.Lock()
	conn := u.conn
	u.mu.Unlock()
	if conn != nil {
		_ = conn.Close() // the connection is given up on; how it ends does not matter
	}
}

// transportFailure classifies an error without an HTTP status: the caller's ctx ending
// is final, anything else (the attempt's timeout, a refused or reset connection) is
// retried on a new connection.
func (c *Client) transportFailure(ctx context.Context, op, crid string, err error) outcome {
	if ctx.Err() != nil {
		return outcome{err: fmt.Errorf("graph %s: %w", op, context.Cause(ctx))}
	}
	c.log.DebugContext(ctx, "graph request failed", "operation", op, "client_request_id", crid, "error", err)
	return outcome{err: fmt.Errorf("graph %s (client-request-id %s): %w", op, crid, err), retry: true, newConn: true}
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
