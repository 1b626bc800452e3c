// Package graph is a small typed client for the Microsoft Graph Lifecycle Workflows
// reporting API (identityGovernance/lifecycleWorkflows): workflows with their state
// (schedule, quarantine), runs, userProcessingResults, taskProcessingResults,
// summaries and the users they name; and the two actions an on-call person needs,
// Activate and ActivateWithScope (re-run a user, a result's failed tasks, the failed
// users of a run).
//
// Its requests go through an azcore runtime.Pipeline, with azcore's BearerTokenPolicy
// taking tokens from an azcore.TokenCredential (NewCredential for azidentity's
// DefaultAzureCredential, NewStaticCredential for the simulator), and the client's
// own policies where azcore falls short (pipeline.go; docs/architecture.md). It:
//
//   - answers a 401 with one fresh token and one more try: a Continuous Access
//     Evaluation claims challenge with a token for its claims, any other challenge with
//     a token issued from now on, never the cached token again, and never twice in a
//     row for the same token (no stream of 401s); Access then names the permission or
//     consent Graph refuses, with Graph's code and the roles of the refused token;
//   - honours Graph's throttling: 429 and 503 wait at least Retry-After, fractional
//     seconds ("2.128") or an HTTP date, else (also when it asks for no wait at all)
//     exponential backoff with full jitter; 5xx and connection failures are retried
//     on a new connection; each attempt has a timeout and one call a retry budget
//     (Options.MaxRetryTime), after which a throttled call fails with ErrThrottled;
//   - follows @odata.nextLink to the end, only within the configured Graph root
//     (ErrForeignNextLink otherwise: the token is never sent elsewhere), and returns a
//     list whole or not at all;
//   - sends "Prefer: include-unknown-enum-members" and a fresh client-request-id on
//     every request and keeps enum values as the strings received;
//   - builds $filter only from the forms Graph documents (Where, Between, And) and
//     refuses, before any request, a list of runs or results without a date range;
//   - decodes leniently per item: an item without id or processingStatus is skipped,
//     counted (lcwnotify_graph_malformed_items_total) and logged; an unusable property
//     is zeroed with a warning; a page that is not JSON or is truncated is
//     ErrMalformedResponse.
//
// It deliberately is not msgraph-sdk-go, whose module is larger than the rest of
// lcwnotify together, builds for minutes and whose enum parsers drop values they do not
// know (canceling, quarantined, activatedWithScope).
//
// Actions go through the same pipeline, token, 401 handling, headers and metrics
// included, but are not idempotent: the retry policy, told so by a flag of the call,
// sends them again only where Graph cannot have acted (429, 503 with Retry-After, a
// connection that failed before any of the request was written, and the one fresh
// token after a 401, which Graph refuses before processing anything). A failure once
// the request began to go out is ErrUnconfirmed, and an activation split into several
// calls reports per id what happened in an *ActivationError. Permissions and
// CanActivate read the token's roles without verifying it, for advice such as
// `lcwnotify check` gives.
//
// Errors match ErrNotFound, ErrForbidden, ErrUnauthorized and ErrConflict for Graph's
// 404, 403, 401 and 409, and carry Graph's code, request-id and client-request-id as a
// *Error. Tokens and client secrets never reach logs or errors. Metrics count requests
// by operation and status code, retries by reason and throttled time;
// WithRequestCount counts the requests made under one context (a poll).
package graph
