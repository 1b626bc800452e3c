package graphsim

import (
	"encoding/json"
	"fmt"
)

// MaxActivationSubjects is how many users one activate call (or one scope's
// processingResults or users) may name: the "users per on-demand selection" limit of
// Lifecycle Workflows' service limits.
const MaxActivationSubjects = 10

// Activation scope types (the derived types of identityGovernance.activationScope),
// without their namespace.
const (
	ScopeProcessingResults = "activateProcessingResultScope"
	ScopeRun               = "activateRunScope"
	ScopeUsers             = "activateUserScope"
	scopeGroup             = "activateGroupScope"
)

// Task and user scopes of an activation (activationTaskScopeType,
// activationUserScopeType).
const (
	TaskScopeAll     = "allTasks"
	TaskScopeFailed  = "failedTasks"
	UserScopeAll     = "allUsers"
	UserScopeFailed  = "failedUsers"
	igNamespace      = "microsoft.graph.identityGovernance."
	actionActivate   = igNamespace + "activate"
	actionWithScope  = igNamespace + "activateWithScope"
	userTypeName     = "microsoft.graph.user"
	resultTypeName   = igNamespace + "userProcessingResult"
	runTypeName      = igNamespace + "run"
	scopeAbstractTyp = igNamespace + "activationScope"
)

var (
	taskScopeEnum = newEnum(igNamespace+"activationTaskScopeType", false, TaskScopeAll, TaskScopeFailed, "unknownFutureValue")
	userScopeEnum = newEnum(igNamespace+"activationUserScopeType", false, UserScopeAll, UserScopeFailed, "unknownFutureValue")
)

// scopeRequest is a validated activateWithScope body.
type scopeRequest struct {
	kind                 string
	taskScope, userScope string
	ids                  []string // processingResults or users
	runID                string
}

// parseActivate validates the body of activate: {"subjects":[{"id":…}, …]}, one to
// MaxActivationSubjects distinct users.
func parseActivate(body map[string]json.RawMessage) ([]string, *apiError) {
	var subjects []string
	for k, v := range body {
		if k != "subjects" {
			return nil, errBadRequest(fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", k, actionActivate))
		}
		var e *apiError
		if subjects, e = parseRefs("parameter 'subjects'", v, userTypeName); e != nil {
			return nil, e
		}
	}
	if subjects == nil {
		return nil, errBadRequest(`The parameter 'subjects' is required: {"subjects":[{"id":"<user id>"}]} with 1 to 10 users.`)
	}
	return subjects, nil
}

// parseRefs reads an array of one to MaxActivationSubjects entity references
// [{"id":…}], each optionally typed as typ, without repeats.
func parseRefs(what string, raw json.RawMessage, typ string) ([]string, *apiError) {
	var items []json.RawMessage
	if jsonNode(raw) != "StartArray" || json.Unmarshal(raw, &items) != nil {
		return nil, errNode(what, raw, "StartArray")
	}
	switch {
	case len(items) == 0:
		return nil, errBadRequest(fmt.Sprintf("The %s is empty: name 1 to %d.", what, MaxActivationSubjects))
	case len(items) > MaxActivationSubjects:
		return nil, errBadRequest(fmt.Sprintf("The %s names %d items; at most %d are allowed in one request.", what, len(items), MaxActivationSubjects))
	}
	ids := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, item := range items {
		id, e := parseRef(what, item, typ)
		if e != nil {
			return nil, e
		}
		if seen[id] {
			return nil, errBadRequest(fmt.Sprintf("The %s names '%s' more than once.", what, id))
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}

// parseRef reads one entity reference {"id":…} of type typ. Only the id is used, so
// only the id (and the type annotation) may be sent: anything else is a client bug
// the simulator reports rather than ignores.
func parseRef(what string, raw json.RawMessage, typ string) (string, *apiError) {
	var obj map[string]json.RawMessage
	if jsonNode(raw) != "StartObject" || json.Unmarshal(raw, &obj) != nil {
		return "", errNode(what, raw, "StartObject")
	}
	id := ""
	for k, v := range obj {
		switch k {
		case "@odata.type":
			t, ok := odataType(v)
			if !ok || t != typ {
				return "", errBadRequest(fmt.Sprintf("A type named '%s' is not compatible with '%s' in the %s.", string(v), typ, what))
			}
		case "id":
			if json.Unmarshal(v, &id) != nil || jsonNode(v) != "PrimitiveValue" {
				return "", errBadRequest(fmt.Sprintf("The id of an item of the %s must be a string.", what))
			}
		default:
			return "", errBadRequest(fmt.Sprintf(`The property '%s' of an item of the %s is not used: send {"id":"…"} only.`, k, what))
		}
	}
	if id == "" {
		return "", errBadRequest(fmt.Sprintf(`An item of the %s has no id: send {"id":"…"}.`, what))
	}
	return id, nil
}

// parseWithScope validates the body of activateWithScope: {"scope":{…}} with a
// concrete activationScope type and exactly the properties it declares.
func parseWithScope(body map[string]json.RawMessage) (scopeRequest, *apiError) {
	var req scopeRequest
	raw, ok := body["scope"]
	for k := range body {
		if k != "scope" {
			return req, errBadRequest(fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", k, actionWithScope))
		}
	}
	if !ok || string(raw) == "null" {
		return req, errBadRequest(`The parameter 'scope' is required, e.g. {"scope":{"@odata.type":"#microsoft.graph.identityGovernance.activateProcessingResultScope","processingResults":[{"id":"…"}],"taskScope":"failedTasks"}}.`)
	}
	var scope map[string]json.RawMessage
	if jsonNode(raw) != "StartObject" || json.Unmarshal(raw, &scope) != nil {
		return req, errNode("parameter 'scope'", raw, "StartObject")
	}
	typRaw, ok := scope["@odata.type"]
	if !ok {
		return req, errBadRequest(fmt.Sprintf("The scope has no '@odata.type': %s is abstract; send #%s%s, #%s%s or #%s%s.",
			scopeAbstractTyp, igNamespace, ScopeProcessingResults, igNamespace, ScopeRun, igNamespace, ScopeUsers))
	}
	typ, ok := odataType(typRaw)
	if !ok {
		return req, errBadRequest("The '@odata.type' of the scope must be a string.")
	}
	switch typ {
	case igNamespace + ScopeProcessingResults, igNamespace + ScopeRun, igNamespace + ScopeUsers:
		req.kind = typ[len(igNamespace):]
	case igNamespace + scopeGroup:
		return req, &apiError{status: 400, code: "BadRequest",
			message: "graphsim does not model groups: activateGroupScope is not simulated; use activateUserScope."}
	default:
		return req, errBadRequest(fmt.Sprintf("A type named '%s' could not be resolved by the model, or is not a type of activationScope. When a model is available, each type name must resolve to a valid type.", typ))
	}
	declared := map[string][]string{
		ScopeProcessingResults: {"taskScope", "processingResults"},
		ScopeRun:               {"taskScope", "userScope", "run"},
		ScopeUsers:             {"users"},
	}[req.kind]
	for k, v := range scope {
		if k == "@odata.type" {
			continue
		}
		if !contains(declared, k) {
			return req, errNoProperty(k, igNamespace+req.kind)
		}
		var e *apiError
		switch k {
		case "taskScope":
			req.taskScope, e = parseScopeEnum(k, v, taskScopeEnum)
		case "userScope":
			req.userScope, e = parseScopeEnum(k, v, userScopeEnum)
		case "processingResults":
			req.ids, e = parseRefs("scope's processingResults", v, resultTypeName)
		case "users":
			req.ids, e = parseRefs("scope's users", v, userTypeName)
		case "run":
			req.runID, e = parseRef("scope's run", v, runTypeName)
		}
		if e != nil {
			return req, e
		}
	}
	for _, k := range declared {
		if _, ok := scope[k]; !ok {
			return req, errBadRequest(fmt.Sprintf("The property '%s' of %s%s is required.", k, igNamespace, req.kind))
		}
	}
	return req, nil
}

// parseScopeEnum reads taskScope or userScope: a member other than unknownFutureValue.
func parseScopeEnum(name string, raw json.RawMessage, e *enumType) (string, *apiError) {
	var v string
	if json.Unmarshal(raw, &v) != nil || jsonNode(raw) != "PrimitiveValue" || !e.valid(v) {
		return "", errBadRequest(fmt.Sprintf("Cannot convert the literal '%s' to the expected type '%s' (property '%s').", string(raw), e.name, name))
	}
	if v == "unknownFutureValue" {
		return "", errBadRequest(fmt.Sprintf("The value 'unknownFutureValue' of '%s' is a sentinel, not a scope: use %s.", name, e.members[0]+" or "+e.members[1]))
	}
	return v, nil
}
