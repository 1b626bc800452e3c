package graphsim

import (
	"fmt"
	"math"
	"slices"
)

// The report windows. A list of runs or of a workflow's results whose $filter has no
// lower bound on any DateTimeOffset property covers only the last Options.Window (7
// days), measured on scheduledDateTime, the one timestamp every run and result has
// from the moment it exists. A lower bound earlier than Options.Reach (30 days) before
// now is refused; results and runs scheduled before that horizon are gone. The results
// of one run are scoped by the run and have no default window.

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

func resultID(r *resultRec) string { return r.id }

var byScheduledKey = orderKey[*resultRec]{name: "scheduledDateTime",
	get: func(r *resultRec) value { return timeValue(r.scheduled) }}

// listResults serves the results of a workflow or of one run.
func (s *Sim) listResults(x *exchange, q queryOpts) ([]byte, *apiError) {
	f, e := compileFor(resultType, q)
	if e != nil {
		return nil, e
	}
	var keys []orderKey[*resultRec]
	if q.has["$orderby"] {
		if keys, e = parseOrderBy(resultType, q.orderby); e != nil {
			return nil, e
		}
	}
	sel, e := parseSelect(resultType, q.selectRaw, q.has["$select"])
	if e != nil {
		return nil, e
	}
	expand, e := parseExpand(resultType, q.expandRaw, q.has["$expand"])
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

	s.mu.RLock()
	defer s.mu.RUnlock()
	wf := s.wfByID[x.rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", x.rt.wid)
	}
	// from is the earliest scheduledDateTime this listing shows.
	from := s.horizon(asOf)
	set := "identityGovernance/lifecycleWorkflows/" + keyed("workflows", wf.id)
	var (
		items []*resultRec
		next  *pageToken
	)
	if x.rt.op == OpListRunResults {
		run := wf.runByID[x.rt.rid]
		if run == nil || run.scheduled < from {
			return nil, errNotFound("run", x.rt.rid)
		}
		set += "/" + keyed("runs", run.id)
		if keys == nil {
			keys = []orderKey[*resultRec]{byScheduledKey}
		}
		o := ordering[*resultRec]{keys: keys, id: resultID}
		if env.tok != nil && len(env.tok.Keys) != len(keys) {
			return nil, errBadRequest("The $skiptoken is invalid or does not belong to this query; follow @odata.nextLink as returned.")
		}
		var matches []*resultRec
		for _, r := range run.results {
			if r.scheduled >= from && f.match(r) {
				matches = append(matches, r)
			}
		}
		var full bool
		items, full = sortedPage(matches, o, env.tok, env.size)
		if full {
			next = o.cursorAt(items[len(items)-1], pageToken{Query: env.digest, AsOf: int64(asOf)})
		}
	} else {
		if !bounded {
			from = max(from, asOf-stamp(s.opts.Window))
		}
		var err *apiError
		items, next, err = s.workflowResultsPage(wf, f, keys, from, asOf, env)
		if err != nil {
			return nil, err
		}
	}
	set += "/userProcessingResults"

	w := &writer{includeUnknown: x.includeUnknown, expand: expand, sim: s}
	return listBody(x, s, resultType, set, sel, items, next, w), nil
}

// workflowResultsPage finds one page of a workflow's results: from the narrowest
// index the filter allows when no $orderby is given (so a windowed poll costs the
// same whatever the history), else by sorting every match.
func (s *Sim) workflowResultsPage(wf *workflowRec, f *filter[*resultRec], keys []orderKey[*resultRec],
	from, asOf stamp, env listEnv) ([]*resultRec, *pageToken, *apiError) {
	visible := func(r *resultRec) bool { return r.scheduled >= from && f.match(r) }
	base := pageToken{Query: env.digest, AsOf: int64(asOf)}
	badToken := errBadRequest("The $skiptoken is invalid or does not belong to this query; follow @odata.nextLink as returned.")

	src := s.pickIndex(wf, f, from)
	if keys != nil || src == idxActive {
		if keys == nil {
			keys = []orderKey[*resultRec]{byScheduledKey}
		}
		if env.tok != nil && len(env.tok.Keys) != len(keys) {
			return nil, nil, badToken
		}
		var matches []*resultRec
		if src == idxActive {
			for r := range wf.results.active {
				if visible(r) {
					matches = append(matches, r)
				}
			}
		} else {
			lo, hi := s.indexRange(wf, f, src, from)
			for _, r := range (*wf.results.slice(src))[lo:hi] {
				if visible(r) {
					matches = append(matches, r)
				}
			}
		}
		o := ordering[*resultRec]{keys: keys, id: resultID}
		items, full := sortedPage(matches, o, env.tok, env.size)
		if !full {
			return items, nil, nil
		}
		return items, o.cursorAt(items[len(items)-1], base), nil
	}

	if env.tok != nil {
		if len(env.tok.Keys) != 1 || env.tok.Source < idxScheduled || env.tok.Source > idxCompleted {
			return nil, nil, badToken
		}
		src = env.tok.Source
	}
	idx := *wf.results.slice(src)
	lo, hi := s.indexRange(wf, f, src, from)
	if env.tok != nil {
		key, id := stamp(env.tok.Keys[0].N), env.tok.ID
		after, _ := slices.BinarySearchFunc(idx, struct{}{}, func(r *resultRec, _ struct{}) int {
			if cmpKey(src, r, key, id) > 0 {
				return 1
			}
			return -1
		})
		lo = max(lo, after)
	}
	var items []*resultRec
	for i := lo; i < hi && len(items) < env.size; i++ {
		if r := idx[i]; visible(r) {
			items = append(items, r)
		}
	}
	if len(items) < env.size {
		return items, nil, nil
	}
	last := items[len(items)-1]
	base.Source = src
	base.Keys = []tokenValue{{N: int64(src.key(last))}}
	base.ID = last.id
	return items, &base, nil
}

// pickIndex chooses the index with the fewest candidates for the filter.
func (s *Sim) pickIndex(wf *workflowRec, f *filter[*resultRec], from stamp) indexKind {
	best, bestN := idxScheduled, math.MaxInt
	for _, k := range []indexKind{idxScheduled, idxStarted, idxCompleted} {
		if k != idxScheduled && f.span(k.prop()) == unbounded() {
			continue
		}
		lo, hi := s.indexRange(wf, f, k, from)
		if n := hi - lo; n < bestN {
			best, bestN = k, n
		}
	}
	if f.onlyActive() && len(wf.results.active) < bestN {
		return idxActive
	}
	return best
}

// indexRange returns the positions in index k that the filter's range on k's
// timestamp allows.
func (s *Sim) indexRange(wf *workflowRec, f *filter[*resultRec], k indexKind, from stamp) (int, int) {
	sp := f.span(k.prop())
	if k == idxScheduled {
		sp.lo = max(sp.lo, from)
	}
	idx := *wf.results.slice(k)
	lo, _ := slices.BinarySearchFunc(idx, sp.lo, func(r *resultRec, t stamp) int {
		if k.key(r) < t {
			return -1
		}
		return 1
	})
	hi, _ := slices.BinarySearchFunc(idx, sp.hi, func(r *resultRec, t stamp) int {
		if k.key(r) <= t {
			return -1
		}
		return 1
	})
	return lo, hi
}
