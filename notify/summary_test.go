package notify_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

func TestSummarize(t *testing.T) {
	observed := time.Date(2024, 5, 1, 8, 0, 5, 0, time.UTC)
	reason := "The user's manager is not set."
	empty := ""
	tests := []struct {
		name string
		in   notifytest.Result
		want notify.Summary
	}{
		{
			name: "display name and UPN",
			in: notifytest.Result{
				WorkflowID: "wf-1", ResultID: "upr-1", UserName: "Adele Vance", UPN: "adele@contoso.example", Observed: observed,
				Tasks: []events.TaskResult{notifytest.CompletedTask("Generate TAP"), notifytest.FailedTask("Send welcome email", reason)},
			},
			want: notify.Summary{
				User: "Adele Vance", UserDetail: "adele@contoso.example", UserReadable: true,
				Status: "failed", Failed: 1, Total: 2,
				FailedTasks: []notify.FailedTask{{Name: "Send welcome email", Status: "failed", Reason: reason}},
			},
		},
		{
			name: "unreadable user falls back to the id",
			in:   notifytest.Result{UserID: "3f2a-guid", Observed: observed, Tasks: []events.TaskResult{}},
			want: notify.Summary{User: "3f2a-guid", Status: "failed"},
		},
		{
			name: "UPN only",
			in:   notifytest.Result{UPN: "svc@contoso.example", Observed: observed, Tasks: []events.TaskResult{}},
			want: notify.Summary{User: "svc@contoso.example", UserReadable: true, Status: "failed"},
		},
		{
			name: "failed task without a reason, counters behind the list",
			in: notifytest.Result{
				UserName: "Bo", Status: "completedWithErrors", Total: 1, Observed: observed,
				Tasks: []events.TaskResult{{ProcessingStatus: "failed", FailureReason: &empty, Task: events.Task{DisplayName: "Remove licences"}},
					notifytest.FailedTask("Remove from teams", "Access denied")},
			},
			want: notify.Summary{
				User: "Bo", UserReadable: true, Status: "completedWithErrors", Failed: 2, Total: 2,
				FailedTasks: []notify.FailedTask{
					{Name: "Remove licences", Status: "failed", Reason: notify.NoReason},
					{Name: "Remove from teams", Status: "failed", Reason: "Access denied"},
				},
			},
		},
		{
			name: "text from Graph is put on one line",
			in: notifytest.Result{UserName: "Eve\n• *Real User* — completed\u202e", Observed: observed,
				Tasks: []events.TaskResult{notifytest.FailedTask("Task\tone", "line 1\r\nline 2\x1b[31m")}},
			want: notify.Summary{
				User: "Eve • *Real User* — completed", UserReadable: true, Status: "failed", Failed: 1, Total: 1,
				FailedTasks: []notify.FailedTask{{Name: "Task one", Status: "failed", Reason: "line 1 line 2 [31m"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := notifytest.Event(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got := notify.Summarize(ev, "")
			// The fields every case shares.
			if got.EventID != ev.ID || got.ResultID != ev.Subject || !got.Observed.Equal(observed) || got.UserID != ev.Data.User.ID || got.UserID == "" {
				t.Errorf("Summarize ids/time = %q %q %v, want %q %q %v", got.EventID, got.ResultID, got.Observed, ev.ID, ev.Subject, observed)
			}
			wantURL := "https://entra.microsoft.com/#view/Microsoft_AAD_LifecycleManagement/DetailedWorkflowMenuBlade/~/overview/workflowId/" + ev.Data.Workflow.ID
			if got.WorkflowURL != wantURL {
				t.Errorf("WorkflowURL = %q, want %q", got.WorkflowURL, wantURL)
			}
			got.EventID, got.ResultID, got.RunID, got.Observed, got.WorkflowURL, got.Workflow, got.UserID = "", "", "", time.Time{}, "", events.Workflow{}, ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Summarize =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestWorkflowURL(t *testing.T) {
	tests := []struct{ base, id, want string }{
		{"", "wf-1", notify.DefaultAdminCenterURL + "/#view/Microsoft_AAD_LifecycleManagement/DetailedWorkflowMenuBlade/~/overview/workflowId/wf-1"},
		{"https://entra.microsoft.us/", "a|b>c/d", "https://entra.microsoft.us/#view/Microsoft_AAD_LifecycleManagement/DetailedWorkflowMenuBlade/~/overview/workflowId/a%7Cb%3Ec%2Fd"},
	}
	for _, tc := range tests {
		if got := notify.WorkflowURL(tc.base, tc.id); got != tc.want {
			t.Errorf("WorkflowURL(%q, %q) = %q, want %q", tc.base, tc.id, got, tc.want)
		}
	}
}

// TestSummarizeFollowUp: a completion names its user by id alone (the watcher reads
// users for failures only); following a failure the Stage read back, it is named as the
// failure named them, and only if that failure is the same user's.
func TestSummarizeFollowUp(t *testing.T) {
	event := func(r notifytest.Result) *events.Event {
		t.Helper()
		ev, err := notifytest.Event(r)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	failure := event(notifytest.Result{ResultID: "upr-1", UserID: "u-alex", UserName: "Alex Wilber", UPN: "alex@contoso.example"})
	bare := event(notifytest.Result{ResultID: "upr-2", UserID: "u-alex", Status: "completed"})
	named := event(notifytest.Result{ResultID: "upr-2", UserID: "u-alex", UserName: "Alex W.", Status: "completed"})
	otherUser := event(notifytest.Result{ResultID: "upr-9", UserID: "u-megan", UserName: "Megan Bowen"})
	unreadable := event(notifytest.Result{ResultID: "upr-1", UserID: "u-alex"})
	follows := func(ev *events.Event) *notify.Incident {
		return &notify.Incident{Original: &notify.Notification{Event: ev}}
	}
	tests := []struct {
		name       string
		n          *notify.Notification
		user, upn  string
		isReadable bool
	}{
		{"named as the failure it resolves", &notify.Notification{Event: bare, Follows: follows(failure)}, "Alex Wilber", "alex@contoso.example", true},
		{"its own name first", &notify.Notification{Event: named, Follows: follows(failure)}, "Alex W.", "", true},
		{"no incident", &notify.Notification{Event: bare}, "u-alex", "", false},
		{"the failure not read back", &notify.Notification{Event: bare, Follows: &notify.Incident{}}, "u-alex", "", false},
		{"another user's failure", &notify.Notification{Event: bare, Follows: follows(otherUser)}, "u-alex", "", false},
		{"the failure's user unreadable too", &notify.Notification{Event: bare, Follows: follows(unreadable)}, "u-alex", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := notify.SummarizeFollowUp(tc.n, "")
			if got.User != tc.user || got.UserDetail != tc.upn || got.UserReadable != tc.isReadable {
				t.Errorf("user %q (%q, readable %t), want %q (%q, readable %t)", got.User, got.UserDetail, got.UserReadable, tc.user, tc.upn, tc.isReadable)
			}
			if got.Status != "completed" || got.ResultID != "upr-2" {
				t.Errorf("status %s of %s: want the completion's own", got.Status, got.ResultID)
			}
		})
	}
}
