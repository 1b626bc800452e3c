package graphsim

import "fmt"

// listEnv is what every list handler works out before touching the state.
type listEnv struct {
	digest string
	tok    *pageToken
	size   int
}

func (s *Sim) listEnv(x *exchange, q queryOpts) (listEnv, *apiError) {
	env := listEnv{digest: queryDigest(x.r.URL.Path, x.r.URL.RawQuery)}
	var e *apiError
	if env.size, e = s.pageSize(q); e != nil {
		return env, e
	}
	if q.has["$skiptoken"] {
		if env.tok, e = s.decodeToken(q.skiptoken, env.digest); e != nil {
			return env, e
		}
	}
	return env, nil
}

// asOf is the clock a listing's windows are measured on: the first page's.
func (s *Sim) asOf(env listEnv) stamp {
	if env.tok != nil {
		return stamp(env.tok.AsOf)
	}
	return s.stampNow()
}

// checkReach refuses a filter that reaches back further than the reports keep.
func (s *Sim) checkReach(lowest stamp, ok bool, asOf stamp) *apiError {
	if !ok {
		return nil
	}
	if earliest := s.horizon(asOf); lowest < earliest {
		return errBadRequest(fmt.Sprintf("Invalid filter clause: the date range starts at %s, but Lifecycle Workflows reports keep only the last %d days; use a lower bound at or after %s.",
			lowest.Time().Format(timeLayout), int(s.opts.Reach.Hours()/24), earliest.Time().Format(timeLayout)))
	}
	return nil
}

func compileFor[T any](e *entityType[T], q queryOpts) (*filter[T], *apiError) {
	if !q.has["$filter"] {
		return nil, nil
	}
	f, err := compileFilter(e, q.filter)
	if err != nil {
		return nil, errBadRequest("Invalid filter clause: " + err.Error())
	}
	return f, nil
}

// listReq is a validated list request.
type listReq[T any] struct {
	f      *filter[T]
	keys   []orderKey[T] // $orderby, or the listing's default order
	sel    []string
	expand map[string]bool
	env    listEnv
	asOf   stamp
	// bounded reports a lower bound on a DateTimeOffset property, which lifts the
	// default report window.
	bounded bool
}

// parseList validates a list request's options for entity type e. report marks the
// run and result reports, whose filters may not reach back past Options.Reach.
func parseList[T any](s *Sim, x *exchange, q queryOpts, e *entityType[T], defaultOrder []orderKey[T], report bool) (listReq[T], *apiError) {
	var (
		lr  listReq[T]
		err *apiError
	)
	if lr.f, err = compileFor(e, q); err != nil {
		return lr, err
	}
	lr.keys = defaultOrder
	if q.has["$orderby"] {
		if lr.keys, err = parseOrderBy(e, q.orderby); err != nil {
			return lr, err
		}
	}
	if lr.sel, err = parseSelect(e, q.selectRaw, q.has["$select"]); err != nil {
		return lr, err
	}
	if lr.expand, err = parseExpand(e, q.expandRaw, q.has["$expand"]); err != nil {
		return lr, err
	}
	if lr.env, err = s.listEnv(x, q); err != nil {
		return lr, err
	}
	lr.asOf = s.asOf(lr.env)
	var lowest stamp
	lowest, lr.bounded = lr.f.lowestBound()
	if report && lr.env.tok == nil {
		if err := s.checkReach(lowest, lr.bounded, lr.asOf); err != nil {
			return lr, err
		}
	}
	return lr, nil
}

func errBadToken() *apiError {
	return errBadRequest("The $skiptoken is invalid or does not belong to this query; follow @odata.nextLink as returned.")
}

// writer returns the body writer for the request.
func (lr listReq[T]) writer(x *exchange, s *Sim) *writer {
	return &writer{includeUnknown: x.includeUnknown, expand: lr.expand, sim: s}
}

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
func pageOf[T any](lr listReq[T], all []T, keep func(T) bool, id func(T) string) ([]T, *pageToken, *apiError) {
	var matches []T
	for _, it := range all {
		if (keep == nil || keep(it)) && lr.f.match(it) {
			matches = append(matches, it)
		}
	}
	return lr.sortedPage(matches, id)
}

// sortedPage orders matches and cuts the page the request asks for.
func (lr listReq[T]) sortedPage(matches []T, id func(T) string) ([]T, *pageToken, *apiError) {
	if tok := lr.env.tok; tok != nil && (len(tok.Keys) != len(lr.keys) || tok.Source != 0) {
		return nil, nil, errBadToken()
	}
	o := ordering[T]{keys: lr.keys, id: id}
	items, full := sortedPage(matches, o, lr.env.tok, lr.env.size)
	if !full {
		return items, nil, nil
	}
	return items, o.cursorAt(items[len(items)-1], pageToken{Query: lr.env.digest, AsOf: int64(lr.asOf)}), nil
}
