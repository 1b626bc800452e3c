package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// MaxActivationSubjects is how many users one activate call may name: Lifecycle
// Workflows' limit of users per on-demand selection. Activate splits larger sets.
const MaxActivationSubjects = 10

// Operation names of the actions.
const (
	opActivate          = "activate"
	opActivateWithScope = "activate_with_scope"
)

// ActivationError reports an activation that did not fully happen. An activation of
// many users is several calls; each id it named (users, processing results, or the
// run of a run scope) is in exactly one of the lists, so the caller knows whom to tell
// what, and what it may safely try again.
type ActivationError struct {
	// Activated were accepted by Graph (204).
	Activated []string
	// Unconfirmed were sent, but whether Graph started their run is unknown (the
	// connection broke, or Graph answered 500, 502 or 504, after the request went
	// out). Look for their run before activating them again.
	Unconfirmed []string
	// Failed were not activated: Graph refused them (Err says why) or the request
	// never reached it. NotSent were not sent because an earlier call failed.
	// Activating either again does not double anything.
	Failed, NotSent []string
	// Err is the failure: a *Error, ErrThrottled, an ErrUnconfirmed error, or ctx's.
	Err error
}

// Error implements error.
func (e *ActivationError) Error() string {
	return fmt.Sprintf("%v (%d activated, %d unconfirmed, %d failed, %d not sent)",
		e.Err, len(e.Activated), len(e.Unconfirmed), len(e.Failed), len(e.NotSent))
}

// Unwrap returns Err, so errors.Is(err, ErrForbidden) and the like work.
func (e *ActivationError) Unwrap() error { return e.Err }

// Activate runs a workflow on demand for users (POST …/workflows/{id}/activate), in
// calls of at most MaxActivationSubjects users; repeated ids are sent once. Each call
// is retried only where Graph cannot have acted on it (429 and 503 within the retry
// budget, a connection that failed before the request was written): an activation is
// not idempotent. Any failure is an *ActivationError. It needs the application
// permission LifecycleWorkflows-Workflow.Activate (see CanActivate).
func (c *Client) Activate(ctx context.Context, workflowID string, userIDs []string) error {
	u, err := c.workflowPath(workflowID)
	if err != nil {
		return err
	}
	ids, err := distinct(userIDs, "user")
	if err != nil {
		return err
	}
	return c.inBatches(ctx, ids, func(batch []string) error {
		return c.post(ctx, opActivate, u+"/activate", map[string]any{"subjects": refs(batch)})
	})
}

// ActivateWithScope runs a workflow on a scope (POST …/workflows/{id}/activateWithScope):
// see ProcessingResultScope and RunScope. The run it starts reports the scope as its
// ActivatedOnScope. A processing-result scope of more than MaxActivationSubjects
// results is sent in several calls, each starting a run of its own. Retries and
// errors are as for Activate.
func (c *Client) ActivateWithScope(ctx context.Context, workflowID string, scope ActivationScope) error {
	u, err := c.workflowPath(workflowID)
	if err != nil {
		return err
	}
	if err := scope.validate(); err != nil {
		return err
	}
	u += "/activateWithScope"
	if scope.Kind != ScopeProcessingResults {
		err := c.post(ctx, opActivateWithScope, u, scope.body())
		if err != nil {
			return sortFailure([]string{scope.RunID}, err)
		}
		return nil
	}
	ids, err := distinct(scope.ProcessingResultIDs, "processing result")
	if err != nil {
		return err
	}
	return c.inBatches(ctx, ids, func(batch []string) error {
		return c.post(ctx, opActivateWithScope, u, ProcessingResultScope(scope.TaskScope, batch...).body())
	})
}

// distinct drops repeats and refuses empty ids.
func distinct(ids []string, what string) ([]string, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no %s to activate", ErrInvalidQuery, what)
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("%w: an empty %s id", ErrInvalidQuery, what)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// inBatches calls send for each batch of at most MaxActivationSubjects ids, stopping
// at the first failure, and accounts for every id in an *ActivationError.
func (c *Client) inBatches(ctx context.Context, ids []string, send func([]string) error) error {
	var done []string
	for start := 0; start < len(ids); start += MaxActivationSubjects {
		batch := ids[start:min(start+MaxActivationSubjects, len(ids))]
		if err := send(batch); err != nil {
			ae := sortFailure(batch, err)
			ae.Activated, ae.NotSent = done, ids[start+len(batch):]
			return ae
		}
		done = append(done, batch...)
	}
	return nil
}

// sortFailure sorts the ids of a failed call by what the failure means for them.
func sortFailure(batch []string, err error) *ActivationError {
	ae := &ActivationError{Err: err}
	switch {
	case errors.Is(err, ErrUnconfirmed):
		ae.Unconfirmed = batch
	default:
		ae.Failed = batch
	}
	return ae
}

// postOutcome is the result of one POST attempt and how to go on.
type postOutcome struct {
	err           error
	retry         bool // Graph cannot have acted on it: send it again
	throttled     bool // 429 or 503: counts as throttled time
	newConn       bool // retry on a new connection
	retryAfter    time.Duration
	hasRetryAfter bool
}

// post sends an action and waits for its 2xx. Only what Graph cannot have executed
// is retried: throttling (429, 503) and connections that failed before the request
// was written. Anything that failed once the request was out is ErrUnconfirmed.
func (c *Client) post(ctx context.Context, op, rawURL string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("graph %s: %w", op, err)
	}
	deadline := time.Now().Add(c.maxRetry)
	for attempt := 0; ; attempt++ {
		out := c.postAttempt(ctx, op, rawURL, body)
		if out.err == nil {
			return nil
		}
		if !out.retry {
			return out.err
		}
		wait, fromServer := out.retryAfter, out.hasRetryAfter && out.retryAfter > 0
		if !fromServer {
			wait = c.backoff.delay(attempt)
		}
		if time.Now().Add(wait).After(deadline) {
			if out.throttled {
				return fmt.Errorf("%w (%s): %w", ErrThrottled, c.maxRetry, out.err)
			}
			return fmt.Errorf("graph %s: giving up after %d attempts: %w", op, attempt+1, out.err)
		}
		if out.newConn {
			c.hc.CloseIdleConnections()
		}
		c.log.DebugContext(ctx, "graph action retried", "operation", op, "attempt", attempt+1,
			"wait", wait, "retry_after", fromServer, "throttled", out.throttled, "error", out.err)
		waited, err := sleep(ctx, wait)
		if out.throttled {
			c.metrics.addThrottled(waited)
		}
		if err != nil {
			return fmt.Errorf("graph %s: %w", op, err)
		}
	}
}

// postAttempt makes one POST, bounded by the per-attempt timeout, and classifies its
// failure by whether Graph may have acted on it.
func (c *Client) postAttempt(ctx context.Context, op, rawURL string, body []byte) (out postOutcome) {
	tok, err := c.token(ctx)
	if err != nil {
		return postOutcome{err: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.reqTimeout)
	defer cancel()
	var used usedConn
	var wrote atomic.Bool
	trace := used.trace()
	trace.WroteRequest = func(httptrace.WroteRequestInfo) { wrote.Store(true) }
	actx = httptrace.WithClientTrace(actx, trace)
	defer func() {
		if out.newConn {
			used.close()
		}
	}()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return postOutcome{err: fmt.Errorf("graph %s: %w", op, err)}
	}
	crid := uuid.NewString()
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Prefer", preferEnums)
	req.Header.Set("client-request-id", crid)
	req.Header.Set("return-client-request-id", "true")
	req.Header.Set("User-Agent", c.userAgent)

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.metrics.observeRequest(op, 0, time.Since(start))
		return c.postFailure(ctx, op, crid, err, wrote.Load())
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	c.metrics.observeRequest(op, resp.StatusCode, time.Since(start))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Accepted: what follows the status line no longer matters.
		return postOutcome{}
	}
	if err != nil {
		return c.postFailure(ctx, op, crid, err, true)
	}
	gerr := newError(op, resp, rb, crid, tok)
	c.log.DebugContext(ctx, "graph action failed", "operation", op, "status", gerr.StatusCode,
		"code", gerr.Code, "request_id", gerr.RequestID, "client_request_id", gerr.ClientRequestID)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		// Throttled or refused at the door: not executed, safe to send again.
		out = postOutcome{err: gerr, retry: true, throttled: true, newConn: resp.StatusCode == http.StatusServiceUnavailable}
		out.retryAfter, out.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return out
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return postOutcome{err: fmt.Errorf("%w: %w", ErrUnconfirmed, gerr), newConn: true}
	}
	return postOutcome{err: gerr}
}

// postFailure classifies a POST that got no status: before the request was written it
// is retried on a new connection; after, its effect is unknown and it is not.
func (c *Client) postFailure(ctx context.Context, op, crid string, err error, wrote bool) postOutcome {
	c.log.DebugContext(ctx, "graph action failed", "operation", op, "client_request_id", crid,
		"request_written", wrote, "error", err)
	if wrote {
		return postOutcome{err: fmt.Errorf("%w: graph %s (client-request-id %s): %w", ErrUnconfirmed, op, crid, err), newConn: true}
	}
	if ctx.Err() != nil {
		return postOutcome{err: fmt.Errorf("graph %s: %w", op, context.Cause(ctx))}
	}
	return postOutcome{err: fmt.Errorf("graph %s (client-request-id %s): %w", op, crid, err), retry: true, newConn: true}
}
