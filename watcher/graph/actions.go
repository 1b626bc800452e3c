package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
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
	// connection broke after the request went out, or Graph answered 500, 502, 504,
	// or 503 without Retry-After). Look for their run before activating them again.
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
// is retried only where Graph cannot have acted on it (429, and 503 with Retry-After,
// within the retry budget; a connection that failed before the request was written;
// one fresh token after a 401): an activation is not idempotent. Any failure is an *ActivationError. It needs the application
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

// post sends an action through the pipeline as a call that is not idempotent: it is
// sent again only where Graph cannot have acted on it (429, 503 with Retry-After, a
// connection that failed before the request began to go out), and whatever failed
// once it was out is ErrUnconfirmed (retryPolicy, classify).
//
// A 401 is the one exception that needs no such proof: BearerTokenPolicy answers it
// with one fresh token and sends the action once more, as it does for reads. That is
// safe because Graph refuses a token it does not accept before it processes the
// request: a 401 means nothing was executed. A second 401 stands (authorizer).
func (c *Client) post(ctx context.Context, op, rawURL string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("graph %s: %w", op, err)
	}
	req, err := runtime.NewRequest(ctx, http.MethodPost, rawURL)
	if err == nil {
		// NopCloser: net/http closes a body it sent, and the retry and the request
		// after a 401 rewind and send the same one.
		err = req.SetBody(streaming.NopCloser(bytes.NewReader(body)), "application/json")
	}
	if err != nil {
		return fmt.Errorf("graph %s: %w", op, err)
	}
	_, err = c.send(req, &call{op: op, count: countFrom(ctx)})
	return err
}
