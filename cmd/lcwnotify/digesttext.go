package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lcwnotify/lcwnotify/events"
)

// writeDigestText writes a digest for a person reading a terminal or a mail from cron:
// a table of every workflow, then, for those with failures or stopped, the reasons,
// the failures still unresolved and the quarantine. Times are in loc. Text from Graph
// is printed without control characters, so that no name can move a terminal's cursor.
func writeDigestText(w io.Writer, d events.DigestData, loc *time.Location) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Lifecycle Workflows digest, %s to %s (%s)\n", localTime(d.Period.Start, loc), localTime(d.Period.End, loc), loc)
	if d.Period.Schedule != "" {
		fmt.Fprintf(&b, "Schedule %s in %s\n", d.Period.Schedule, d.Period.TimeZone)
	}
	fmt.Fprintf(&b, "Tenant %s\n\n", clean(d.TenantID))
	if len(d.Workflows) == 0 {
		b.WriteString("No workflows to report on.\n")
	} else {
		writeTable(&b, d.Workflows)
	}
	for _, wf := range d.Workflows {
		writeDetails(&b, wf, loc)
	}
	if d.Partial {
		b.WriteString("\nPARTIAL: Graph did not answer everything; the figures of these workflows are short:\n")
		for _, wf := range d.Workflows {
			if wf.Missing != "" {
				fmt.Fprintf(&b, "  %s: %s\n", name(wf), clean(wf.Missing))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tableColumns are the table's figures, right-aligned under their headings.
var tableColumns = []struct {
	head string
	get  func(events.WorkflowDigest) int
}{
	{"USERS", func(w events.WorkflowDigest) int { return w.Users.Processed }},
	{"SUCCEEDED", func(w events.WorkflowDigest) int { return w.Users.Succeeded }},
	{"FAILED", func(w events.WorkflowDigest) int { return w.Users.Failed }},
	{"WITH ERRORS", func(w events.WorkflowDigest) int { return w.Users.CompletedWithErrors }},
	{"UNRESOLVED", func(w events.WorkflowDigest) int { return w.UnresolvedTotal }},
	{"RUNS", func(w events.WorkflowDigest) int { return w.Runs.Total }},
	{"FAILED RUNS", func(w events.WorkflowDigest) int { return w.Runs.Failed }},
}

func writeTable(b *strings.Builder, wfs []events.WorkflowDigest) {
	nameW, stateW := len("WORKFLOW"), len("STATE")
	for _, wf := range wfs {
		nameW = max(nameW, width(name(wf)))
		stateW = max(stateW, width(stateWord(wf)))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-width(s))) }
	b.WriteString(pad("WORKFLOW", nameW) + "  " + pad("STATE", stateW))
	for _, c := range tableColumns {
		b.WriteString("  " + c.head)
	}
	b.WriteString("\n")
	for _, wf := range wfs {
		b.WriteString(pad(name(wf), nameW) + "  " + pad(stateWord(wf), stateW))
		for _, c := range tableColumns {
			fmt.Fprintf(b, "  %*d", len(c.head), c.get(wf))
		}
		b.WriteString("\n")
	}
}

func writeDetails(b *strings.Builder, wf events.WorkflowDigest, loc *time.Location) {
	q, _ := wf.State.Quarantine()
	quarantined := q.QuarantineType != "" && q.QuarantineType != "notQuarantined"
	disabled := !wf.State.IsEnabled && !stateUnknown(wf)
	if len(wf.TopReasons) == 0 && wf.UnresolvedTotal == 0 && !quarantined && !disabled {
		return
	}
	fmt.Fprintf(b, "\n%s\n", name(wf))
	if quarantined {
		since := ""
		if q.QuarantinedDateTime != nil {
			since = " since " + localTime(*q.QuarantinedDateTime, loc)
		}
		fmt.Fprintf(b, "  Quarantined%s (%s): %s\n", since, clean(q.QuarantineType), clean(q.QuarantineReason))
		b.WriteString("  Nobody it would process is processed until an administrator releases it in the Entra admin center.\n")
	}
	if disabled {
		b.WriteString("  Disabled: it runs neither on schedule nor on demand.\n")
	}
	if len(wf.TopReasons) > 0 {
		s := wf.ReasonSample
		of := fmt.Sprintf("the task results of all %d failures", s.Of)
		if s.Read < s.Of {
			of = fmt.Sprintf("the task results of the latest %d of %d failures", s.Read, s.Of)
		}
		fmt.Fprintf(b, "  Most common failure reasons (%s):\n", of)
		for _, r := range wf.TopReasons {
			fmt.Fprintf(b, "    %4d  %s: %s\n", r.Count, clean(r.Task), clean(r.Reason))
		}
	}
	if wf.UnresolvedTotal > 0 {
		fmt.Fprintf(b, "  Failures with no later success (%d, the latest of each user):\n", wf.UnresolvedTotal)
		for _, u := range wf.Unresolved {
			at := "                "
			if u.CompletedAt != nil {
				at = localTime(*u.CompletedAt, loc)
			}
			fmt.Fprintf(b, "    %s  %-19s  %s  (result %s)\n", at, clean(u.Status), userName(u.User), clean(u.ResultID))
		}
		if more := wf.UnresolvedTotal - len(wf.Unresolved); more > 0 {
			fmt.Fprintf(b, "    … and %d more\n", more)
		}
	}
}

// stateUnknown reports a workflow whose state Graph did not give: one it could not
// read at all.
func stateUnknown(wf events.WorkflowDigest) bool {
	st := wf.State
	return wf.Missing != "" && !st.IsEnabled && (len(st.QuarantineDetails) == 0 || string(st.QuarantineDetails) == "null")
}

// stateWord says in a word whether a workflow runs.
func stateWord(wf events.WorkflowDigest) string {
	if stateUnknown(wf) {
		return "unknown"
	}
	st := wf.State
	var words []string
	if q, _ := st.Quarantine(); q.QuarantineType != "" && q.QuarantineType != "notQuarantined" {
		words = append(words, "QUARANTINED")
	}
	switch {
	case !st.IsEnabled:
		words = append(words, "DISABLED")
	case !st.IsSchedulingEnabled:
		words = append(words, "not scheduled")
	}
	if len(words) == 0 {
		return "active"
	}
	return strings.Join(words, ", ")
}

func name(wf events.WorkflowDigest) string {
	if wf.Workflow.DisplayName == "" {
		return clean(wf.Workflow.ID)
	}
	return clean(wf.Workflow.DisplayName)
}

func userName(u events.User) string {
	switch {
	case u.DisplayName != "" && u.UserPrincipalName != "":
		return clean(u.DisplayName) + " <" + clean(u.UserPrincipalName) + ">"
	case u.DisplayName != "":
		return clean(u.DisplayName)
	case u.UserPrincipalName != "":
		return clean(u.UserPrincipalName)
	}
	return clean(u.ID)
}

func localTime(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02 15:04") }

// clean replaces control characters (escape sequences, newlines) with spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func width(s string) int { return utf8.RuneCountInString(s) }
