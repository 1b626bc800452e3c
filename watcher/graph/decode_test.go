package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func ptime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func compacted(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGetResultSeeds decodes the two responses of Microsoft's "Get userProcessingResult"
// page exactly, through the paths the page requests.
func TestGetResultSeeds(t *testing.T) {
	tests := []struct {
		name, file, wf, run, id, wantPath string
		want                              UserProcessingResult
	}{
		{
			name: "example 1", file: "seed_get_result.json",
			wf: "14879e66-9ea9-48d0-804d-8fea672d0341", run: "dad77a47-6eda-4de7-bc37-fe8eb5aaf17d", id: "78b83505-6967-4168-a7ea-4921c0543ce9",
			wantPath: "/v1.0/identityGovernance/lifecycleWorkflows/workflows/14879e66-9ea9-48d0-804d-8fea672d0341" +
				"/runs/dad77a47-6eda-4de7-bc37-fe8eb5aaf17d/userProcessingResults/78b83505-6967-4168-a7ea-4921c0543ce9",
			want: UserProcessingResult{
				ID:                         "78b83505-6967-4168-a7ea-4921c0543ce9",
				ProcessingStatus:           "completed",
				WorkflowExecutionType:      "onDemand",
				WorkflowVersion:            1,
				FailedTasksCount:           0,
				TotalTasksCount:            2,
				TotalUnprocessedTasksCount: 0,
				ScheduledDateTime:          ptime("2022-08-24T23:28:01.6476554Z"),
				StartedDateTime:            ptime("2022-08-24T23:28:04.490313Z"),
				CompletedDateTime:          ptime("2022-08-24T23:28:11.1348863Z"),
				SubjectID:                  "ea09ac2e-77e3-4134-85f2-25ccf3c33387",
			},
		},
		{
			name: "example 2 with $select", file: "seed_get_result_select.json",
			wf: "15239232-66ed-445b-8292-2f5bbb2eb833", run: "e65e08a0-d68d-41dc-915b-8c4019af5cc2", id: "40efc576-840f-47d0-ab95-5abca800f8a2",
			wantPath: "/v1.0/identityGovernance/lifecycleWorkflows/workflows/15239232-66ed-445b-8292-2f5bbb2eb833" +
				"/runs/e65e08a0-d68d-41dc-915b-8c4019af5cc2/userProcessingResults/40efc576-840f-47d0-ab95-5abca800f8a2",
			want: UserProcessingResult{
				ID:                         "40efc576-840f-47d0-ab95-5abca800f8a2",
				ProcessingStatus:           "completed",
				FailedTasksCount:           0,
				TotalTasksCount:            3,
				TotalUnprocessedTasksCount: 0,
				SubjectID:                  "df744d9e-2148-4922-88a8-633896c1e929",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeGraph(t, serveFile(t, tt.file))
			c := newTestClient(t, srv.URL)
			got, err := c.GetResult(t.Context(), tt.wf, tt.run, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Raw = compacted(t, tt.file)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GetResult() =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.CompletedDateTime != nil && got.CompletedDateTime.Nanosecond() != 134886300 {
				t.Errorf("completedDateTime nanoseconds = %d, want 134886300 (7 digits kept)", got.CompletedDateTime.Nanosecond())
			}
			if p := srv.requests()[0].Path; p != tt.wantPath {
				t.Errorf("path = %s, want %s", p, tt.wantPath)
			}
			if strings.Contains(c.logs.String(), "level=WARN") {
				t.Errorf("unexpected warnings decoding a documented response:\n%s", c.logs)
			}
		})
	}
}

func TestGetResultWorkflowPath(t *testing.T) {
	srv := newFakeGraph(t, serveFile(t, "seed_get_result.json"))
	c := newTestClient(t, srv.URL, func(o *Options) { o.Version = "beta" })
	if _, err := c.GetResult(t.Context(), "wf 1", "", "wf_1_run_user"); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.requests()[0].URI, "/beta/identityGovernance/lifecycleWorkflows/workflows/wf%201/userProcessingResults/wf_1_run_user"; got != want {
		t.Errorf("request URI = %s, want %s", got, want)
	}
}

// TestListResultsLenient: unknown enum members are kept as received, nulls are nil,
// unusable properties are zeroed with a warning and unusable items are skipped and
// counted — the rest of the page still arrives.
func TestListResultsLenient(t *testing.T) {
	srv := newFakeGraph(t, serveFile(t, "results_mixed.json"))
	c := newTestClient(t, srv.URL)
	got, err := c.ListResults(t.Context(), "wf-1", dateRange)
	if err != nil {
		t.Fatal(err)
	}
	want := []UserProcessingResult{
		{
			ID: "wf-1_3_run-1_user-1", ProcessingStatus: "quarantined", WorkflowExecutionType: "activatedWithScope",
			WorkflowVersion: 3, TotalTasksCount: 2, TotalUnprocessedTasksCount: 2,
			ScheduledDateTime: ptime("2024-05-01T10:00:00.1234567Z"), SubjectID: "user-1",
		},
		{
			ID: "wf-1_3_run-1_user-2", ProcessingStatus: "failed", WorkflowExecutionType: "scheduled",
			WorkflowVersion: 3, FailedTasksCount: 0, TotalTasksCount: 2,
			ScheduledDateTime: ptime("2024-05-01T10:00:00Z"), StartedDateTime: nil,
			CompletedDateTime: ptime("2024-05-01T10:05:00+02:00"),
		},
		{ID: "wf-1_3_run-1_user-3", ProcessingStatus: "someFutureStatus", SubjectID: "user-\"3\""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		g.Raw = nil
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("result %d =\n%+v\nwant\n%+v", i, g, want[i])
		}
	}
	if got, want := string(got[2].Raw), `{"id":"wf-1_3_run-1_user-3","processingStatus":"someFutureStatus","subject":{"id":"user-\"3\""},"extra":{"a":[1,2.50,"\u00e9"]}}`; got != want {
		t.Errorf("Raw = %s, want %s (compacted, otherwise as received)", got, want)
	}
	if n := testutil.ToFloat64(c.metrics.malformed.WithLabelValues(opListResults)); n != 4 {
		t.Errorf("malformed items metric = %v, want 4", n)
	}
	logs := c.logs.String()
	for _, want := range []string{"no string id", "no string processingStatus", "not an object",
		"failedTasksCount.problem=\"not an Int32\"", "startedDateTime.problem=\"not an RFC 3339 time\"", "subject.problem=\"not an object\""} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestMalformedPages(t *testing.T) {
	valid := `{"value":[{"id":"a","processingStatus":"failed"}],"@odata.nextLink":null}`
	tests := []struct{ name, body string }{
		{"empty body", ""},
		{"not JSON", "<html><body>Service Unavailable</body></html>"},
		{"truncated", valid[:len(valid)-1]},
		{"truncated in an item", valid[:20]},
		{"no value", `{"@odata.context":"x"}`},
		{"value null", `{"value":null}`},
		{"value object", `{"value":{"id":"a"}}`},
		{"value string", `{"value":"[]"}`},
		{"top-level array", `[{"id":"a","processingStatus":"failed"}]`},
		{"nextLink not a string", `{"value":[],"@odata.nextLink":5}`},
		{"trailing garbage", valid + `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeGraph(t, serveBody(200, tt.body))
			c := newTestClient(t, srv.URL)
			got, err := c.ListResults(t.Context(), "wf-1", dateRange)
			if !errors.Is(err, ErrMalformedResponse) {
				t.Errorf("err = %v, want ErrMalformedResponse", err)
			}
			if got != nil {
				t.Errorf("got %d results with the error, want none", len(got))
			}
		})
	}
	t.Run("valid control", func(t *testing.T) {
		srv := newFakeGraph(t, serveBody(200, valid))
		c := newTestClient(t, srv.URL)
		if got, err := c.ListResults(t.Context(), "wf-1", dateRange); err != nil || len(got) != 1 {
			t.Errorf("ListResults() = %v, %v; want 1 result", got, err)
		}
	})
}

func TestGetResultMalformed(t *testing.T) {
	for _, body := range []string{`{"id":"a"}`, `{"processingStatus":"failed"}`, `[]`, `{"id":"a","processingStatus":`} {
		srv := newFakeGraph(t, serveBody(200, body))
		c := newTestClient(t, srv.URL)
		if _, err := c.GetResult(t.Context(), "wf", "", "a"); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("GetResult(%s) err = %v, want ErrMalformedResponse", body, err)
		}
	}
}

func TestListTaskResults(t *testing.T) {
	srv := newFakeGraph(t, serveFile(t, "task_results.json"))
	c := newTestClient(t, srv.URL)
	got, err := c.ListTaskResults(t.Context(), "wf-1", "run-1", "res-1")
	if err != nil {
		t.Fatal(err)
	}
	reason := "The user's manager is not set."
	want := []TaskProcessingResult{
		{
			ID: "tpr-1", ProcessingStatus: "completed",
			CreatedDateTime: ptime("2024-05-01T10:00:01.1234567Z"), StartedDateTime: ptime("2024-05-01T10:00:02Z"),
			CompletedDateTime: ptime("2024-05-01T10:00:03Z"), SubjectID: "user-1",
			Task: Task{ID: "task-1", DisplayName: "Disable user account", Description: "Disable user account in the directory",
				Category: "leaver", ExecutionSequence: 1, ContinueOnError: false},
		},
		{
			ID: "tpr-2", ProcessingStatus: "failed", FailureReason: &reason,
			CreatedDateTime: ptime("2024-05-01T10:00:01Z"), StartedDateTime: ptime("2024-05-01T10:00:04Z"),
			CompletedDateTime: ptime("2024-05-01T10:00:05Z"), SubjectID: "user-1",
			Task: Task{ID: "task-2", DisplayName: "Send email to manager", Category: "joiner,leaver",
				ExecutionSequence: 2, ContinueOnError: true},
		},
		{ID: "tpr-3", ProcessingStatus: "canceling"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListTaskResults() =\n%+v\nwant\n%+v", got, want)
	}
	r := srv.requests()[0]
	if got, want := r.URI, "/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf-1/runs/run-1/userProcessingResults/res-1/taskProcessingResults?$expand=task"; got != want {
		t.Errorf("request URI = %s, want %s", got, want)
	}
}

func TestListRunsAndWorkflows(t *testing.T) {
	runs := `{"value":[{"id":"wf_638","processingStatus":"completedWithErrors","workflowExecutionType":"scheduled",
		"scheduledDateTime":"2024-05-01T10:00:00Z","startedDateTime":"2024-05-01T10:00:01Z","completedDateTime":null,
		"lastUpdatedDateTime":"2024-05-01T10:09:00.5Z","failedTasksCount":1,"failedUsersCount":1,"successfulUsersCount":4,
		"totalTasksCount":10,"totalUnprocessedTasksCount":0,"totalUsersCount":5}]}`
	workflows := `{"value":[{"id":"wf-1","displayName":"Offboard","description":"leavers","category":"leaver","version":7,
		"isEnabled":true,"isSchedulingEnabled":false,"lastModifiedDateTime":"2024-04-01T00:00:00Z"},
		{"category":"joiner"}]}`
	srv := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/runs") {
			serveBody(200, runs)(w, r)
			return
		}
		serveBody(200, workflows)(w, r)
	})
	c := newTestClient(t, srv.URL)
	gotRuns, err := c.ListRuns(t.Context(), "wf-1", Query{Filter: Between("lastUpdatedDateTime",
		time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	wantRuns := []Run{{ID: "wf_638", ProcessingStatus: "completedWithErrors", WorkflowExecutionType: "scheduled",
		ScheduledDateTime: ptime("2024-05-01T10:00:00Z"), StartedDateTime: ptime("2024-05-01T10:00:01Z"),
		LastUpdatedDateTime: ptime("2024-05-01T10:09:00.5Z"), FailedTasksCount: 1, FailedUsersCount: 1,
		SuccessfulUsersCount: 4, TotalTasksCount: 10, TotalUsersCount: 5}}
	if !reflect.DeepEqual(gotRuns, wantRuns) {
		t.Errorf("ListRuns() =\n%+v\nwant\n%+v", gotRuns, wantRuns)
	}
	if got, want := srv.requests()[0].URI, "/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf-1/runs?$filter="+
		"lastUpdatedDateTime%20ge%202024-05-01T00%3A00%3A00Z%20and%20lastUpdatedDateTime%20le%202024-05-01T12%3A00%3A00Z"; got != want {
		t.Errorf("request URI = %s, want %s", got, want)
	}
	gotWF, err := c.ListWorkflows(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantWF := []Workflow{{ID: "wf-1", DisplayName: "Offboard", Description: "leavers", Category: "leaver", Version: 7,
		IsEnabled: true, IsEnabledKnown: true, LastModifiedDateTime: ptime("2024-04-01T00:00:00Z")}}
	if !reflect.DeepEqual(gotWF, wantWF) {
		t.Errorf("ListWorkflows() =\n%+v\nwant\n%+v", gotWF, wantWF)
	}
	if got, want := srv.requests()[1].URI, "/v1.0/identityGovernance/lifecycleWorkflows/workflows?$select=id,displayName,description,"+
		"category,version,isEnabled,isSchedulingEnabled,lastModifiedDateTime,nextScheduleRunDateTime,quarantineDetails"; got != want {
		t.Errorf("request URI = %s, want %s (the state in the one list request)", got, want)
	}
}

func TestSummaries(t *testing.T) {
	srv := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/runs/summary(") {
			serveBody(200, `{"@odata.context":"x","failedRuns":1,"failedTasks":2,"successfulRuns":3,"totalRuns":4,"totalTasks":5,"totalUsers":6}`)(w, r)
			return
		}
		serveBody(200, `{"failedTasks":1,"failedUsers":2,"successfulUsers":"3","totalTasks":4,"totalUsers":5}`)(w, r)
	})
	c := newTestClient(t, srv.URL)
	from, to := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	rs, err := c.RunSummary(t.Context(), "wf-1", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := (RunSummary{1, 2, 3, 4, 5, 6}); rs != want {
		t.Errorf("RunSummary() = %+v, want %+v", rs, want)
	}
	us, err := c.UserSummary(t.Context(), "wf-1", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := (UserSummary{FailedTasks: 1, FailedUsers: 2, TotalTasks: 4, TotalUsers: 5}); us != want {
		t.Errorf("UserSummary() = %+v, want %+v (a string count is 0)", us, want)
	}
	reqs := srv.requests()
	if got, want := reqs[0].URI, "/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf-1/runs/summary(startDateTime=2024-05-01T00:00:00Z,endDateTime=2024-05-02T00:00:00Z)"; got != want {
		t.Errorf("run summary URI = %s, want %s", got, want)
	}
	if got, want := reqs[1].URI, "/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf-1/userProcessingResults/summary(startDateTime=2024-05-01T00:00:00Z,endDateTime=2024-05-02T00:00:00Z)"; got != want {
		t.Errorf("user summary URI = %s, want %s", got, want)
	}
	if _, err := c.RunSummary(t.Context(), "wf-1", to, from); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("RunSummary(to, from) err = %v, want ErrInvalidQuery", err)
	}
}
