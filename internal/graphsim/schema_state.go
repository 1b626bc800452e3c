package graphsim

import "strconv"

// The complex properties of workflows and runs: quarantineDetails, settings and
// activatedOnScope, written in the shapes of Microsoft's v1.0 reference.

var (
	quarantineTypeEnum = newEnum(igNamespace+"quarantineType", false,
		QuarantineNone, QuarantineCount, QuarantinePercentage, QuarantineMultiple, "unknownFutureValue")
	matchModeEnum = newEnum(igNamespace+"matchMode", false, MatchAny, MatchAll, "unknownFutureValue")
)

// appendQuarantineDetails writes {quarantinedDateTime, quarantineReason,
// quarantineType}: nulls and notQuarantined for a workflow that is not quarantined.
func appendQuarantineDetails(b []byte, wf *workflowRec, w *writer) []byte {
	q := wf.quarantine
	if !q.active() {
		return append(b, `{"quarantinedDateTime":null,"quarantineReason":null,"quarantineType":"notQuarantined"}`...)
	}
	b = append(b, `{"quarantinedDateTime":`...)
	b = appendStamp(b, q.at)
	b = append(b, `,"quarantineReason":`...)
	b = appendValue(b, nullString(q.reason), nil, w.includeUnknown)
	b = append(b, `,"quarantineType":`...)
	b = appendJSONString(b, quarantineTypeEnum.render(q.kind, w.includeUnknown))
	return append(b, '}')
}

// appendWorkflowSettings writes {"quarantineConfiguration": null or {matchMode,
// conditions}}.
func appendWorkflowSettings(b []byte, l QuarantineLimits) []byte {
	if !l.configured() {
		return append(b, `{"quarantineConfiguration":null}`...)
	}
	b = append(b, `{"quarantineConfiguration":{"matchMode":`...)
	b = appendJSONString(b, l.matchMode())
	b = append(b, `,"conditions":[`...)
	first := true
	if l.MaxUsers > 0 {
		b = append(b, `{"@odata.type":"#microsoft.graph.identityGovernance.countBasedQuarantineCondition","threshold":`...)
		b = strconv.AppendInt(b, l.MaxUsers, 10)
		b = append(b, '}')
		first = false
	}
	if l.MaxPercent > 0 {
		if !first {
			b = append(b, ',')
		}
		b = append(b, `{"@odata.type":"#microsoft.graph.identityGovernance.percentageBasedQuarantineCondition","percentage":`...)
		b = strconv.AppendInt(b, int64(l.MaxPercent), 10)
		b = append(b, '}')
	}
	return append(b, "]}}"...)
}

// appendScope writes a run's activatedOnScope: null, or the scope with its type, its
// enums and the entities it names (processing results and runs with their
// properties, users as {id}), as Microsoft's reprocessedRuns example shows it.
func appendScope(b []byte, sc *scopeRec, w *writer) []byte {
	if sc == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"@odata.type":`...)
	b = appendJSONString(b, "#"+igNamespace+sc.kind)
	inner := &writer{includeUnknown: w.includeUnknown, sim: w.sim}
	switch sc.kind {
	case ScopeProcessingResults:
		b = append(b, `,"taskScope":`...)
		b = appendJSONString(b, taskScopeEnum.render(sc.taskScope, w.includeUnknown))
		b = append(b, `,"processingResults":[`...)
		for i, r := range sc.results {
			if i > 0 {
				b = append(b, ',')
			}
			b = resultType.appendEntity(b, r, nil, inner)
		}
		b = append(b, ']')
	case ScopeRun:
		b = append(b, `,"taskScope":`...)
		b = appendJSONString(b, taskScopeEnum.render(sc.taskScope, w.includeUnknown))
		b = append(b, `,"userScope":`...)
		b = appendJSONString(b, userScopeEnum.render(sc.userScope, w.includeUnknown))
		b = append(b, `,"run":`...)
		b = runCoreType.appendEntity(b, sc.run, nil, inner)
	case ScopeUsers:
		b = append(b, `,"users":[`...)
		for i, id := range sc.users {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendJSONString(b, id)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
