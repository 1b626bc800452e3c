package graph

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Application permissions the operations need (docs/graph-permissions.md).
const (
	// PermissionReports reads runs, userProcessingResults, task results and summaries.
	PermissionReports = "LifecycleWorkflows-Reports.Read.All"
	// PermissionWorkflows lists the workflows and reads their names and categories.
	PermissionWorkflows = "LifecycleWorkflows-Workflow.ReadBasic.All"
	// PermissionUsers reads a user's display name and UPN; without it users show as ids.
	PermissionUsers = "User.Read.All"
)

// permission is what an operation needs, and whether a refusal of it stops the
// watcher (required) or only one resource or a comfort (the watcher passes a run,
// a result or its tasks Graph refuses over, and shows a user's id for a name).
type permission struct {
	name     string
	required bool
}

// covers lists, for each permission, the application permissions that include it,
// least privileged first: its older name and the broader LifecycleWorkflows.Read.All
// or ReadWrite.All (docs/graph-permissions.md).
var covers = map[string][]string{
	PermissionReports:   {PermissionReports, "LifecycleWorkflows.ReadReports.All", "LifecycleWorkflows.Read.All", "LifecycleWorkflows.ReadWrite.All"},
	PermissionWorkflows: {PermissionWorkflows, "LifecycleWorkflows.Read.All", "LifecycleWorkflows.ReadWrite.All"},
	PermissionUsers:     {PermissionUsers, "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	PermissionActivate:  {PermissionActivate, "LifecycleWorkflows-Workflow.ReadWrite.All", "LifecycleWorkflows.ReadWrite.All"},
}

// permissions maps operations to the application permission each needs. An
// operation missing here is reported with the docs to read instead of a name.
var permissions = map[string]permission{
	opListWorkflows:   {PermissionWorkflows, true},
	opGetWorkflow:     {PermissionWorkflows, true},
	opListRuns:        {PermissionReports, true},
	opListResults:     {PermissionReports, true},
	opListRunResults:  {PermissionReports, false},
	opGetResult:       {PermissionReports, false},
	opListTaskResults: {PermissionReports, false},
	opUserSummary:     {PermissionReports, false},
	opRunSummary:      {PermissionReports, false},
	opGetUser:         {PermissionUsers, false},
	// A refused action is told to whoever asked for it; the watcher does not need it.
	opActivate:          {PermissionActivate, false},
	opActivateWithScope: {PermissionActivate, false},
}

// AccessError reports that Microsoft Graph refuses the application: a 403 for
// operations that need a permission it lacks, or a 401 for its token (also a fresh
// one), which Graph answers too when the token carries no application permission at
// all. Client.Access returns one per refused permission while the refusal lasts.
type AccessError struct {
	// StatusCode is 401 or 403; Code and Message are Graph's, e.g.
	// "Authorization_RequestDenied"; RequestID identifies the last refusal.
	StatusCode int
	Code       string
	Message    string
	RequestID  string
	// Permission is the application permission the refused operations need, e.g.
	// LifecycleWorkflows-Reports.Read.All; Operations are those operations, e.g.
	// "list_results".
	Permission string
	Operations []string
	// TokenRoles are the application permissions (the roles claim, or the delegated
	// scopes) of the token Graph refused, when the token could be read.
	TokenRoles []string
	tokenRead  bool
	// Since is when Graph first refused, without accepting since.
	Since time.Time
}

// Error implements error: what Graph answered and what to grant, on one line.
func (e *AccessError) Error() string {
	var b strings.Builder
	ops := strings.Join(e.Operations, ", ")
	if e.StatusCode == http.StatusUnauthorized {
		fmt.Fprintf(&b, "microsoft graph refuses the application's token for %s", ops)
	} else {
		fmt.Fprintf(&b, "microsoft graph refuses %s", ops)
	}
	fmt.Fprintf(&b, " (%d %s", e.StatusCode, cmp.Or(e.Code, http.StatusText(e.StatusCode)))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", strings.TrimSuffix(e.Message, "."))
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", request-id %s", e.RequestID)
	}
	fmt.Fprintf(&b, ", since %s)", e.Since.UTC().Format(time.RFC3339))
	switch {
	case e.Permission == "":
		b.WriteString(": see docs/graph-permissions.md for what to grant")
	default:
		fmt.Fprintf(&b, ": the application needs the Microsoft Graph application permission %s with admin consent", e.Permission)
	}
	carries := e.tokenRead && slices.ContainsFunc(e.TokenRoles, func(r string) bool {
		return slices.Contains(covers[e.Permission], r)
	})
	switch {
	case !e.tokenRead:
	case len(e.TokenRoles) == 0:
		b.WriteString("; the refused token carries no permission at all: none is granted with admin consent yet")
	case carries:
		fmt.Fprintf(&b, "; the refused token carries it (%s)", strings.Join(e.TokenRoles, ", "))
	default:
		fmt.Fprintf(&b, "; the refused token carries only %s", strings.Join(e.TokenRoles, ", "))
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized && (carries || !e.tokenRead):
		b.WriteString("; then LCW_GRAPH_URL, LCW_GRAPH_SCOPE and AZURE_AUTHORITY_HOST must name the same cloud")
	case carries:
		b.WriteString("; a permission granted minutes ago reaches Graph with a later token, within the hour")
	}
	b.WriteString(" (docs/graph-permissions.md)")
	return b.String()
}

// Is matches ErrForbidden and ErrUnauthorized.
func (e *AccessError) Is(target error) bool {
	return (target == ErrForbidden && e.StatusCode == http.StatusForbidden) ||
		(target == ErrUnauthorized && e.StatusCode == http.StatusUnauthorized)
}

// Access reports whether Microsoft Graph accepts the client: nil, or an *AccessError
// (joined, one per permission) while Graph's last answer to an operation the watcher
// cannot do without (listing workflows, runs and results) was 403, or its last answer
// to any operation was 401 after the client had asked for a fresh token. A 2xx answer
// to the same operation ends the refusal. Graph answers the other operations for one
// resource at a time, and the watcher passes such a refusal over with a warning.
func (c *Client) Access() error {
	return c.access.err()
}

// accessTracker keeps Graph's last refusal of each operation.
type accessTracker struct {
	mu      sync.Mutex
	refused map[string]refusal // by operation
}

type refusal struct {
	gerr  *Error
	token tokenClaims
	read  bool      // the token's claims could be read
	since time.Time // the first refusal since Graph last accepted
	at    time.Time // this refusal
}

func newAccessTracker() *accessTracker { return &accessTracker{refused: map[string]refusal{}} }

// observe records the outcome of an attempt of op.
func (t *accessTracker) observe(op string, out outcome) {
	var status int
	if out.gerr != nil {
		status = out.gerr.StatusCode
	}
	switch {
	case out.err == nil:
		t.mu.Lock()
		delete(t.refused, op)
		t.mu.Unlock()
	case status == http.StatusUnauthorized || status == http.StatusForbidden && permissions[op].required:
		tc, err := readClaims(out.token)
		now := time.Now()
		t.mu.Lock()
		since := now
		if prev, ok := t.refused[op]; ok {
			since = prev.since
		}
		t.refused[op] = refusal{gerr: out.gerr, token: tc, read: err == nil, since: since, at: now}
		t.mu.Unlock()
	}
}

// err returns the refusals standing, one *AccessError per status and permission.
func (t *accessTracker) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.refused) == 0 {
		return nil
	}
	type key struct {
		status     int
		permission string
	}
	groups := map[key]*AccessError{}
	latest := map[key]time.Time{}
	ops := make([]string, 0, len(t.refused))
	for op := range t.refused {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		r := t.refused[op]
		k := key{r.gerr.StatusCode, permissions[op].name}
		ae := groups[k]
		if ae == nil {
			ae = &AccessError{StatusCode: k.status, Permission: k.permission, Since: r.since}
			groups[k] = ae
		}
		ae.Operations = append(ae.Operations, op)
		if !r.since.After(ae.Since) {
			ae.Since = r.since
		}
		if r.at.Before(latest[k]) {
			continue
		}
		// The ids and the token of the latest refusal are the ones to quote.
		latest[k] = r.at
		ae.Code, ae.Message, ae.RequestID = r.gerr.Code, r.gerr.Message, r.gerr.RequestID
		ae.tokenRead = r.read
		ae.TokenRoles = r.token.permissions()
	}
	errs := make([]error, 0, len(groups))
	for _, ae := range groups {
		errs = append(errs, ae)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}
