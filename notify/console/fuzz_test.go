package console_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/console"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// FuzzRender renders a result built from arbitrary Graph text. The output goes to a
// terminal or a log collector: it must hold no control character but the line ends
// (no escape sequence, carriage return or tab), no invisible format character (a
// bidirectional override could reorder what is shown), no line separator that would
// fake a line, and still name the user and every failure reason. Seeds:
// testdata/fuzz/FuzzRender.
//
//	go test -run '^$' -fuzz '^FuzzRender$' -fuzztime 60s ./notify/console
func FuzzRender(f *testing.F) {
	f.Add("Onboard new hires", "wf-1", "joiner", "Ada Lovelace", "ada@contoso.example", "Add to groups", "The group does not exist.", "failed")
	f.Add("Offboard\x1b[2J\r\n", "wf\u202e1", "leaver\t", "Mallory\u2028  user: admin", "\x00\x7f\u0085", "Task\u200b", "first\r\nsecond\x1b]0;title\x07", "completedWithErrors\u2029")
	f.Fuzz(func(t *testing.T, wfName, wfID, category, user, upn, task, reason, status string) {
		ev, err := notifytest.Event(notifytest.Result{
			WorkflowID: wfID, WorkflowName: wfName, Category: category, Status: status,
			UserName: user, UPN: upn, Observed: time.Date(2024, 5, 1, 8, 0, 5, 0, time.UTC),
			Tasks: []events.TaskResult{notifytest.FailedTask(task, reason), notifytest.CompletedTask(task)},
		})
		if err != nil {
			return // not an event Graph's JSON could carry
		}
		s := notify.Summarize(ev, "")
		out := console.Render(&s)
		if !strings.HasSuffix(out, "\n\n") {
			t.Fatalf("output does not end in a blank line: %q", out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("output is not valid UTF-8: %q", out)
		}
		for i, r := range out {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp)) {
				t.Fatalf("output holds %U at %d: %q", r, i, out)
			}
		}
		for _, want := range []string{s.User, s.FailedTasks[0].Reason} {
			if !strings.Contains(out, want) {
				t.Fatalf("output does not carry %q: %q", want, out)
			}
		}
	})
}
