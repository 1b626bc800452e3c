package notifytest

import (
	"fmt"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// Hostile returns results whose Graph text tries everything a display name, a workflow
// name or a failure reason could do to a message: mention (<!channel>, <@U…>), link
// (<https://x|y>), format (*, _, ~, backticks), break lines, reorder text, or be huge.
// Renderers' golden files use them; their events are stable (fixed times and ids).
func Hostile() []Result {
	at := time.Date(2024, 5, 1, 8, 0, 5, 0, time.UTC)
	many := make([]events.TaskResult, 0, 60)
	for i := range 60 {
		many = append(many, FailedTask(fmt.Sprintf("Task %02d", i+1), fmt.Sprintf("Reason %02d: the directory refused the change.", i+1)))
	}
	return []Result{
		{
			WorkflowID: "wf-joiner", WorkflowName: "Onboard new hires", Category: "joiner", RunID: "run-1",
			ResultID: "upr-mention", UserName: "<!channel> Mallory", UPN: "mallory@contoso.example", Observed: at,
			Tasks: []events.TaskResult{
				CompletedTask("Generate TAP"),
				FailedTask("<@U0123ABCD> ping <!here>", "See <https://evil.example/login|Microsoft support> & call <tel:123|now>."),
			},
		},
		{
			WorkflowID: "wf-joiner", WorkflowName: "Onboard new hires", Category: "joiner", RunID: "run-1",
			ResultID: "upr-format", UserName: "*Eve* _the_ ~admin~ `rm -rf` first_last", UPN: "eve_admin@contoso.example", Observed: at,
			Tasks: []events.TaskResult{FailedTask("```code```", "> quoted *bold* _it_ ~s~ &amp; &lt;b&gt;")},
		},
		{
			WorkflowID: "wf-leaver", WorkflowName: "Offboard <script> & \"leavers\"\n• *fake line*", Category: "leaver", RunID: "run-2",
			ResultID: "upr-lines", UserName: "Line one\nLine two\u202egnp.exe\u200b", Observed: at, Status: "completedWithErrors",
			Tasks: []events.TaskResult{CompletedTask("Remove licences"), FailedTask("Remove from Teams", "first\r\nsecond\tthird\x1b[31mred")},
		},
		{
			WorkflowID: "wf-leaver", WorkflowName: "Offboard <script> & \"leavers\"\n• *fake line*", Category: "leaver", RunID: "run-2",
			ResultID: "upr-unreadable", UserID: "5b6e0c1a-0000-4000-8000-00000000abcd", Observed: at,
			Tasks: []events.TaskResult{{ProcessingStatus: "failed", Task: events.Task{DisplayName: "Delete account"}}},
		},
		{
			WorkflowID: "wf-mover", WorkflowName: "Mover: department change", Category: "mover", RunID: "run-3",
			ResultID: "upr-long", UserName: "Long Reason", UPN: "long@contoso.example", Observed: at,
			Tasks: []events.TaskResult{FailedTask("Update groups", strings.Repeat("The request & its <retry> failed again. ", 130))},
		},
		{
			WorkflowID: "wf-mover", WorkflowName: "Mover: department change", Category: "mover", RunID: "run-3",
			ResultID: "upr-many", UserName: "Many Tasks", UPN: "many@contoso.example", Observed: at,
			Tasks: many,
		},
	}
}

// HostileEvents returns the events of Hostile.
func HostileEvents() ([]*events.Event, error) {
	var evs []*events.Event
	for _, r := range Hostile() {
		ev, err := Event(r)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}
