package graphsim_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

func TestPagingFollowsNextLinkUntilAbsent(t *testing.T) {
	tests := []struct {
		name      string
		results   int
		wantPages []int
	}{
		{"last page partial", 7, []int{3, 3, 1}},
		{"last page empty", 6, []int{3, 3, 0}},
		{"one page", 2, []int{2}},
		{"nothing", 0, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, graphsim.Options{PageSize: 3})
			wf := f.sim.AddWorkflow(graphsim.Workflow{DisplayName: "Onboard"})
			users := f.sim.AddUsers(tt.results)
			var want []string
			for _, u := range users {
				want = append(want, f.sim.StartRun(wf.ID, u.ID).Results...)
				f.clock.Advance(time.Second)
			}
			for _, path := range []string{lcw + "/" + wf.ID + "/userProcessingResults", lcw + "/" + wf.ID + "/runs"} {
				items, pages := f.followAll(t, path)
				if !slices.Equal(pages, tt.wantPages) {
					t.Errorf("%s: page sizes = %v, want %v", path, pages, tt.wantPages)
				}
				if len(items) != tt.results {
					t.Errorf("%s: %d items, want %d", path, len(items), tt.results)
				}
			}
			items, _ := f.followAll(t, lcw+"/"+wf.ID+"/userProcessingResults")
			var got []string
			for _, it := range items {
				got = append(got, it["id"].(string))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("results differ from those created:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestNextLinkIsAbsoluteAndOpaque(t *testing.T) {
	f := newFixture(t, graphsim.Options{PageSize: 2})
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	users := f.sim.AddUsers(5)
	run := f.sim.StartRun(wf.ID, users[0].ID, users[1].ID, users[2].ID, users[3].ID, users[4].ID)
	filter := "scheduledDateTime ge " + ts(f.clock.Now().Add(-time.Hour)) + " and processingStatus eq 'queued'"
	first := f.get(t, q(lcw+"/"+wf.ID+"/runs/"+run.ID+"/userProcessingResults", "$filter", filter))
	mustStatus(t, first, http.StatusOK)
	next, _ := first.body["@odata.nextLink"].(string)
	u, err := url.Parse(next)
	if err != nil || u.Scheme+"://"+u.Host != f.srv.URL {
		t.Fatalf("nextLink %q is not absolute on the request's host %s", next, f.srv.URL)
	}
	if u.Query().Get("$filter") != filter {
		t.Errorf("nextLink lost the filter: %q", next)
	}
	tok := u.Query().Get("$skiptoken")
	if tok == "" || isNumber(tok) {
		t.Fatalf("skip token %q is missing or a bare offset", tok)
	}

	// A forged or edited token, or one presented with another query, is refused.
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	raw[len(raw)/2] ^= 1
	forged := strings.Replace(next, tok, base64.RawURLEncoding.EncodeToString(raw), 1)
	otherQuery := q(lcw+"/"+wf.ID+"/runs/"+run.ID+"/userProcessingResults", "$filter", "processingStatus eq 'failed'", "$skiptoken", tok)
	for _, bad := range []string{forged, otherQuery, q(lcw+"/"+wf.ID+"/userProcessingResults", "$skiptoken", "2")} {
		r := f.get(t, bad)
		mustStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(r.errorMessage(), "$skiptoken") {
			t.Errorf("message = %q", r.errorMessage())
		}
	}
	// Following the link needs the token again: headers and auth are not carried over.
	r := f.get(t, next, "Authorization", "")
	mustStatus(t, r, http.StatusUnauthorized)
}

func isNumber(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

func TestPagingNeitherRepeatsNorSkipsWhileResultsChange(t *testing.T) {
	f := newFixture(t, graphsim.Options{PageSize: 4})
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	users := f.sim.AddUsers(10)
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	run := f.sim.StartRun(wf.ID, ids...)
	first := f.get(t, lcw+"/"+wf.ID+"/userProcessingResults")
	seen := map[string]int{}
	for _, it := range first.list() {
		seen[it["id"].(string)]++
	}
	// Between pages, results change status and a new run appears.
	f.clock.Advance(time.Minute)
	for _, id := range run.Results {
		f.sim.SetResultStatus(id, events.StatusInProgress)
	}
	more := f.sim.AddUsers(1)
	f.sim.StartRun(wf.ID, more[0].ID)
	items, _ := f.followAll(t, first.body["@odata.nextLink"].(string))
	for _, it := range items {
		seen[it["id"].(string)]++
	}
	for _, id := range run.Results {
		if seen[id] != 1 {
			t.Errorf("result %s served %d times, want once", id, seen[id])
		}
	}
}

func TestTopSetsThePageSize(t *testing.T) {
	f := newFixture(t, graphsim.Options{PageSize: 2, MaxPageSize: 5})
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	users := f.sim.AddUsers(7)
	for _, u := range users {
		f.sim.StartRun(wf.ID, u.ID)
	}
	_, pages := f.followAll(t, q(lcw+"/"+wf.ID+"/runs", "$top", "5"))
	if !slices.Equal(pages, []int{5, 2}) {
		t.Errorf("pages with $top=5: %v, want [5 2]", pages)
	}
	r := f.get(t, q(lcw+"/"+wf.ID+"/runs", "$top", "6"))
	mustStatus(t, r, http.StatusBadRequest)
}

func TestOrderBy(t *testing.T) {
	f := newFixture(t, graphsim.Options{PageSize: 2})
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	users := f.sim.AddUsers(5)
	var runIDs []string
	for _, u := range users {
		runIDs = append(runIDs, f.sim.StartRun(wf.ID, u.ID).ID)
		f.clock.Advance(time.Minute)
	}
	items, _ := f.followAll(t, q(lcw+"/"+wf.ID+"/runs", "$orderby", "scheduledDateTime desc"))
	var got []string
	for _, it := range items {
		got = append(got, it["id"].(string))
	}
	slices.Reverse(runIDs)
	if !slices.Equal(got, runIDs) {
		t.Errorf("runs by scheduledDateTime desc:\n got %v\nwant %v", got, runIDs)
	}
	results, _ := f.followAll(t, q(lcw+"/"+wf.ID+"/userProcessingResults", "$orderby", "scheduledDateTime desc,id"))
	if len(results) != 5 || results[0]["scheduledDateTime"].(string) < results[4]["scheduledDateTime"].(string) {
		t.Errorf("results not in descending order: %v", results)
	}
}

func TestReportWindows(t *testing.T) {
	f := newFixture(t, graphsim.Options{})
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	users := f.sim.AddUsers(3)
	now := f.clock.Now()
	old := f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: now.Add(-10 * 24 * time.Hour), Users: []string{users[0].ID}})
	f.sim.UpdateResult(old.Results[0], graphsim.ResultUpdate{Status: events.StatusCompleted, At: now.Add(-10*24*time.Hour + time.Minute)})
	ancient := f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: now.Add(-31 * 24 * time.Hour), Users: []string{users[1].ID}})
	recent := f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: now.Add(-time.Hour), Users: []string{users[2].ID}})

	ids := func(r response) []string {
		var out []string
		for _, it := range r.list() {
			out = append(out, it["id"].(string))
		}
		return out
	}
	results := lcw + "/" + wf.ID + "/userProcessingResults"
	runs := lcw + "/" + wf.ID + "/runs"

	// No date filter: the last seven days only.
	if got := ids(f.get(t, results)); !slices.Equal(got, recent.Results) {
		t.Errorf("results without a date filter = %v, want only the recent %v", got, recent.Results)
	}
	if got := ids(f.get(t, q(results, "$filter", "processingStatus eq 'completed'"))); len(got) != 0 {
		t.Errorf("a filter without a date bound must keep the 7-day window; got %v", got)
	}
	if got := ids(f.get(t, runs)); !slices.Equal(got, []string{recent.ID}) {
		t.Errorf("runs without a date filter = %v, want [%s]", got, recent.ID)
	}
	// A lower bound inside 30 days lifts the window, on any timestamp.
	for _, filter := range []string{
		"scheduledDateTime ge " + ts(now.Add(-29*24*time.Hour)),
		"completedDateTime ge " + ts(now.Add(-11*24*time.Hour)) + " and completedDateTime le " + ts(now),
	} {
		if got := ids(f.get(t, q(results, "$filter", filter))); !slices.Contains(got, old.Results[0]) {
			t.Errorf("filter %q = %v, want the 10-day-old result", filter, got)
		}
	}
	// Reaching back more than 30 days is refused, on any timestamp and on runs too.
	for _, path := range []string{results, runs} {
		for _, prop := range []string{"scheduledDateTime", "startedDateTime", "completedDateTime"} {
			r := f.get(t, q(path, "$filter", prop+" gt "+ts(now.Add(-31*24*time.Hour))))
			mustStatus(t, r, http.StatusBadRequest)
			if !strings.Contains(r.errorMessage(), "30 days") {
				t.Errorf("message = %q", r.errorMessage())
			}
		}
	}
	// Gone after 30 days; the results of one run have no default window.
	mustStatus(t, f.get(t, lcw+"/"+wf.ID+"/runs/"+ancient.ID), http.StatusNotFound)
	mustStatus(t, f.get(t, results+"/"+ancient.Results[0]), http.StatusNotFound)
	if got := ids(f.get(t, runs+"/"+old.ID+"/userProcessingResults")); !slices.Equal(got, old.Results) {
		t.Errorf("results of a 10-day-old run = %v, want %v", got, old.Results)
	}
}

func TestPagesKeepTheirFirstClock(t *testing.T) {
	f := newFixture(t, graphsim.Options{PageSize: 1})
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	users := f.sim.AddUsers(2)
	now := f.clock.Now()
	for _, u := range users {
		f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: now.Add(-6*24*time.Hour - time.Hour), Users: []string{u.ID}})
	}
	first := f.get(t, lcw+"/"+wf.ID+"/userProcessingResults")
	if len(first.list()) != 1 {
		t.Fatalf("first page = %s", first.raw)
	}
	// Two days later the results fell out of the default window, but the listing
	// started before that still ends.
	f.clock.Advance(2 * 24 * time.Hour)
	items, _ := f.followAll(t, first.body["@odata.nextLink"].(string))
	if len(items) != 1 {
		t.Errorf("second page has %d items, want 1", len(items))
	}
}

func TestPagingKeepsItsReadingPlanWhenTheDataShifts(t *testing.T) {
	f := newFixture(t, graphsim.Options{PageSize: 2})
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	now := f.clock.Now()
	users := f.sim.AddUsers(17)
	recent := f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: now.Add(-10 * time.Minute),
		Users: []string{users[0].ID, users[1].ID, users[2].ID}})
	// Finished results in the same range make the active set the cheaper read.
	f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: now.Add(-20 * time.Minute), Status: events.StatusCompleted,
		Users: []string{users[13].ID, users[14].ID, users[15].ID, users[16].ID}})
	notFinal := "processingStatus ne 'completed' and processingStatus ne 'completedWithErrors' and " +
		"processingStatus ne 'failed' and processingStatus ne 'canceled' and scheduledDateTime ge " + ts(now.Add(-time.Hour))
	first := f.get(t, q(lcw+"/"+wf.ID+"/userProcessingResults", "$filter", notFinal))
	mustStatus(t, first, http.StatusOK)
	// Ten more results that are not final but older than the filter's range: the set
	// of active results is now larger than the time range the filter allows.
	for _, u := range users[3:13] {
		f.sim.StartRunWith(wf.ID, graphsim.RunSpec{ScheduledAt: now.Add(-2 * time.Hour), Users: []string{u.ID}})
	}
	rest, _ := f.followAll(t, first.body["@odata.nextLink"].(string))
	got := len(first.list()) + len(rest)
	if got != len(recent.Results) {
		t.Errorf("listed %d results, want %d", got, len(recent.Results))
	}
}
