package graph

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// retryPolicy is the pipeline's retry loop, in place of azcore's. It serves reads and
// actions alike; classify tells them apart by the call's idempotent flag, so that an
// action is sent again only where Graph cannot have acted on it. azcore's retry policy
// (a count of tries, not a time budget) parses Retry-After as whole seconds only
// and so retries Graph's "Retry-After: 2.128" after its own backoff, too early; lets
// a Retry-After longer than its MaxRetryDelay end the call at once, while that same
// setting caps the backoff; and retries on the connection that just failed.
// Measured in docs/BENCHMARKS.md ("The Graph client's HTTP pipeline").
type retryPolicy struct{ c *Client }

func (p retryPolicy) Do(req *policy.Request) (*http.Response, error) {
	var cl *call
	if !req.OperationValue(&cl) || cl == nil {
		return req.Next()
	}
	c, op := p.c, cl.op
	ctx := req.Raw().Context()
	deadline := time.Now().Add(c.maxRetry)
	for attempt := 0; ; attempt++ {
		// The failure may be the connection's (a sick frontend, a half-closed socket):
		// the retry must not reuse it. Closing idle connections is not enough: over
		// HTTP/2 the requests of other workflows keep the one connection busy, so the
		// connection the attempt used is closed by hand, and their requests are
		// retried on a new one too.
		var used usedConn
		cl.ex = exchange{}
		// A shallow copy: azcore's retry policy, next, clones the request for each try.
		resp, err := req.WithContext(httptrace.WithClientTrace(ctx, used.trace())).Next()
		out := c.classify(ctx, cl, err)
		if out.newConn {
			used.close()
		}
		c.access.observe(op, out)
		if out.err == nil {
			cl.body = out.body
			return resp, nil
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
			// An HTTP/1 connection may also have gone back to the pool as the body
			// ended; it closes here.
			c.hc.CloseIdleConnections()
		}
		c.metrics.addRetry(op, out.reason())
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

// outcome is what one attempt came to and how to go on. It is decided here, once,
// from the attempt's last exchange.
type outcome struct {
	body          []byte
	err           error
	gerr          *Error // Graph's answer, when it answered with an error status
	token         string // the token of that answer
	retry         bool   // worth another attempt
	throttled     bool   // 429 or 503: counts as throttled time
	newConn       bool   // retry on a new connection
	retryAfter    time.Duration
	hasRetryAfter bool
}

// reason is the "reason" label of a retry.
func (o outcome) reason() string {
	switch {
	case o.throttled:
		return "throttled"
	case o.gerr != nil:
		return "server_error"
	}
	return "connection"
}

// classify decides the outcome of an attempt that ended with err (from the policies
// after retryPolicy) and the call's last exchange.
func (c *Client) classify(ctx context.Context, cl *call, err error) outcome {
	op, ex := cl.op, cl.ex
	switch {
	case errors.Is(err, ErrCredential):
		// azidentity retries its own requests; a failure here is final for this call.
		// It may follow a 401 whose challenge asked for a fresh token.
		return outcome{err: err}
	case !ex.sent:
		// Refused before any request went out.
		if ctx.Err() != nil {
			return outcome{err: fmt.Errorf("graph %s: %w", op, context.Cause(ctx))}
		}
		return outcome{err: fmt.Errorf("graph %s: %w", op, err)}
	case ex.err != nil && !cl.idempotent:
		return c.actionFailure(ctx, op, ex)
	case ex.err != nil:
		var tooLarge *http.MaxBytesError
		if errors.As(ex.err, &tooLarge) {
			return outcome{err: fmt.Errorf("%w: graph %s: response larger than %d bytes", ErrMalformedResponse, op, tooLarge.Limit)}
		}
		return c.transportFailure(ctx, op, ex.crid, ex.err)
	}
	// Graph answered. An error from BearerTokenPolicy after a complete answer (a
	// challenge it could not or would not act on) leaves that answer the outcome.
	resp := ex.resp
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return outcome{body: ex.body}
	}
	gerr := newError(op, resp, ex.body, ex.crid, ex.token)
	c.log.DebugContext(ctx, "graph request failed", "operation", op, "status", gerr.StatusCode,
		"code", gerr.Code, "request_id", gerr.RequestID, "client_request_id", gerr.ClientRequestID)
	out := outcome{err: gerr, gerr: gerr, token: ex.token}
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
	if out.retry && !cl.idempotent && !refusedUnexecuted(resp.StatusCode, out.hasRetryAfter) {
		// A 500, 502 or 504, or a 503 that names no time to come back, may come
		// from behind the service that acted: sending an action again could act twice.
		out.err, out.retry = fmt.Errorf("%w: %w", ErrUnconfirmed, gerr), false
	}
	return out
}

// refusedUnexecuted reports whether an error status says Graph did not execute the
// request: throttled (429), or unavailable with a Retry-After (503), Graph's answer
// at the door while it sheds load. Only what this allows is retried when the call is
// not idempotent. A 401 says so too, but it is not retried here: BearerTokenPolicy
// has answered it already with one fresh token and one more request (see post), and
// the 401 it hands back stands.
func refusedUnexecuted(status int, hasRetryAfter bool) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable && hasRetryAfter
}

// actionFailure classifies an exchange of a call that is not idempotent and got no
// complete answer. A 2xx status line is Graph accepting it: what follows no longer
// matters. Otherwise, once the request began to go out Graph may have acted on it:
// ErrUnconfirmed, never sent again. Before, it is a connection failure like any
// other, retried on a new connection.
func (c *Client) actionFailure(ctx context.Context, op string, ex exchange) outcome {
	if ex.resp != nil && ex.resp.StatusCode >= 200 && ex.resp.StatusCode < 300 {
		return outcome{}
	}
	if !ex.wrote && ex.resp == nil {
		return c.transportFailure(ctx, op, ex.crid, ex.err)
	}
	c.log.DebugContext(ctx, "graph request failed once sent", "operation", op, "client_request_id", ex.crid, "error", ex.err)
	return outcome{err: fmt.Errorf("%w: graph %s (client-request-id %s): %w", ErrUnconfirmed, op, ex.crid, ex.err), newConn: true}
}

// transportFailure classifies an error without an HTTP status: the caller's ctx ending
// is final, anything else (the attempt's timeout, a refused or reset connection, a
// body cut short) is retried on a new connection.
func (c *Client) transportFailure(ctx context.Context, op, crid string, err error) outcome {
	if ctx.Err() != nil {
		return outcome{err: fmt.Errorf("graph %s: %w", op, context.Cause(ctx))}
	}
	c.log.DebugContext(ctx, "graph request failed", "operation", op, "client_request_id", crid, "error", err)
	return outcome{err: fmt.Errorf("graph %s (client-request-id %s): %w", op, crid, err), retry: true, newConn: true}
}

// backoff is exponential backoff with full jitter: attempt n waits a uniformly random
// time in [0, min(max, base·2ⁿ)], so that clients throttled together do not come back
// together.
type backoff struct {
	base, max time.Duration
}

var defaultBackoff = backoff{base: 500 * time.Millisecond, max: 30 * time.Second}

func (b backoff) delay(attempt int) time.Duration {
	ceil := b.max
	if attempt < 30 {
		if d := b.base << attempt; d > 0 && d < b.max {
			ceil = d
		}
	}
	return rand.N(ceil + 1)
}

// maxRetryAfter caps a Retry-After value; anything longer exceeds every sane retry
// budget anyway and ends the request at once.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header: seconds, possibly fractional as Graph
// sends them ("2.128"), or an HTTP date. It rounds up: the wait is at least what the
// server asked. ok is false when the header is absent or unreadable.
func parseRetryAfter(h string, now time.Time) (d time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if isDecimal(h) {
		secs, err := strconv.ParseFloat(h, 64)
		if err != nil {
			return 0, false
		}
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter, true
		}
		return time.Duration(math.Ceil(secs * float64(time.Second))), true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	return min(max(d, 0), maxRetryAfter), true
}

// isDecimal reports whether s is digits with at most one decimal point: what
// strconv.ParseFloat alone would also let through ("1e9", "Inf", "0x10") is not a
// delay.
func isDecimal(s string) bool {
	digits, dot := 0, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// sleep waits d or until ctx ends, and returns how long it waited.
func sleep(ctx context.Context, d time.Duration) (time.Duration, error) {
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return time.Since(start), nil
	case <-ctx.Done():
		return time.Since(start), context.Cause(ctx)
	}
}
