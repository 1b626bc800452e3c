package graphsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

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
		case events.StatusFailed, events.StatusCompletedWithErrors:
			failedRuns++
		case events.StatusCompleted:
			successfulRuns++
		}
		failedTasks += r.failedTasks
		totalTasks += r.totalTasks
		totalUsers += r.totalUser
	}
	return summaryBody(x, "microsoft.graph.identityGovernance.runSummary", []counter{
		{"failedRuns", failedRuns}, {"failedTasks", failedTasks}, {"successfulRuns", successfulRuns},
		{"totalRuns", totalRuns}, {"totalTasks", totalTasks}, {"totalUsers", totalUsers}}), nil
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
		case events.StatusFailed, events.StatusCompletedWithErrors:
			failedUsers++
		case events.StatusCompleted:
			successfulUsers++
		}
		failedTasks += r.failedTasks
		totalTasks += r.totalTasks
	}
	return summaryBody(x, "microsoft.graph.identityGovernance.userSummary", []counter{
		{"failedTasks", failedTasks}, {"failedUsers", failedUsers}, {"successfulUsers", successfulUsers},
		{"totalTasks", totalTasks}, {"totalUsers", totalUsers}}), nil
}

// counter is one property of a summary.
type counter struct {
	name string
	n    int
}

// summaryBody writes a summary (a complex type) with its @odata.context.
func summaryBody(x *exchange, typ string, counters []counter) []byte {
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, x.baseURL()+"/$metadata#"+typ)
	for _, c := range counters {
		b = append(b, ',')
		b = appendJSONString(b, c.name)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(c.n), 10)
	}
	return append(b, '}')
}
