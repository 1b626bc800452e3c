package graphsim

import (
	"fmt"
	"strings"
	"time"
)

const lcwSet = "identityGovernance/lifecycleWorkflows/"

// listBody writes a collection page.
func listBody[T any](x *exchange, s *Sim, e *entityType[T], set string, sel []string, items []T, next *pageToken, w *writer) []byte {
	b := make([]byte, 0, 256+len(items)*400)
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, x.contextURL(set, sel, false))
	if next != nil {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendJSONString(b, x.nextLink(s, next))
	}
	b = append(b, `,"value":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendEntity(b, it, sel, w)
	}
	return append(b, "]}"...)
}

// entityBody writes a single entity with its @odata.context.
func entityBody[T any](x *exchange, e *entityType[T], set string, sel []string, it T, w *writer) []byte {
	ctx := x.contextURL(set, sel, true)
	b := make([]byte, 0, 512)
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, ctx)
	ent := e.appendEntity(nil, it, sel, w)
	if len(ent) > 2 {
		b = append(b, ',')
		b = append(b, ent[1:]...)
	} else {
		b = append(b, '}')
	}
	return b
}

// pageOf filters, orders and pages a small collection (workflows, runs, task results).
func pageOf[T any](x *exchange, s *Sim, env listEnv, asOf stamp, all []T, f *filter[T], keep func(T) bool,
	o ordering[T]) ([]T, *pageToken, *apiError) {
	if env.tok != nil && len(env.tok.Keys) != len(o.keys) {
		return nil, nil, errBadRequest("The $skiptoken is invalid or does not belong to this query; follow @odata.nextLink as returned.")
	}
	var matches []T
	for _, it := range all {
		if (keep == nil || keep(it)) && f.match(it) {
			matches = append(matches, it)
		}
	}
	items, full := sortedPage(matches, o, env.tok, env.size)
	if !full {
		return items, nil, nil
	}
	return items, o.cursorAt(items[len(items)-1], pageToken{Query: env.digest, AsOf: int64(asOf)}), nil
}

func (s *Sim) listWorkflows(x *exchange, q queryOpts) ([]byte, *apiError) {
	f, e := compileFor(workflowType, q)
	if e != nil {
		return nil, e
	}
	keys := []orderKey[*workflowRec]{{name: "createdDateTime", get: func(w *workflowRec) value { return timeValue(w.created) }}}
	if q.has["$orderby"] {
		if keys, e = parseOrderBy(workflowType, q.orderby); e != nil {
			return nil, e
		}
	}
	sel, e := parseSelect(workflowType, q.selectRaw, q.has["$select"])
	if e != nil {
		return nil, e
	}
	search, e := parseSearch(q)
	if e != nil {
		return nil, e
	}
	env, e := s.listEnv(x, q)
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	items, next, e := pageOf(x, s, env, s.asOf(env), s.workflows, f, search,
		ordering[*workflowRec]{keys: keys, id: func(w *workflowRec) string { return w.id }})
	if e != nil {
		return nil, e
	}
	return listBody(x, s, workflowType, lcwSet+"workflows", sel, items, next, &writer{includeUnknown: x.includeUnknown}), nil
}

// parseSearch supports the workflow list's $search: "term" or "displayName:term" /
// "description:term", quoted, matched case-insensitively as a substring.
func parseSearch(q queryOpts) (func(*workflowRec) bool, *apiError) {
	if !q.has["$search"] {
		return nil, nil
	}
	raw := q.search
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, errBadRequest(`Invalid $search clause: enclose the search term in double quotes, e.g. $search="displayName:onboard".`)
	}
	term := raw[1 : len(raw)-1]
	field := ""
	if f, t, ok := strings.Cut(term, ":"); ok {
		if f != "displayName" && f != "description" {
			return nil, errBadRequest(fmt.Sprintf("Invalid $search clause: property '%s' is not searchable; use displayName or description.", f))
		}
		field, term = f, t
	}
	term = strings.ToLower(term)
	return func(w *workflowRec) bool {
		name, desc := strings.ToLower(w.displayName), strings.ToLower(w.description)
		switch field {
		case "displayName":
			return strings.Contains(name, term)
		case "description":
			return strings.Contains(desc, term)
		}
		return strings.Contains(name, term) || strings.Contains(desc, term)
	}, nil
}

func (s *Sim) getWorkflow(x *exchange, q queryOpts) ([]byte, *apiError) {
	sel, e := parseSelect(workflowType, q.selectRaw, q.has["$select"])
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf := s.wfByID[x.rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", x.rt.wid)
	}
	return entityBody(x, workflowType, lcwSet+"workflows", sel, wf, &writer{includeUnknown: x.includeUnknown}), nil
}

func runID(r *runRec) string { return r.id }

func (s *Sim) listRuns(x *exchange, q queryOpts) ([]byte, *apiError) {
	f, e := compileFor(runType, q)
	if e != nil {
		return nil, e
	}
	keys := []orderKey[*runRec]{{name: "scheduledDateTime", get: func(r *runRec) value { return timeValue(r.scheduled) }}}
	if q.has["$orderby"] {
		if keys, e = parseOrderBy(runType, q.orderby); e != nil {
			return nil, e
		}
	}
	sel, e := parseSelect(runType, q.selectRaw, q.has["$select"])
	if e != nil {
		return nil, e
	}
	env, e := s.listEnv(x, q)
	if e != nil {
		return nil, e
	}
	asOf := s.asOf(env)
	lowest, bounded := f.lowestBound()
	if env.tok == nil {
		if e := s.checkReach(lowest, bounded, asOf); e != nil {
			return nil, e
		}
	}
	from := s.horizon(asOf)
	if !bounded {
		from = max(from, asOf-stamp(s.opts.Window))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf := s.wfByID[x.rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", x.rt.wid)
	}
	items, next, e := pageOf(x, s, env, asOf, wf.runs, f, func(r *runRec) bool { return r.scheduled >= from },
		ordering[*runRec]{keys: keys, id: runID})
	if e != nil {
		return nil, e
	}
	set := lcwSet + keyed("workflows", wf.id) + "/runs"
	return listBody(x, s, runType, set, sel, items, next, &writer{includeUnknown: x.includeUnknown}), nil
}

// lookupRun finds a run that is still inside the reports' horizon. Callers hold s.mu.
func (s *Sim) lookupRun(wid, rid string) (*runRec, *apiError) {
	wf := s.wfByID[wid]
	if wf == nil {
		return nil, errNotFound("workflow", wid)
	}
	run := wf.runByID[rid]
	if run == nil || run.scheduled < s.horizon(s.stampNow()) {
		return nil, errNotFound("run", rid)
	}
	return run, nil
}

func (s *Sim) getRun(x *exchange, q queryOpts) ([]byte, *apiError) {
	sel, e := parseSelect(runType, q.selectRaw, q.has["$select"])
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	run, e := s.lookupRun(x.rt.wid, x.rt.rid)
	if e != nil {
		return nil, e
	}
	set := lcwSet + keyed("workflows", run.wf.id) + "/runs"
	return entityBody(x, runType, set, sel, run, &writer{includeUnknown: x.includeUnknown}), nil
}

// lookupResult finds a result by the path it was asked on. Callers hold s.mu.
func (s *Sim) lookupResult(rt route) (*resultRec, *apiError) {
	wf := s.wfByID[rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", rt.wid)
	}
	if rt.rid != "" {
		if _, e := s.lookupRun(rt.wid, rt.rid); e != nil {
			return nil, e
		}
	}
	r := s.results[rt.resID]
	if r == nil || r.wf != wf || (rt.rid != "" && r.run.id != rt.rid) || r.scheduled < s.horizon(s.stampNow()) {
		return nil, errNotFound("userProcessingResult", rt.resID)
	}
	return r, nil
}

func (s *Sim) resultSet(rt route) string {
	set := lcwSet + keyed("workflows", rt.wid)
	if rt.rid != "" {
		set += "/" + keyed("runs", rt.rid)
	}
	return set + "/userProcessingResults"
}

func (s *Sim) getResult(x *exchange, q queryOpts) ([]byte, *apiError) {
	sel, e := parseSelect(resultType, q.selectRaw, q.has["$select"])
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, e := s.lookupResult(x.rt)
	if e != nil {
		return nil, e
	}
	return entityBody(x, resultType, s.resultSet(x.rt), sel, r, &writer{includeUnknown: x.includeUnknown, sim: s}), nil
}

var taskSeqKey = orderKey[taskView]{name: "executionSequence",
	get: func(v taskView) value { return intValue(v.t.task.seq) }}

func (s *Sim) listTaskResults(x *exchange, q queryOpts) ([]byte, *apiError) {
	f, e := compileFor(taskResultType, q)
	if e != nil {
		return nil, e
	}
	keys := []orderKey[taskView]{taskSeqKey}
	if q.has["$orderby"] {
		if keys, e = parseOrderBy(taskResultType, q.orderby); e != nil {
			return nil, e
		}
	}
	sel, e := parseSelect(taskResultType, q.selectRaw, q.has["$select"])
	if e != nil {
		return nil, e
	}
	expand, e := parseExpand(taskResultType, q.expandRaw, q.has["$expand"])
	if e != nil {
		return nil, e
	}
	env, e := s.listEnv(x, q)
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, e := s.lookupResult(x.rt)
	if e != nil {
		return nil, e
	}
	trs := r.taskResults()
	views := make([]taskView, len(trs))
	for i, t := range trs {
		views[i] = taskView{t, r}
	}
	items, next, e := pageOf(x, s, env, s.asOf(env), views, f, nil,
		ordering[taskView]{keys: keys, id: func(v taskView) string { return v.t.id }})
	if e != nil {
		return nil, e
	}
	set := s.resultSet(x.rt)
	set = set[:len(set)-len("/userProcessingResults")] + "/" + keyed("userProcessingResults", r.id) + "/taskProcessingResults"
	w := &writer{includeUnknown: x.includeUnknown, expand: expand, sim: s}
	return listBody(x, s, taskResultType, set, sel, items, next, w), nil
}

// parseSummaryArgs reads "startDateTime=T,endDateTime=T" (either order).
func (s *Sim) parseSummaryArgs(raw string) (stamp, stamp, *apiError) {
	var start, end stamp
	var haveStart, haveEnd bool
	for part := range strings.SplitSeq(raw, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, 0, errBadRequest("summary() takes startDateTime=… and endDateTime=…, e.g. summary(startDateTime=2024-05-01T00:00:00Z,endDateTime=2024-05-02T00:00:00Z).")
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(val))
		if err != nil {
			return 0, 0, errBadRequest(fmt.Sprintf("The value '%s' of parameter '%s' is not a valid unquoted DateTimeOffset.", val, name))
		}
		switch name {
		case "startDateTime":
			start, haveStart = toStamp(t), true
		case "endDateTime":
			end, haveEnd = toStamp(t), true
		default:
			return 0, 0, errBadRequest(fmt.Sprintf("summary() has no parameter '%s'.", name))
		}
	}
	if !haveStart || !haveEnd {
		return 0, 0, errBadRequest("summary() requires both startDateTime and endDateTime.")
	}
	if end < start {
		return 0, 0, errBadRequest("endDateTime must not be earlier than startDateTime.")
	}
	if e := s.checkReach(start, true, s.stampNow()); e != nil {
		return 0, 0, e
	}
	return start, end, nil
}

func (s *Sim) runSummary(x *exchange) ([]byte, *apiError) {
	start, end, e := s.parseSummaryArgs(x.rt.summaryArgs)
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf := s.wfByID[x.rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", x.rt.wid)
	}
	var failedRuns, successfulRuns, totalRuns, failedTasks, totalTasks, totalUsers int
	for _, r := range wf.runs {
		if r.scheduled < start || r.scheduled > end {
			continue
		}
		totalRuns++
		switch r.status {
		case StatusFailed, StatusCompletedWithErrors:
			failedRuns++
		case StatusCompleted:
			successfulRuns++
		}
		failedTasks += r.failedTasks
		totalTasks += r.totalTasks
		totalUsers += r.totalUser
	}
	return summaryBody(x, "microsoft.graph.identityGovernance.runSummary",
		"failedRuns", failedRuns, "failedTasks", failedTasks, "successfulRuns", successfulRuns,
		"totalRuns", totalRuns, "totalTasks", totalTasks, "totalUsers", totalUsers), nil
}

func (s *Sim) resultSummary(x *exchange) ([]byte, *apiError) {
	start, end, e := s.parseSummaryArgs(x.rt.summaryArgs)
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf := s.wfByID[x.rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", x.rt.wid)
	}
	f := &filter[*resultRec]{bounds: map[string]span{"scheduledDateTime": {start, end}}}
	lo, hi := s.indexRange(wf, f, idxScheduled, start)
	var failedTasks, failedUsers, successfulUsers, totalTasks, totalUsers int
	for _, r := range wf.results.byScheduled[lo:hi] {
		totalUsers++
		switch r.status {
		case StatusFailed, StatusCompletedWithErrors:
			failedUsers++
		case StatusCompleted:
			successfulUsers++
		}
		failedTasks += r.failedTasks
		totalTasks += r.totalTasks
	}
	return summaryBody(x, "microsoft.graph.identityGovernance.userSummary",
		"failedTasks", failedTasks, "failedUsers", failedUsers, "successfulUsers", successfulUsers,
		"totalTasks", totalTasks, "totalUsers", totalUsers), nil
}

// summaryBody writes a complex-type response from name/count pairs.
func summaryBody(x *exchange, typ string, pairs ...any) []byte {
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, x.baseURL()+"/$metadata#"+typ)
	for i := 0; i+1 < len(pairs); i += 2 {
		b = append(b, ',')
		b = appendJSONString(b, pairs[i].(string))
		b = fmt.Appendf(b, ":%d", pairs[i+1].(int))
	}
	return append(b, '}')
}

func (s *Sim) getUser(x *exchange, q queryOpts) ([]byte, *apiError) {
	sel, e := parseSelect(userType, q.selectRaw, q.has["$select"])
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.users[x.rt.userID]
	if u == nil {
		u = s.usersUPN[strings.ToLower(x.rt.userID)]
	}
	if u == nil || u.access == UserMissing {
		return nil, &apiError{status: 404, code: "Request_ResourceNotFound",
			message: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", x.rt.userID)}
	}
	if u.access == UserForbidden {
		return nil, &apiError{status: 403, code: "Authorization_RequestDenied",
			message: "Insufficient privileges to complete the operation."}
	}
	return entityBody(x, userType, "users", sel, u, &writer{}), nil
}
