package graphsim

import (
	"fmt"
	"strings"
)

const lcwSet = "identityGovernance/lifecycleWorkflows/"

func (s *Sim) listWorkflows(x *exchange, q queryOpts) ([]byte, *apiError) {
	byCreated := []orderKey[*workflowRec]{{name: "createdDateTime", get: func(w *workflowRec) value { return timeValue(w.created) }}}
	lr, e := parseList(s, x, q, workflowType, byCreated, false)
	if e != nil {
		return nil, e
	}
	search, e := parseSearch(q)
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	items, next, e := pageOf(lr, s.workflows, search, func(w *workflowRec) string { return w.id })
	if e != nil {
		return nil, e
	}
	return listBody(x, s, workflowType, lcwSet+"workflows", lr.sel, items, next, lr.writer(x, s)), nil
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
	byScheduled := []orderKey[*runRec]{{name: "scheduledDateTime", get: func(r *runRec) value { return timeValue(r.scheduled) }}}
	lr, e := parseList(s, x, q, runType, byScheduled, true)
	if e != nil {
		return nil, e
	}
	from := s.horizon(lr.asOf)
	if !lr.bounded {
		from = max(from, lr.asOf-stamp(s.opts.Window))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf := s.wfByID[x.rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", x.rt.wid)
	}
	items, next, e := pageOf(lr, wf.runs, func(r *runRec) bool { return r.scheduled >= from && r.scheduled <= lr.asOf }, runID)
	if e != nil {
		return nil, e
	}
	set := lcwSet + keyed("workflows", wf.id) + "/runs"
	return listBody(x, s, runType, set, lr.sel, items, next, lr.writer(x, s)), nil
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
	lr, e := parseList(s, x, q, taskResultType, []orderKey[taskView]{taskSeqKey}, false)
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
	items, next, e := pageOf(lr, views, nil, func(v taskView) string { return v.t.id })
	if e != nil {
		return nil, e
	}
	set := lcwSet + keyed("workflows", x.rt.wid)
	if x.rt.rid != "" {
		set += "/" + keyed("runs", x.rt.rid)
	}
	set += "/" + keyed("userProcessingResults", r.id) + "/taskProcessingResults"
	return listBody(x, s, taskResultType, set, lr.sel, items, next, lr.writer(x, s)), nil
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
