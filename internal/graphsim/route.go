package graphsim

import (
	"net/http"
	"strings"
)

// Operation names one kind of request the simulator answers, for fault injection and
// request counters.
type Operation string

// The operations the simulator serves.
const (
	OpListWorkflows   Operation = "listWorkflows"
	OpGetWorkflow     Operation = "getWorkflow"
	OpListRuns        Operation = "listRuns"
	OpGetRun          Operation = "getRun"
	OpRunSummary      Operation = "runSummary"
	OpListResults     Operation = "listUserProcessingResults"    // results of a workflow
	OpListRunResults  Operation = "listRunUserProcessingResults" // results of a run
	OpGetResult       Operation = "getUserProcessingResult"
	OpResultSummary   Operation = "userProcessingResultSummary"
	OpListTaskResults Operation = "listTaskProcessingResults"
	OpGetUser         Operation = "getUser"
	OpUpdateResult    Operation = "updateUserProcessingResult" // beta PATCH /workflowBase/userProcessingResults/{id}
	// OpActivate, OpActivateWithScope and OpClearQuarantine are the workflow actions
	// (POST /workflows/{id}/activate, …/activateWithScope, …/clearQuarantine).
	OpActivate          Operation = "activate"
	OpActivateWithScope Operation = "activateWithScope"
	OpClearQuarantine   Operation = "clearQuarantine"
	// OpUnknown is any request the simulator has no route for.
	OpUnknown Operation = "unknown"
)

// route is a parsed request path.
type route struct {
	op      Operation
	version string // "v1.0" or "beta"
	// rel is the path after the version, for fault patterns.
	rel             string
	wid, rid, resID string
	userID          string
	summaryArgs     string // the text inside summary(…)
	method          string // the method the route answers
	err             *apiError
}

const lcwRoot = "/identityGovernance/lifecycleWorkflows/workflows"

// parseRoute maps a request to an operation; unknown paths get a Graph-style error.
func parseRoute(r *http.Request) route {
	p := r.URL.Path
	rt := route{op: OpUnknown, method: http.MethodGet}
	switch {
	case strings.HasPrefix(p, "/v1.0/"):
		rt.version, rt.rel = "v1.0", p[len("/v1.0"):]
	case strings.HasPrefix(p, "/beta/"):
		rt.version, rt.rel = "beta", p[len("/beta"):]
	default:
		v, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		rt.err = errBadRequest("Invalid version: " + v)
		return rt
	}
	rel := strings.TrimSuffix(rt.rel, "/")
	switch {
	case strings.HasPrefix(rel, "/users/"):
		rest := rel[len("/users/"):]
		if rest != "" && !strings.Contains(rest, "/") {
			rt.op, rt.userID = OpGetUser, rest
			return rt
		}
	case strings.HasPrefix(rel, "/workflowBase/userProcessingResults/"):
		rest := rel[len("/workflowBase/userProcessingResults/"):]
		if rt.version == "beta" && rest != "" && !strings.Contains(rest, "/") {
			rt.op, rt.resID, rt.method = OpUpdateResult, rest, http.MethodPatch
			return rt
		}
	case rel == lcwRoot:
		rt.op = OpListWorkflows
		return rt
	case strings.HasPrefix(rel, lcwRoot+"/"):
		if routeWorkflow(&rt, strings.Split(rel[len(lcwRoot)+1:], "/")) {
			return rt
		}
	}
	rt.op = OpUnknown
	rt.err = &apiError{status: http.StatusBadRequest, code: "BadRequest",
		message: "Resource not found for the segment '" + lastSegment(rel) + "'."}
	return rt
}

// routeWorkflow parses the segments after /workflows/.
func routeWorkflow(rt *route, seg []string) bool {
	if seg[0] == "" {
		return false
	}
	rt.wid = seg[0]
	seg = seg[1:]
	if len(seg) == 0 {
		rt.op = OpGetWorkflow
		return true
	}
	if op, ok := workflowAction(seg[0]); ok && len(seg) == 1 {
		rt.op, rt.method = op, http.MethodPost
		return true
	}
	switch seg[0] {
	case "runs":
		seg = seg[1:]
		if len(seg) == 0 {
			rt.op = OpListRuns
			return true
		}
		if args, ok := summaryCall(seg[0]); ok && len(seg) == 1 {
			rt.op, rt.summaryArgs = OpRunSummary, args
			return true
		}
		rt.rid = seg[0]
		seg = seg[1:]
		if len(seg) == 0 {
			rt.op = OpGetRun
			return true
		}
		if seg[0] != "userProcessingResults" {
			return false
		}
		return routeResults(rt, seg[1:], OpListRunResults)
	case "userProcessingResults":
		seg = seg[1:]
		if len(seg) == 1 {
			if args, ok := summaryCall(seg[0]); ok {
				rt.op, rt.summaryArgs = OpResultSummary, args
				return true
			}
		}
		return routeResults(rt, seg, OpListResults)
	}
	return false
}

// workflowAction recognises a bound action segment: its name, optionally qualified
// with its namespace as the SDKs send it, matched without regard to case as Graph
// matches segments ("activatewithscope" in Microsoft's own example).
func workflowAction(seg string) (Operation, bool) {
	name := seg
	if len(name) > len(igNamespace) && strings.EqualFold(name[:len(igNamespace)], igNamespace) {
		name = name[len(igNamespace):]
	}
	for _, op := range []Operation{OpActivate, OpActivateWithScope, OpClearQuarantine} {
		if strings.EqualFold(name, string(op)) {
			return op, true
		}
	}
	return "", false
}

// routeResults parses what follows …/userProcessingResults.
func routeResults(rt *route, seg []string, list Operation) bool {
	switch {
	case len(seg) == 0:
		rt.op = list
	case len(seg) == 1 && seg[0] != "":
		rt.op, rt.resID = OpGetResult, seg[0]
	case len(seg) == 2 && seg[0] != "" && seg[1] == "taskProcessingResults":
		rt.op, rt.resID = OpListTaskResults, seg[0]
	default:
		return false
	}
	return true
}

// summaryCall recognises "summary(…)" and returns its arguments.
func summaryCall(seg string) (string, bool) {
	const prefix = "summary("
	if !strings.HasPrefix(seg, prefix) || !strings.HasSuffix(seg, ")") {
		return "", false
	}
	return seg[len(prefix) : len(seg)-1], true
}

func lastSegment(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
