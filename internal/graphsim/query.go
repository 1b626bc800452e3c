package graphsim

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// queryOpts are the system query options of one request, validated against what the
// operation documents.
type queryOpts struct {
	filter, orderby, selectRaw, expandRaw, search, top, skiptoken string
	has                                                           map[string]bool
}

// allowedOptions lists the system query options each operation documents; lists
// also take $top and $skiptoken for paging.
var allowedOptions = map[Operation][]string{
	OpListWorkflows:     {"$filter", "$orderby", "$search", "$select", "$top", "$skiptoken"},
	OpGetWorkflow:       {"$select"},
	OpListRuns:          {"$filter", "$orderby", "$select", "$top", "$skiptoken"},
	OpGetRun:            {"$select"},
	OpRunSummary:        nil,
	OpListResults:       {"$filter", "$orderby", "$select", "$expand", "$top", "$skiptoken"},
	OpListRunResults:    {"$filter", "$orderby", "$select", "$expand", "$top", "$skiptoken"},
	OpGetResult:         {"$select"},
	OpResultSummary:     nil,
	OpListTaskResults:   {"$filter", "$orderby", "$select", "$expand", "$top", "$skiptoken"},
	OpGetUser:           {"$select"},
	OpUpdateResult:      nil,
	OpActivate:          nil,
	OpActivateWithScope: nil,
	OpClearQuarantine:   nil,
}

// parseQuery reads the request's system query options. Options outside the
// operation's documented set are refused, as a strict OData service refuses them;
// parameters without '$' are custom options and ignored.
func parseQuery(op Operation, raw string) (queryOpts, *apiError) {
	q := queryOpts{has: make(map[string]bool)}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, errBadRequest("The query string is malformed: " + err.Error())
	}
	allowed := allowedOptions[op]
	for k, v := range vals {
		if !strings.HasPrefix(k, "$") {
			continue
		}
		name := strings.ToLower(k)
		if !contains(allowed, name) {
			return q, errBadRequest(fmt.Sprintf("Query option '%s' is not allowed for this request. Allowed options: %s.",
				k, allowedList(allowed)))
		}
		if len(v) > 1 || q.has[name] {
			return q, errBadRequest(fmt.Sprintf("Query option '%s' was specified more than once, but it must be specified at most once.", k))
		}
		q.has[name] = true
		switch name {
		case "$filter":
			q.filter = v[0]
		case "$orderby":
			q.orderby = v[0]
		case "$select":
			q.selectRaw = v[0]
		case "$expand":
			q.expandRaw = v[0]
		case "$search":
			q.search = v[0]
		case "$top":
			q.top = v[0]
		case "$skiptoken":
			q.skiptoken = v[0]
		}
	}
	return q, nil
}

func allowedList(allowed []string) string {
	if len(allowed) == 0 {
		return "none"
	}
	return strings.Join(allowed, ", ")
}

// parseSelect validates $select against an entity type; nil means all properties.
func parseSelect[T any](e *entityType[T], raw string, present bool) ([]string, *apiError) {
	if !present {
		return nil, nil
	}
	var out []string
	for name := range strings.SplitSeq(raw, ",") {
		name = strings.TrimSpace(name)
		p, ok := e.byName[name]
		if !ok || p.filterOnly || p.expandOnly {
			return nil, errBadRequest(fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type '%s'.", name, e.name))
		}
		if !contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// parseExpand validates $expand; only the navigation properties the type documents,
// without nested options.
func parseExpand[T any](e *entityType[T], raw string, present bool) (map[string]bool, *apiError) {
	out := map[string]bool{}
	if !present {
		return out, nil
	}
	for name := range strings.SplitSeq(raw, ",") {
		name = strings.TrimSpace(name)
		if strings.ContainsAny(name, "($/") {
			return nil, errBadRequest(fmt.Sprintf("Parsing OData Select and Expand failed: nested query options and paths in $expand ('%s') are not supported.", name))
		}
		if !contains(e.expandable, name) {
			if _, ok := e.byName[name]; ok {
				return nil, errBadRequest(fmt.Sprintf("Parsing OData Select and Expand failed: Property '%s' on type '%s' is not a navigation property or complex property. Only navigation properties can be expanded.", name, e.name))
			}
			return nil, errBadRequest(fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type '%s'.", name, e.name))
		}
		out[name] = true
	}
	return out, nil
}

// orderKey is one $orderby item.
type orderKey[T any] struct {
	name string
	get  func(T) value
	desc bool
}

// parseOrderBy validates $orderby: documented properties, asc or desc.
func parseOrderBy[T any](e *entityType[T], raw string) ([]orderKey[T], *apiError) {
	var keys []orderKey[T]
	for item := range strings.SplitSeq(raw, ",") {
		fields := strings.Fields(item)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, errBadRequest(fmt.Sprintf("Invalid $orderby clause '%s': write 'property' or 'property asc|desc', separated by commas.", raw))
		}
		p, ok := e.byName[fields[0]]
		if !ok || p.get == nil || p.filterOnly {
			return nil, errBadRequest(fmt.Sprintf("Invalid $orderby clause: Could not find a property named '%s' on type '%s'.", fields[0], e.name))
		}
		if !p.orderable {
			return nil, errBadRequest(fmt.Sprintf("Invalid $orderby clause: property '%s' of type '%s' does not support $orderby.", fields[0], e.name))
		}
		k := orderKey[T]{name: p.name, get: p.get}
		if len(fields) == 2 {
			switch fields[1] {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return nil, errBadRequest(fmt.Sprintf("Invalid $orderby clause: '%s' must be 'asc' or 'desc'.", fields[1]))
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// pageSize works out the page size from $top.
func (s *Sim) pageSize(q queryOpts) (int, *apiError) {
	if !q.has["$top"] {
		return s.opts.PageSize, nil
	}
	n, err := strconv.Atoi(q.top)
	if err != nil || n < 1 || n > s.opts.MaxPageSize {
		return 0, errBadRequest(fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", q.top, s.opts.MaxPageSize))
	}
	return n, nil
}
