// Package graphsim is a faithful Microsoft Graph simulator for the Lifecycle Workflows
// reporting API, for tests, benchmarks and lcwnotify's demo. It serves, under both
// /v1.0 and /beta, the endpoints lcwnotify reads (relative to
// /identityGovernance/lifecycleWorkflows):
//
//	GET /workflows, /workflows/{wid}
//	GET /workflows/{wid}/runs, /workflows/{wid}/runs/{rid}
//	GET /workflows/{wid}/runs/summary(startDateTime=…,endDateTime=…)
//	GET /workflows/{wid}/userProcessingResults, /workflows/{wid}/runs/{rid}/userProcessingResults
//	GET …/userProcessingResults/{id} (both paths)
//	GET /workflows/{wid}/userProcessingResults/summary(startDateTime=…,endDateTime=…)
//	GET …/userProcessingResults/{id}/taskProcessingResults (both paths; $expand=task)
//	POST /workflows/{wid}/activate, /workflows/{wid}/activateWithScope
//	POST /workflows/{wid}/clearQuarantine (delegated-only in Graph: refused with RequireRoles)
//
// plus GET /users/{id} ($select) and the beta PATCH
// /workflowBase/userProcessingResults/{id}, so a person can change a status by hand
// with curl while the demo runs.
//
// It is written from Graph's documentation, independently of lcwnotify's client, and
// is strict where the service is strict, so that code passing against it works against
// Graph:
//
//   - Bodies have Graph's shapes: @odata.context, value, an absolute @odata.nextLink on
//     the request's own scheme and host, timestamps with up to seven fractional digits,
//     explicit nulls, subject as {"id": …}; errors are
//     {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}
//     echoing the client-request-id header; every response has a request-id header.
//   - Authorization: Bearer is required (Options.Token / Options.ValidToken decide
//     which tokens pass); otherwise 401 InvalidAuthenticationToken.
//   - $filter is parsed by a real lexer and recursive-descent parser and accepts only
//     the documented forms: per resource, the documented properties with their
//     documented operators, joined by 'and', with parentheses, quoted strings (two quotes for
//     a quote), unquoted DateTimeOffset literals, integers and booleans. 'or', 'not',
//     'in', 'has', functions, lambdas, null, undocumented properties and mistyped
//     literals (a quoted date, say) are 400 BadRequest with a message that says why.
//     $select, $orderby, $expand and $top are validated the same way; options an
//     operation does not document are refused.
//   - Paging is server-driven: Options.PageSize items a page (default 100, $top up to
//     Options.MaxPageSize sets it), and an opaque, signed $skiptoken holding a keyset
//     cursor. A full page always carries a nextLink, so the last page may be empty.
//   - Evolvable enum members (statuses canceling and quarantined, execution types
//     activatedWithScope and preview, the mover and extensibility categories) are
//     returned as unknownFutureValue unless the request sends
//     "Prefer: include-unknown-enum-members", which is then acknowledged with
//     Preference-Applied.
//   - A run's lastUpdatedDateTime, status and counts change whenever one of its results
//     changes.
//   - Workflows carry their state: isEnabled, isSchedulingEnabled,
//     nextScheduleRunDateTime, quarantineDetails and settings.quarantineConfiguration;
//     runs carry activatedOnScope; task results processingInfo.
//   - The actions validate their bodies as OData does (unknown parameters and
//     properties, wrong JSON kinds, abstract or unknown @odata.type, enum literals, more
//     than ten subjects), answer 404 for unknown workflows, results and runs, 406 for
//     users the directory does not hold (as Microsoft's example does), 409 for a
//     disabled workflow or an unfinished result or run, and 204 when accepted.
//   - With Options.RequireRoles, every operation needs one of the application
//     permissions Microsoft documents for it in the token's roles claim, else 403
//     Authorization_RequestDenied.
//
// # Report windows
//
// A list of runs, or of a workflow's results, whose $filter has no lower bound on any
// DateTimeOffset property returns only items whose scheduledDateTime lies in the last
// Options.Window (7 days). scheduledDateTime is the window's timestamp because it is the
// one every run and result has from the moment it exists and that never changes. A
// filter whose lower bound on any DateTimeOffset property is more than Options.Reach
// (30 days) ago is 400 BadRequest, and so is a summary whose startDateTime is; runs and
// results scheduled before that horizon are gone from every endpoint. The results of
// one run (…/runs/{rid}/userProcessingResults) are scoped by the run and have no
// default window. Later pages of a listing keep the clock of its first page: they show
// what was scheduled up to then, so a listing ends even while new runs keep starting.
//
// # The clock
//
// The simulated service acts by itself on Options.Now: a workflow that is enabled,
// scheduled and not quarantined gets a nextScheduleRunDateTime on the tenant's
// workflowScheduleIntervalInHours (1–24, default 3) and a scheduled run at it, for the
// users a ScheduleHook names (RandomRuns makes them up); the results of scheduled runs
// and of activations go queued, inProgress, then their Outcome (SetActivationOutcome
// scripts re-runs: they succeed by default). A scheduled run over a workflow's
// QuarantineLimits quarantines the workflow: the run reports quarantined, its results
// wait queued and the schedule stops until ReleaseQuarantine; on-demand runs are not
// subject to the limits. Nothing runs in the background: each request and scenario
// call first applies, in order and at their own timestamps, the events that fell due,
// so a test driving a Clock plays a day in milliseconds.
//
// # Scenarios
//
// The Go API builds the tenant and moves it along: AddUser, AddWorkflow,
// NewWorkflowVersion, StartRun/StartRunWith (results can be created already failed),
// SetResultStatus/UpdateResult (task results and the run follow; processingInfo with
// TaskInfo), SetWorkflowEnabled, SetSchedulingEnabled, SetQuarantineLimits,
// Quarantine/ReleaseQuarantine, SetScheduleInterval, SetScheduleHook, Activations (every
// accepted activation, for "exactly once" assertions), SetUserAccess
// (403/404 users), GenerateHistory (hundreds of thousands of completed results in
// about a second), InjectFault and ThrottleFor (429 with fractional Retry-After, 503,
// 504, malformed and truncated bodies, slow answers), Stats (requests and bytes per
// operation), and the scripted scenario lcwnotify demo plays (Demo). Every method is
// safe for concurrent use while the simulator serves; Serve runs it on a loopback port
// from any program.
package graphsim
