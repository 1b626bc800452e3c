package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/status"
)

// The operator commands' output: text for people, or with --json the same data as the
// API's, for scripts. Text from Graph was cleaned (one line, no control characters) when
// the report was made, so it cannot move a terminal's cursor.

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func since(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if d := now.Sub(t); d >= 0 {
		return d.Round(time.Second).String() + " ago"
	}
	return "in " + t.Sub(now).Round(time.Second).String()
}

func printStatus(w io.Writer, rep *status.Report, asJSON bool) error {
	if asJSON {
		return writeJSONTo(w, rep)
	}
	now := rep.Generated
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	wt := rep.Watcher
	switch {
	case wt.Live:
		fmt.Fprintf(tw, "Watcher\tpolling: the lease is held by %s, renewed %s\n", wt.Holder, since(now, wt.Renewed))
	case wt.Holder != "":
		fmt.Fprintf(tw, "Watcher\tNOT POLLING: the lease of %s was last renewed %s\n", wt.Holder, since(now, wt.Renewed))
	default:
		fmt.Fprintf(tw, "Watcher\tNOT POLLING: no watcher has held the lease\n")
	}
	if l := wt.Local; l != nil {
		switch {
		case l.GraphRefusal != "":
			fmt.Fprintf(tw, "Graph\tREFUSING: %s\n", l.GraphRefusal)
		case l.Throttled > 0:
			fmt.Fprintf(tw, "Graph\tthrottled: waited %s on %d answers in the last %s\n", time.Duration(l.Throttled), l.ThrottledAnswers, time.Duration(l.ThrottleWindow))
		default:
			fmt.Fprintf(tw, "Graph\tanswering, no throttling in the last %s\n", time.Duration(l.ThrottleWindow))
		}
	}
	for _, p := range wt.Workflows {
		next := "—"
		if !p.NextPoll.IsZero() {
			next = since(now, p.NextPoll)
		}
		overdue := ""
		if p.Overdue {
			overdue = "  OVERDUE"
		}
		mode := ""
		if p.Mode != "" {
			mode = fmt.Sprintf(" (%s: %s)", p.Mode, p.Reason)
		}
		fmt.Fprintf(tw, "  %s\tlast poll %s, next %s%s%s\n", label(p.Name, p.ID), since(now, p.LastPoll), next, mode, overdue)
	}
	for _, a := range rep.Workflows {
		fmt.Fprintf(tw, "Workflow\t%s %s since %s %s\n", strings.ToUpper(a.Change), label(a.Workflow.DisplayName, a.Workflow.ID), stamp(a.Since), a.Reason)
	}
	for _, d := range rep.Destinations {
		line := fmt.Sprintf("backlog %d, %d dead letters", d.Backlog, d.DeadLetters)
		if l := d.Local; l != nil {
			line += ", last success " + since(now, l.LastSuccess)
			if l.LastError != "" && l.LastErrorAt.After(l.LastSuccess) {
				line += ", FAILING since " + since(now, l.LastErrorAt) + ": " + l.LastError
			}
		}
		fmt.Fprintf(tw, "Destination\t%s: %s\n", d.Sink, line)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(tw, "Problem\t%s\n", p)
	}
	tw.Flush()

	f := rep.Failures
	fmt.Fprintf(w, "\nFailures in the last %s: %d", window(time.Duration(f.Window)), f.Matching)
	if len(f.Items) < f.Matching {
		fmt.Fprintf(w, " (the newest %d shown; --limit shows more)", len(f.Items))
	}
	fmt.Fprintln(w)
	if len(f.Items) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEEN (UTC)\tWORKFLOW\tUSER\tSTATUS\tSTATE\tTOLD")
		for _, x := range f.Items {
			var told []string
			for _, d := range x.Deliveries {
				s := d.Sink + " " + d.State
				if d.Key != "" && d.Key != d.Sink {
					s += " " + d.Key
				}
				if d.Link != "" {
					s += " " + d.Link
				}
				told = append(told, s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(x.Observed), label(x.Workflow.DisplayName, x.Workflow.ID), x.User, x.Status, x.State, strings.Join(told, "; "))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nDead letters: %d\n", len(rep.DeadLetters))
	if len(rep.DeadLetters) > 0 {
		fmt.Fprintln(w, "  lcwnotify dlq list shows them; fix the cause, then lcwnotify dlq replay ID (or --all)")
	}
	return nil
}

// window writes a span in days where it is whole days.
func window(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

func label(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

func printDeadLetters(w io.Writer, dls []status.DeadLetter, asJSON bool) error {
	if asJSON {
		if dls == nil {
			dls = []status.DeadLetter{}
		}
		return writeJSONTo(w, dls)
	}
	if len(dls) == 0 {
		fmt.Fprintln(w, "No dead letters.")
		return nil
	}
	for i, dl := range dls {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  %s UTC  %s  %d attempts\n", dl.ID, stamp(dl.Time), dl.Reason, dl.Attempts)
		what := []string{}
		if dl.Workflow != nil {
			what = append(what, label(dl.Workflow.DisplayName, dl.Workflow.ID))
		}
		for _, s := range []string{dl.User, dl.Status, dl.EventID} {
			if s != "" {
				what = append(what, s)
			}
		}
		fmt.Fprintf(w, "  event     %s\n", strings.Join(what, " · "))
		fmt.Fprintf(w, "  error     %s\n", dl.Error)
		switch {
		case dl.Replayed != nil:
			fmt.Fprintf(w, "  replayed  %s UTC\n", stamp(dl.Replayed.At))
		case !dl.Replayable:
			fmt.Fprintf(w, "  replay    not possible: the message is no readable event\n")
		default:
			fmt.Fprintf(w, "  replay    lcwnotify dlq replay %s\n", dl.ID)
		}
	}
	return nil
}

func printOutcomes(w io.Writer, out []status.ReplayOutcome, asJSON bool) error {
	failed := false
	for _, o := range out {
		failed = failed || o.Result == status.ReplayFailed || o.Result == status.ReplayUnknown
	}
	if asJSON {
		if out == nil {
			out = []status.ReplayOutcome{}
		}
		if err := writeJSONTo(w, out); err != nil {
			return err
		}
	} else {
		if len(out) == 0 {
			fmt.Fprintln(w, "No dead letters to replay.")
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, o := range out {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", o.ID, o.Result, o.Error)
		}
		tw.Flush()
	}
	if failed {
		return errReported
	}
	return nil
}

func printPeriod(w io.Writer, res *status.PeriodResult, asJSON bool) error {
	failed := res.Counts[status.ReplayFailed] > 0
	if asJSON {
		if err := writeJSONTo(w, res); err != nil {
			return err
		}
	} else if res.DryRun {
		fmt.Fprintf(w, "Would announce %d failures since %s UTC to %s (dry run: nothing sent):\n", len(res.Failures), stamp(res.Since), res.To)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range res.Failures {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", stamp(f.Observed), label(f.Workflow.DisplayName, f.Workflow.ID), f.User, f.Status, f.EventID)
		}
		tw.Flush()
	} else {
		var parts []string
		for _, k := range []string{status.ReplaySent, status.ReplayAlready, status.ReplayNotTaken, status.ReplayFailed} {
			if n := res.Counts[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, k))
			}
		}
		if len(parts) == 0 {
			parts = []string{"nothing to send"}
		}
		fmt.Fprintf(w, "Replay %s of %d failures since %s UTC to %s: %s.\n", res.Name, len(res.Failures), stamp(res.Since), res.To, strings.Join(parts, ", "))
		for _, e := range res.Errors {
			fmt.Fprintf(w, "  error: %s\n", e)
		}
		if failed {
			fmt.Fprintf(w, "Fix the cause, then run the same command with --name %s: what was sent is not sent again.\n", res.Name)
		}
	}
	if failed {
		return errReported
	}
	return nil
}
