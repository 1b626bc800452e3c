package graphsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// patchResult serves the beta PATCH /workflowBase/userProcessingResults/{id}: the
// documented properties of the seed page, validated as strictly as OData validates a
// payload. A new processingStatus moves the result (and its task results and run) as
// UpdateResult does; explicit timestamps and counts then override.
func (s *Sim) patchResult(x *exchange) ([]byte, *apiError) {
	body, e := readObject(x)
	if e != nil {
		return nil, e
	}
	p, e := parsePatch(body)
	if e != nil {
		return nil, e
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[x.rt.resID]
	if r == nil || r.scheduled < s.horizon(s.stampNow()) {
		return nil, errNotFound("userProcessingResult", x.rt.resID)
	}
	now := s.stampNow()
	if p.status != "" {
		at := now
		if p.completed != nil && *p.completed != 0 {
			at = *p.completed
		}
		if err := s.applyStatus(r, p.status, at, nil); err != nil {
			return nil, errBadRequest(err.Error())
		}
	}
	oldSched, oldStarted, oldCompleted := r.scheduled, r.started, r.completed
	if p.scheduled != nil {
		r.scheduled = *p.scheduled
	}
	if p.started != nil {
		r.started = *p.started
	}
	if p.completed != nil {
		r.completed = *p.completed
	}
	if p.execType != "" {
		r.execType = p.execType
	}
	for _, c := range []struct {
		v   *int
		dst *int
	}{{p.failedTasks, &r.failedTasks}, {p.totalTasks, &r.totalTasks}, {p.unprocessed, &r.unprocessed}, {p.version, &r.version}} {
		if c.v != nil {
			*c.dst = *c.v
		}
	}
	r.wf.results.reindex(r, oldSched, oldStarted, oldCompleted)
	r.run.updated = max(r.run.updated, now)
	r.run.recompute()

	w := &writer{includeUnknown: x.includeUnknown, sim: s}
	return entityBody(x, resultType, "workflowBase/userProcessingResults", nil, r, w), nil
}

// resultPatch is a validated PATCH body.
type resultPatch struct {
	status, execType              string
	scheduled, started, completed *stamp
	failedTasks, totalTasks       *int
	unprocessed, version          *int
}

func parsePatch(body map[string]json.RawMessage) (resultPatch, *apiError) {
	var p resultPatch
	for k, v := range body {
		var e *apiError
		switch k {
		case "@odata.type":
			var t string
			if json.Unmarshal(v, &t) != nil || strings.TrimPrefix(t, "#") != resultType.name {
				e = errBadRequest(fmt.Sprintf("'@odata.type' must be '#%s'.", resultType.name))
			}
		case "processingStatus":
			e = patchEnum(k, v, statusEnum, &p.status)
		case "workflowExecutionType":
			e = patchEnum(k, v, executionEnum, &p.execType)
		case "scheduledDateTime":
			p.scheduled, e = patchTime(k, v, false)
		case "startedDateTime":
			p.started, e = patchTime(k, v, true)
		case "completedDateTime":
			p.completed, e = patchTime(k, v, true)
		case "failedTasksCount":
			p.failedTasks, e = patchInt(k, v)
		case "totalTasksCount":
			p.totalTasks, e = patchInt(k, v)
		case "totalUnprocessedTasksCount":
			p.unprocessed, e = patchInt(k, v)
		case "workflowVersion":
			p.version, e = patchInt(k, v)
		case "id", "subject", "taskProcessingResults", "reprocessedRuns":
			e = errBadRequest(fmt.Sprintf("The property '%s' cannot be updated.", k))
		default:
			e = errBadRequest(fmt.Sprintf("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type.", k, resultType.name))
		}
		if e != nil {
			return p, e
		}
	}
	return p, nil
}

func patchEnum(name string, v json.RawMessage, e *enumType, dst *string) *apiError {
	var s string
	if json.Unmarshal(v, &s) != nil || !e.valid(s) {
		return errBadRequest(fmt.Sprintf("Cannot convert the literal '%s' to the expected type '%s' (property '%s').", strings.Trim(string(v), `"`), e.name, name))
	}
	*dst = s
	return nil
}

func patchTime(name string, v json.RawMessage, nullable bool) (*stamp, *apiError) {
	if string(v) == "null" {
		if !nullable {
			return nil, errBadRequest(fmt.Sprintf("The property '%s' cannot be null.", name))
		}
		var z stamp
		return &z, nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil, errBadRequest(fmt.Sprintf("The property '%s' must be a DateTimeOffset string.", name))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, errBadRequest(fmt.Sprintf("Cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset' (property '%s').", s, name))
	}
	st := toStamp(t)
	return &st, nil
}

func patchInt(name string, v json.RawMessage) (*int, *apiError) {
	var n int32
	if json.Unmarshal(v, &n) != nil || n < 0 {
		return nil, errBadRequest(fmt.Sprintf("The property '%s' must be a non-negative Edm.Int32.", name))
	}
	i := int(n)
	return &i, nil
}
