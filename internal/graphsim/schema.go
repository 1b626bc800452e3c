package graphsim

import (
	"slices"
	"strconv"
)

// cmpOp is a $filter comparison operator.
type cmpOp uint8

const (
	opEq cmpOp = 1 << iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

// opSet is a set of operators a property supports in $filter.
type opSet = cmpOp

const (
	eqNe   = opEq | opNe
	allCmp = opEq | opNe | opLt | opLe | opGt | opGe
)

var opNames = map[string]cmpOp{"eq": opEq, "ne": opNe, "lt": opLt, "le": opLe, "gt": opGt, "ge": opGe}

func (o cmpOp) String() string {
	for n, x := range opNames {
		if x == o {
			return n
		}
	}
	return "?"
}

// names lists the operators in s in a fixed order, for error messages.
func (s opSet) names() string {
	out := ""
	for _, n := range []string{"eq", "ne", "lt", "le", "gt", "ge"} {
		if s&opNames[n] != 0 {
			if out != "" {
				out += ", "
			}
			out += n
		}
	}
	return out
}

// holds reports whether a op b, given c = compare(a, b).
func (o cmpOp) holds(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	}
	return false
}

// writer carries what shapes a response body beyond the entity itself.
type writer struct {
	includeUnknown bool
	expand         map[string]bool
	sim            *Sim
}

// prop is one property of an entity type as the reports expose it: its type, what
// $filter and $orderby may do with it, and how to read and write it.
type prop[T any] struct {
	name      string
	typ       edmType
	enum      *enumType
	filter    opSet // operators documented for $filter; 0 = not filterable
	orderable bool
	// filterOnly marks a path such as subject/id that $filter may name but that is
	// not a property of its own in the body.
	filterOnly bool
	get        func(T) value
	// write, when set, writes a structured property (subject, task).
	write func(b []byte, x T, w *writer) []byte
	// expandOnly marks a navigation property written only when $expand names it.
	expandOnly bool
}

// entityType is an OData entity type: its qualified name and properties in the order
// Graph writes them.
type entityType[T any] struct {
	name   string
	props  []prop[T]
	byName map[string]*prop[T]
	// expandable lists the navigation properties $expand may name.
	expandable []string
}

func newEntityType[T any](name string, expandable []string, props ...prop[T]) *entityType[T] {
	e := &entityType[T]{name: name, props: props, byName: make(map[string]*prop[T]), expandable: expandable}
	for i := range e.props {
		e.byName[e.props[i].name] = &e.props[i]
	}
	return e
}

// appendEntity writes x as a JSON object. sel, when non-nil, lists the properties to
// write; navigation properties are written when expanded.
func (e *entityType[T]) appendEntity(b []byte, x T, sel []string, w *writer) []byte {
	b = append(b, '{')
	first := true
	for i := range e.props {
		p := &e.props[i]
		if p.filterOnly {
			continue
		}
		if p.expandOnly {
			if !w.expand[p.name] {
				continue
			}
		} else if sel != nil && !contains(sel, p.name) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, p.name)
		b = append(b, ':')
		if p.write != nil {
			b = p.write(b, x, w)
			continue
		}
		b = appendValue(b, p.get(x), p.enum, w.includeUnknown)
	}
	return append(b, '}')
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func appendSubject(b []byte, userID string, w *writer) []byte {
	if !w.expand["subject"] {
		b = append(b, `{"id":`...)
		b = appendJSONString(b, userID)
		return append(b, '}')
	}
	u := w.sim.users[userID]
	if u == nil || u.access != UserReadable {
		b = append(b, `{"id":`...)
		b = appendJSONString(b, userID)
		return append(b, '}')
	}
	return userType.appendEntity(b, u, defaultUserSelect, &writer{includeUnknown: w.includeUnknown})
}

var workflowType = newEntityType[*workflowRec]("microsoft.graph.identityGovernance.workflow", nil,
	prop[*workflowRec]{name: "category", typ: edmEnum, enum: categoryEnum, filter: eqNe, orderable: true,
		get: func(w *workflowRec) value { return enumValue(categoryEnum, w.category) }},
	prop[*workflowRec]{name: "description", typ: edmString,
		get: func(w *workflowRec) value { return strValue(w.description) }},
	prop[*workflowRec]{name: "displayName", typ: edmString, filter: eqNe, orderable: true,
		get: func(w *workflowRec) value { return strValue(w.displayName) }},
	prop[*workflowRec]{name: "lastModifiedDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(w *workflowRec) value { return timeValue(w.modified) }},
	prop[*workflowRec]{name: "createdDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(w *workflowRec) value { return timeValue(w.created) }},
	prop[*workflowRec]{name: "deletedDateTime", typ: edmDateTime,
		get: func(w *workflowRec) value { return timeValue(0) }},
	prop[*workflowRec]{name: "id", typ: edmString, filter: eqNe, orderable: true,
		get: func(w *workflowRec) value { return strValue(w.id) }},
	prop[*workflowRec]{name: "isEnabled", typ: edmBool, filter: eqNe, orderable: true,
		get: func(w *workflowRec) value { return boolValue(w.isEnabled) }},
	// isSchedulingEnabled cannot be true for a disabled workflow.
	prop[*workflowRec]{name: "isSchedulingEnabled", typ: edmBool, filter: eqNe, orderable: true,
		get: func(w *workflowRec) value { return boolValue(w.isEnabled && w.isSchedulingEnabled) }},
	// nextScheduleRunDateTime documents $filter with lt and gt only.
	prop[*workflowRec]{name: "nextScheduleRunDateTime", typ: edmDateTime, filter: opLt | opGt, orderable: true,
		get: func(w *workflowRec) value { return timeValue(w.nextRun()) }},
	prop[*workflowRec]{name: "quarantineDetails",
		write: func(b []byte, w *workflowRec, wr *writer) []byte { return appendQuarantineDetails(b, w, wr) }},
	prop[*workflowRec]{name: "settings",
		write: func(b []byte, w *workflowRec, _ *writer) []byte { return appendWorkflowSettings(b, w.limits) }},
	prop[*workflowRec]{name: "version", typ: edmInt, filter: allCmp, orderable: true,
		get: func(w *workflowRec) value { return intValue(w.version) }},
)

// runProps are a run's properties but activatedOnScope, which names a run in turn:
// runCoreType writes that nested run without the scope of its own.
var runProps = []prop[*runRec]{
	prop[*runRec]{name: "id", typ: edmString,
		get: func(r *runRec) value { return strValue(r.id) }},
	prop[*runRec]{name: "completedDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(r *runRec) value { return timeValue(r.completed) }},
	prop[*runRec]{name: "failedTasksCount", typ: edmInt,
		get: func(r *runRec) value { return intValue(r.failedTasks) }},
	prop[*runRec]{name: "failedUsersCount", typ: edmInt,
		get: func(r *runRec) value { return intValue(r.failedUsers) }},
	prop[*runRec]{name: "lastUpdatedDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(r *runRec) value { return timeValue(r.updated) }},
	prop[*runRec]{name: "processingStatus", typ: edmEnum, enum: statusEnum, filter: eqNe, orderable: true,
		get: func(r *runRec) value { return enumValue(statusEnum, r.status) }},
	prop[*runRec]{name: "scheduledDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(r *runRec) value { return timeValue(r.scheduled) }},
	prop[*runRec]{name: "startedDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(r *runRec) value { return timeValue(r.started) }},
	prop[*runRec]{name: "successfulUsersCount", typ: edmInt,
		get: func(r *runRec) value { return intValue(r.successUsers) }},
	prop[*runRec]{name: "totalTasksCount", typ: edmInt,
		get: func(r *runRec) value { return intValue(r.totalTasks) }},
	prop[*runRec]{name: "totalUnprocessedTasksCount", typ: edmInt,
		get: func(r *runRec) value { return intValue(r.unprocessedTasks) }},
	prop[*runRec]{name: "totalUsersCount", typ: edmInt,
		get: func(r *runRec) value { return intValue(r.totalUser) }},
	prop[*runRec]{name: "workflowExecutionType", typ: edmEnum, enum: executionEnum, filter: eqNe, orderable: true,
		get: func(r *runRec) value { return enumValue(executionEnum, r.execType) }},
}

var (
	runCoreType = newEntityType(runTypeName, nil, runProps...)
	runType     = newEntityType(runTypeName, nil, append(slices.Clone(runProps), prop[*runRec]{name: "activatedOnScope",
		write: func(b []byte, r *runRec, w *writer) []byte { return appendScope(b, r.scope, w) }})...)
)

var resultType = newEntityType[*resultRec]("microsoft.graph.identityGovernance.userProcessingResult",
	[]string{"subject", "taskProcessingResults"},
	prop[*resultRec]{name: "id", typ: edmString, filter: eqNe, orderable: true,
		get: func(r *resultRec) value { return strValue(r.id) }},
	prop[*resultRec]{name: "completedDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(r *resultRec) value { return timeValue(r.completed) }},
	prop[*resultRec]{name: "failedTasksCount", typ: edmInt,
		get: func(r *resultRec) value { return intValue(r.failedTasks) }},
	prop[*resultRec]{name: "processingStatus", typ: edmEnum, enum: statusEnum, filter: eqNe, orderable: true,
		get: func(r *resultRec) value { return enumValue(statusEnum, r.status) }},
	prop[*resultRec]{name: "scheduledDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(r *resultRec) value { return timeValue(r.scheduled) }},
	prop[*resultRec]{name: "startedDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(r *resultRec) value { return timeValue(r.started) }},
	prop[*resultRec]{name: "totalTasksCount", typ: edmInt,
		get: func(r *resultRec) value { return intValue(r.totalTasks) }},
	prop[*resultRec]{name: "totalUnprocessedTasksCount", typ: edmInt,
		get: func(r *resultRec) value { return intValue(r.unprocessed) }},
	prop[*resultRec]{name: "workflowExecutionType", typ: edmEnum, enum: executionEnum, filter: allCmp, orderable: true,
		get: func(r *resultRec) value { return enumValue(executionEnum, r.execType) }},
	prop[*resultRec]{name: "workflowVersion", typ: edmInt,
		get: func(r *resultRec) value { return intValue(r.version) }},
	prop[*resultRec]{name: "subject",
		write: func(b []byte, r *resultRec, w *writer) []byte { return appendSubject(b, r.userID, w) }},
	prop[*resultRec]{name: "subject/id", typ: edmString, filter: eqNe, filterOnly: true,
		get: func(r *resultRec) value { return strValue(r.userID) }},
	prop[*resultRec]{name: "taskProcessingResults", expandOnly: true,
		write: func(b []byte, r *resultRec, w *writer) []byte {
			b = append(b, '[')
			inner := &writer{includeUnknown: w.includeUnknown, sim: w.sim}
			for i, t := range r.taskResults() {
				if i > 0 {
					b = append(b, ',')
				}
				b = taskResultType.appendEntity(b, taskView{t, r}, nil, inner)
			}
			return append(b, ']')
		}},
)

// taskView is a task result with the user result it belongs to.
type taskView struct {
	t *taskResultRec
	r *resultRec
}

var taskResultType = newEntityType[taskView]("microsoft.graph.identityGovernance.taskProcessingResult",
	[]string{"task", "subject"},
	prop[taskView]{name: "completedDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(v taskView) value { return timeValue(v.t.completed) }},
	prop[taskView]{name: "createdDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(v taskView) value { return timeValue(v.t.created) }},
	prop[taskView]{name: "failureReason", typ: edmString,
		get: func(v taskView) value {
			if v.t.reason == "" {
				return value{t: edmString, null: true}
			}
			return strValue(v.t.reason)
		}},
	prop[taskView]{name: "id", typ: edmString, filter: eqNe, orderable: true,
		get: func(v taskView) value { return strValue(v.t.id) }},
	prop[taskView]{name: "processingInfo", typ: edmString,
		get: func(v taskView) value { return nullString(v.t.info) }},
	prop[taskView]{name: "processingStatus", typ: edmEnum, enum: statusEnum, filter: eqNe, orderable: true,
		get: func(v taskView) value { return enumValue(statusEnum, v.t.status) }},
	prop[taskView]{name: "startedDateTime", typ: edmDateTime, filter: allCmp, orderable: true,
		get: func(v taskView) value { return timeValue(v.t.started) }},
	prop[taskView]{name: "subject",
		write: func(b []byte, v taskView, w *writer) []byte { return appendSubject(b, v.r.userID, w) }},
	prop[taskView]{name: "task", expandOnly: true,
		write: func(b []byte, v taskView, w *writer) []byte { return appendTask(b, v.t.task, w) }},
)

func appendTask(b []byte, t *taskRec, w *writer) []byte {
	b = append(b, `{"arguments":[],"category":`...)
	b = appendJSONString(b, taskCategoryEnum.render(t.category, w.includeUnknown))
	b = append(b, `,"continueOnError":`...)
	b = strconv.AppendBool(b, t.continueOnError)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, t.description)
	b = append(b, `,"displayName":`...)
	b = appendJSONString(b, t.displayName)
	b = append(b, `,"executionSequence":`...)
	b = strconv.AppendInt(b, int64(t.seq), 10)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, t.id)
	b = append(b, `,"isEnabled":`...)
	b = strconv.AppendBool(b, t.isEnabled)
	b = append(b, `,"taskDefinitionId":`...)
	b = appendJSONString(b, t.definitionID)
	return append(b, '}')
}

// defaultUserSelect is what GET /users/{id} returns without $select.
var defaultUserSelect = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail",
	"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

func nullString(s string) value {
	if s == "" {
		return value{t: edmString, null: true}
	}
	return strValue(s)
}

var userType = newEntityType[*userRec]("microsoft.graph.user", nil,
	prop[*userRec]{name: "businessPhones",
		write: func(b []byte, _ *userRec, _ *writer) []byte { return append(b, "[]"...) }},
	prop[*userRec]{name: "displayName", typ: edmString,
		get: func(u *userRec) value { return nullString(u.displayName) }},
	prop[*userRec]{name: "givenName", typ: edmString,
		get: func(u *userRec) value { return nullString(u.givenName) }},
	prop[*userRec]{name: "jobTitle", typ: edmString,
		get: func(u *userRec) value { return nullString(u.jobTitle) }},
	prop[*userRec]{name: "mail", typ: edmString,
		get: func(u *userRec) value { return nullString(u.mail) }},
	prop[*userRec]{name: "mobilePhone", typ: edmString,
		get: func(u *userRec) value { return nullString("") }},
	prop[*userRec]{name: "officeLocation", typ: edmString,
		get: func(u *userRec) value { return nullString("") }},
	prop[*userRec]{name: "preferredLanguage", typ: edmString,
		get: func(u *userRec) value { return nullString("") }},
	prop[*userRec]{name: "surname", typ: edmString,
		get: func(u *userRec) value { return nullString(u.surname) }},
	prop[*userRec]{name: "userPrincipalName", typ: edmString,
		get: func(u *userRec) value { return strValue(u.upn) }},
	prop[*userRec]{name: "id", typ: edmString,
		get: func(u *userRec) value { return strValue(u.id) }},
)
