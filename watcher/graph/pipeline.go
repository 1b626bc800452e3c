package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/google/uuid"
)

// Every request goes through an azcore runtime.Pipeline, as in every Azure SDK
// client. In order, from the caller to the network (the client's own policies are
// where azcore falls short of a guarantee; docs/architecture.md, "The Graph client's
// HTTP pipeline", has the measurements):
//
//	retryPolicy        ours, once per call: the retry loop (fractional Retry-After;
//	                   backoff with full jitter, also after "Retry-After: 0"; a time
//	                   budget, then ErrThrottled; a new connection after 5xx and
//	                   connection failures; throttled time; debug logs), and for a
//	                   call that is not idempotent (an action) only where Graph
//	                   cannot have acted, else ErrUnconfirmed
//	azcore retry       once per attempt, configured never to retry: it bounds each
//	                   attempt by RequestTimeout, body included
//	BearerTokenPolicy  azcore's: the token, cached and renewed ahead of expiry; a CAE
//	                   claims challenge answered with a token for those claims and one
//	                   more request (authorizer decides what else a 401 is worth)
//	exchangePolicy     ours, once per request: Prefer, client-request-id, User-Agent;
//	                   request metrics and counts; what Graph answered, and for an
//	                   action whether the request began to go out
//	azcore             headers from ctx, tracing, logging (azcore/log), body download
//	boundedTransport   ours: the http.Client, with the body size bound
//
// azcore's telemetry policy is off: it would append "azsdk-go-…" to User-Agent,
// which names lcwnotify (Options.UserAgent).

// maxBody bounds a response body. Graph pages are a few hundred kilobytes; anything
// near this is not a page the client can use.
const maxBody = 64 << 20

// preferEnums asks Graph for enum members added after unknownFutureValue (canceling,
// quarantined, activatedWithScope…) instead of unknownFutureValue. Sent on every
// request, nextLink pages included: headers do not carry over.
const preferEnums = "include-unknown-enum-members"

// newPipeline builds the pipeline of c, which must be complete but for it.
func (c *Client) newPipeline() runtime.Pipeline {
	bearer := runtime.NewBearerTokenPolicy(c.cred, []string{c.scope}, &policy.BearerTokenOptions{
		AuthorizationHandler: policy.AuthorizationHandler{
			OnRequest:   c.auth.onRequest,
			OnChallenge: c.auth.onChallenge,
		},
		// checkBaseURL allows http only on a loopback host, and checkNextLink keeps
		// every request there.
		InsecureAllowCredentialWithHTTP: c.base.Scheme == "http",
	})
	return runtime.NewPipeline("lcwnotify/graph", "v1", runtime.PipelineOptions{
		PerCall:  []policy.Policy{retryPolicy{c}},
		PerRetry: []policy.Policy{bearer, exchangePolicy{c}},
	}, &policy.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1, TryTimeout: c.reqTimeout},
		Telemetry: policy.TelemetryOptions{Disabled: true},
		Transport: boundedTransport{hc: c.hc, max: maxBody},
	})
}

// call is the state of one logical request, shared by its policies through the
// request's operation values.
type call struct {
	op string
	// idempotent says the request may be sent again once it went out: a read. An
	// action (Activate) is not: retryPolicy sends it again only where Graph cannot
	// have acted on it. The zero value is the safe one.
	idempotent bool
	count      *RequestCount // from the caller's ctx; nil counts nothing
	ex         exchange      // the last HTTP exchange of the current attempt
	body       []byte        // the body of the 2xx answer that ended the call
}

// exchange is one HTTP request and what came back, as exchangePolicy saw it.
type exchange struct {
	sent  bool // the request reached exchangePolicy (it had a token)
	wrote bool // the request began to go out (recorded for calls that are not idempotent)
	resp  *http.Response
	body  []byte
	err   error  // no (complete) answer: connection, timeout, body
	crid  string // client-request-id sent
	token string // bearer token sent, to keep it out of errors
}

// get fetches rawURL (which must be under the configured root) and returns the body of
// a 2xx response. The pipeline retries throttling (429, 503), server errors and
// connection failures within the retry budget; other statuses are a *Error.
func (c *Client) get(ctx context.Context, op, rawURL string) ([]byte, error) {
	req, err := runtime.NewRequest(ctx, http.MethodGet, rawURL)
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", op, err)
	}
	return c.send(req, &call{op: op, idempotent: true, count: countFrom(ctx)})
}

// send runs req through the pipeline as the call cl and returns the body of the 2xx
// answer that ended it.
func (c *Client) send(req *policy.Request, cl *call) ([]byte, error) {
	req.SetOperationValue(cl)
	if _, err := c.pl.Do(req); err != nil {
		return nil, err
	}
	return cl.body, nil
}

// exchangePolicy sets the headers every request carries, records the exchange in its
// call and counts it. It sits behind BearerTokenPolicy, so that a request sent again
// after a challenge is a new exchange with a new client-request-id.
type exchangePolicy struct{ c *Client }

func (p exchangePolicy) Do(req *policy.Request) (*http.Response, error) {
	var cl *call
	if !req.OperationValue(&cl) || cl == nil {
		return req.Next()
	}
	c := p.c
	h := req.Raw().Header
	ex := exchange{sent: true, crid: uuid.NewString(), token: bearerToken(h)}
	h.Set("Accept", "application/json")
	h.Set("Prefer", preferEnums)
	h.Set("client-request-id", ex.crid)
	h.Set("return-client-request-id", "true")
	h.Set("User-Agent", c.userAgent)

	var wrote *atomic.Bool
	if !cl.idempotent {
		req, wrote = traceWrite(req)
	}
	start := time.Now()
	resp, err := req.Next() // the body is downloaded (bounded) further down
	ex.wrote = wrote != nil && wrote.Load()
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	c.metrics.observeRequest(cl.op, status, time.Since(start))
	cl.count.add(status)
	ex.resp, ex.err = resp, err
	if err == nil {
		ex.body, ex.err = runtime.Payload(resp)
	}
	if ex.err == nil && status >= 200 && status < 300 {
		c.auth.accepted(ex.token)
	}
	cl.ex = ex
	return resp, err
}

// traceWrite returns req with a trace that records whether any of the request went
// out: whether Graph may have acted on a request that got no answer. WroteHeaders,
// not WroteRequest: net/http calls it before it writes the body, so it has run by
// the time Graph can hold the whole request; HTTP/2 calls WroteRequest only after the
// body's last frame, and a round trip that times out returns without waiting for it.
func traceWrite(req *policy.Request) (*policy.Request, *atomic.Bool) {
	wrote := new(atomic.Bool)
	trace := &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }}
	return req.WithContext(httptrace.WithClientTrace(req.Raw().Context(), trace)), wrote
}
