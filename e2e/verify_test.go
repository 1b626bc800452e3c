package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/harness"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
)

// listing is one result line of a Slack message: "• *u0042 Adele Vance* (upn) · :x:
// failed · 1 of 7 tasks failed".
type listing struct {
	msg     int // index in the fake's messages
	channel string
	ts      string
	status  string
	line    string
}

func (l listing) String() string {
	line := l.line
	if len(line) > 300 {
		line = line[:150] + " … " + line[len(line)-150:]
	}
	return fmt.Sprintf("message #%d in %s (ts %s): %q", l.msg, l.channel, l.ts, line)
}

// slackView is what Slack received, by result.
type slackView struct {
	byResult map[string][]listing
	// unknown are result lines that name no result of the tenant (history announced, or
	// a line the test cannot read).
	unknown  []listing
	messages int
}

// readSlack maps every result line of every message Slack accepted to the result it
// names.
func (tn *tenant) readSlack(msgs []slacktest.Message) slackView {
	v := slackView{byResult: map[string][]listing{}, messages: len(msgs)}
	for i, m := range msgs {
		lines := strings.Split(m.BlockText(), "\n")
		for j, line := range lines {
			if !strings.HasPrefix(line, "• ") {
				continue
			}
			key, status := parseLine(line)
			// A line longer than a section goes on in the next one.
			for k := j + 1; status == "" && k < len(lines) && k <= j+5; k++ {
				line += lines[k]
				key, status = parseLine(line)
			}
			l := listing{msg: i, channel: m.Channel, ts: m.TS, line: line, status: status}
			if id, ok := tn.lookup(key); ok {
				v.byResult[id] = append(v.byResult[id], l)
			} else {
				v.unknown = append(v.unknown, l)
			}
		}
	}
	return v
}

// parseLine returns what names the user on a result line — the first word between the
// first pair of asterisks: a user token, a UPN, or the id of a user that could not be
// read — and the status, the last word of the field after it. Text from Graph cannot
// hold an asterisk (Slack markup is neutralised), so the name ends at the second one.
func parseLine(line string) (key, status string) {
	_, rest, ok := strings.Cut(line, "*")
	if !ok {
		return "", ""
	}
	name, rest, _ := strings.Cut(rest, "*")
	if f := strings.Fields(name); len(f) > 0 {
		key = f[0]
	}
	if f := strings.Split(rest, " · "); len(f) >= 2 {
		if words := strings.Fields(f[1]); len(words) > 0 {
			status = words[len(words)-1]
		}
	}
	return key, status
}

// notifiedCount returns how many notifiable results are listed at least once, out of
// how many.
func notifiedCount(rs []result, v slackView) (listed, want int) {
	for _, r := range rs {
		if r.notifiable() {
			want++
			if len(v.byResult[r.ID]) > 0 {
				listed++
			}
		}
	}
	return listed, want
}

// slackProblems lists, one line each, every result notified other than exactly once
// (lost, doubled, or notified although it did not fail), in the wrong channel or with the
// wrong status, and every line naming no result. Nothing means exactly once.
// defaultChannel is the id of LCW_SLACK_CHANNEL.
func slackProblems(rs []result, v slackView, defaultChannel string) []string {
	var out []string
	for _, r := range rs {
		got := v.byResult[r.ID]
		switch {
		case r.notifiable() && len(got) == 0:
			out = append(out, fmt.Sprintf("LOST: %s is in no Slack message, want exactly one", r.String()))
		case r.notifiable() && len(got) > 1:
			out = append(out, fmt.Sprintf("DOUBLED: %s is listed %d times, want once: %v", r.String(), len(got), got))
		case r.History && len(got) > 0:
			out = append(out, fmt.Sprintf("HISTORY ANNOUNCED: %s finished before the first start, yet is listed %d times: %v", r.String(), len(got), got))
		case !r.notifiable() && len(got) > 0:
			out = append(out, fmt.Sprintf("FALSE: %s ended %s, which is not notified, but is listed %d times: %v", r.String(), r.final(), len(got), got))
		case len(got) == 1:
			if got[0].status != r.final() {
				out = append(out, fmt.Sprintf("WRONG STATUS: %s is listed as %q, want %q: %v", r.String(), got[0].status, r.final(), got[0]))
			}
			if want := r.channel(defaultChannel); got[0].channel != want {
				out = append(out, fmt.Sprintf("WRONG CHANNEL: %s is listed in %s, want %s", r.String(), got[0].channel, want))
			}
		}
	}
	for _, l := range v.unknown {
		out = append(out, fmt.Sprintf("UNEXPECTED: a result line naming no result the test changed (history announced?): %v", l))
	}
	return out
}

// streamView is the stream's change events by result.
type streamView struct {
	byResult map[string][]harness.StoredEvent
	problems []string
}

// readStream groups the change events by result and checks each message on its own:
// a decodable CloudEvent, Nats-Msg-Id equal to its id, the deterministic id of its
// result and status, on its subject, stored once.
func (tn *tenant) readStream(evs []harness.StoredEvent) streamView {
	v := streamView{byResult: map[string][]harness.StoredEvent{}}
	seqs := map[string][]uint64{}
	for _, se := range evs {
		if se.Err != nil {
			v.problems = append(v.problems, fmt.Sprintf("MALFORMED: stream message %d on %s: %v", se.Seq, se.Subject, se.Err))
			continue
		}
		ev := se.Event
		r, _ := ev.Data.Result()
		if se.MsgID != ev.ID {
			v.problems = append(v.problems, fmt.Sprintf("stream message %d: Nats-Msg-Id %q, event id %q", se.Seq, se.MsgID, ev.ID))
		}
		if want := events.ID(ev.Data.Workflow.ID, r.ID, r.ProcessingStatus); ev.ID != want {
			v.problems = append(v.problems, fmt.Sprintf("stream message %d: id %q, want the deterministic %q", se.Seq, ev.ID, want))
		}
		if want := events.ResultSubject(prefix, ev.Data.Workflow.ID, r.ProcessingStatus); se.Subject != want {
			v.problems = append(v.problems, fmt.Sprintf("stream message %d: subject %q, want %q", se.Seq, se.Subject, want))
		}
		seqs[ev.ID] = append(seqs[ev.ID], se.Seq)
		if len(seqs[ev.ID]) == 2 {
			v.problems = append(v.problems, fmt.Sprintf("DOUBLED EVENT: result %s entering %s stored more than once (event %s)", r.ID, r.ProcessingStatus, ev.ID))
		}
		v.byResult[r.ID] = append(v.byResult[r.ID], se)
	}
	for id, s := range seqs {
		if len(s) > 1 {
			v.problems = append(v.problems, fmt.Sprintf("event %s stored at sequences %v", id, s))
		}
	}
	return v
}

// statuses returns the statuses and previous statuses of a result's events, in order.
func statuses(evs []harness.StoredEvent) (sts, prevs []string) {
	for _, se := range evs {
		r, _ := se.Event.Data.Result()
		sts = append(sts, r.ProcessingStatus)
		prev := "null"
		if p := se.Event.Data.PreviousProcessingStatus; p != nil {
			prev = *p
		}
		prevs = append(prevs, prev)
	}
	return sts, prevs
}

// caughtUp reports whether the stream holds, for every result, an event for its final
// status, and says how many do not.
func caughtUp(rs []result, v streamView) (bool, string) {
	var behind []string
	for _, r := range rs {
		if r.History {
			continue
		}
		sts, _ := statuses(v.byResult[r.ID])
		if len(sts) == 0 || sts[len(sts)-1] != r.final() {
			behind = append(behind, fmt.Sprintf("%s: events %v, Graph ended %s", r.ID, sts, r.final()))
		}
	}
	if len(behind) == 0 {
		return true, ""
	}
	if len(behind) > 5 {
		behind = append(behind[:5], "…")
	}
	return false, fmt.Sprintf("%d results' final status not in the stream yet: %s", len(behind), strings.Join(behind, "; "))
}

// streamProblems checks the stream against the truth. Every result not history has
// events ending with its final status, each for a status it had, in the order it had
// them, each naming as previous status one it had before (nil only on first sighting);
// history has none, and there is no event for a result the test did not create.
//
// exact also requires an event for every status, each naming the one before: true when
// the test let the watcher see each status before setting the next.
func streamProblems(rs []result, v streamView, exact bool) []string {
	out := slices.Clone(v.problems)
	known := map[string]bool{}
	for _, r := range rs {
		known[r.ID] = true
		evs := v.byResult[r.ID]
		sts, prevs := statuses(evs)
		switch {
		case r.History && len(evs) > 0:
			out = append(out, fmt.Sprintf("HISTORY ANNOUNCED: %s finished before the first start, yet has events %v", r.String(), sts))
			continue
		case r.History:
			continue
		case len(evs) == 0:
			out = append(out, fmt.Sprintf("LOST EVENTS: %s has no event in the stream", r.String()))
			continue
		case sts[len(sts)-1] != r.final():
			out = append(out, fmt.Sprintf("LOST EVENT: %s ended %s, but its last event is %s (events %v)", r.String(), r.final(), sts[len(sts)-1], sts))
		}
		if exact {
			wantPrev := append([]string{"null"}, r.Statuses[:len(r.Statuses)-1]...)
			if !slices.Equal(sts, r.Statuses) || !slices.Equal(prevs, wantPrev) {
				out = append(out, fmt.Sprintf("EVENTS: %s has events %v with previous %v, want %v with previous %v", r.String(), sts, prevs, r.Statuses, wantPrev))
			}
			continue
		}
		pos := -1 // position in r.Statuses of the last event's status
		for i, st := range sts {
			at := slices.Index(r.Statuses[pos+1:], st)
			if at < 0 {
				out = append(out, fmt.Sprintf("EVENTS OUT OF ORDER: %s has events %v; %q is not a later status of it", r.String(), sts, st))
				break
			}
			at += pos + 1
			if prevs[i] != "null" && !slices.Contains(r.Statuses[:at], prevs[i]) {
				out = append(out, fmt.Sprintf("WRONG PREVIOUS: %s: event %q names previous %q, not a status it had before", r.String(), st, prevs[i]))
			}
			pos = at
		}
	}
	for id, evs := range v.byResult {
		if !known[id] {
			sts, _ := statuses(evs)
			out = append(out, fmt.Sprintf("UNEXPECTED EVENTS: result %s, which the test never created or changed (history announced?), has events %v", id, sts))
		}
	}
	return out
}

// report fails the test with every problem, one per line, under a summary.
func report(t *testing.T, what string, problems []string) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	const max = 40
	shown := problems
	if len(shown) > max {
		shown = append(shown[:max:max], fmt.Sprintf("… and %d more", len(problems)-max))
	}
	t.Errorf("%s: %d problems:\n  %s", what, len(problems), strings.Join(shown, "\n  "))
}
