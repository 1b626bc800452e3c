package graphsim

import (
	"math"
	"slices"
)

// The report windows. A list of runs or of a workflow's results whose $filter has no
// lower bound on any DateTimeOffset property covers only the last Options.Window (7
// days), measured on scheduledDateTime, the one timestamp every run and result has
// from the moment it exists. A lower bound earlier than Options.Reach (30 days) before
// now is refused; results and runs scheduled before that horizon are gone. The results
// of one run are scoped by the run and have no default window. Every page of a listing
// shows the runs and results scheduled up to its first page's clock, so a listing
// ends even while new runs keep starting.

func resultID(r *resultRec) string { return r.id }

var byScheduledKey = orderKey[*resultRec]{name: "scheduledDateTime",
	get: func(r *resultRec) value { return timeValue(r.scheduled) }}

// listResults serves the results of a workflow or of one run.
func (s *Sim) listResults(x *exchange, q queryOpts) ([]byte, *apiError) {
	lr, e := parseList(s, x, q, resultType, nil, true)
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	wf := s.wfByID[x.rt.wid]
	if wf == nil {
		return nil, errNotFound("workflow", x.rt.wid)
	}
	// from is the earliest scheduledDateTime this listing shows.
	from := s.horizon(lr.asOf)
	set := lcwSet + keyed("workflows", wf.id)
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
		if lr.keys == nil {
			lr.keys = []orderKey[*resultRec]{byScheduledKey}
		}
		if items, next, e = pageOf(lr, run.results, func(r *resultRec) bool { return r.scheduled >= from && r.scheduled <= lr.asOf }, resultID); e != nil {
			return nil, e
		}
	} else {
		if !lr.bounded {
			from = max(from, lr.asOf-stamp(s.opts.Window))
		}
		if items, next, e = s.workflowResultsPage(wf, lr, from); e != nil {
			return nil, e
		}
	}
	return listBody(x, s, resultType, set+"/userProcessingResults", lr.sel, items, next, lr.writer(x, s)), nil
}

// workflowResultsPage finds one page of a workflow's results: from the narrowest
// index the filter allows when no $orderby is given (so a windowed poll costs the
// same whatever the history), else by sorting every match.
func (s *Sim) workflowResultsPage(wf *workflowRec, lr listReq[*resultRec], from stamp) ([]*resultRec, *pageToken, *apiError) {
	f := lr.f
	visible := func(r *resultRec) bool { return r.scheduled >= from && r.scheduled <= lr.asOf && f.match(r) }

	// The first page picks how to read; later pages read the way their token says:
	// Source 0 means every match sorted (any superset of the matches will do as
	// candidates), otherwise a walk along that index.
	src := s.pickIndex(wf, f, from)
	tok := lr.env.tok
	sorted := lr.keys != nil || src == idxActive
	if tok != nil {
		sorted = tok.Source == 0
	}
	if sorted {
		if lr.keys == nil {
			lr.keys = []orderKey[*resultRec]{byScheduledKey}
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
		return lr.sortedPage(matches, resultID)
	}

	if tok != nil {
		if len(tok.Keys) != 1 || tok.Source < idxScheduled || tok.Source > idxCompleted {
			return nil, nil, errBadToken()
		}
		src = tok.Source
	}
	idx := *wf.results.slice(src)
	lo, hi := s.indexRange(wf, f, src, from)
	if tok != nil {
		key, id := stamp(tok.Keys[0].N), tok.ID
		after, _ := slices.BinarySearchFunc(idx, struct{}{}, func(r *resultRec, _ struct{}) int {
			if cmpKey(src, r, key, id) > 0 {
				return 1
			}
			return -1
		})
		lo = max(lo, after)
	}
	var items []*resultRec
	for i := lo; i < hi && len(items) < lr.env.size; i++ {
		if r := idx[i]; visible(r) {
			items = append(items, r)
		}
	}
	if len(items) < lr.env.size {
		return items, nil, nil
	}
	last := items[len(items)-1]
	return items, &pageToken{Query: lr.env.digest, AsOf: int64(lr.asOf), Source: src,
		Keys: []tokenValue{{N: int64(src.key(last))}}, ID: last.id}, nil
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
