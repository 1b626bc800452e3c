package digest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// noReason is what a failed task without a failureReason is counted under.
const noReason = "(no reason given)"

// reasons counts the failed tasks of the newest MaxSampled failures (failures sorted
// newest first), by task and reason, and returns the most common. A result Graph no
// longer has, or whose task results it refuses, is left out of the sample; any other
// failure stops the count and is returned with what was counted so far.
func (b *Builder) reasons(ctx context.Context, workflowID string, failures []graph.UserProcessingResult) ([]events.ReasonCount, events.ReasonSample, error) {
	sample := events.ReasonSample{Of: len(failures)}
	counts := map[[2]string]int{}
	for _, r := range failures[:min(len(failures), b.o.MaxSampled)] {
		tasks, err := b.o.Graph.ListTaskResults(ctx, workflowID, "", r.ID)
		switch {
		case err == nil:
		case errors.Is(err, graph.ErrNotFound), errors.Is(err, graph.ErrForbidden):
			continue
		default:
			return top(counts), sample, fmt.Errorf("result %s: %w", r.ID, err)
		}
		sample.Read++
		for _, t := range tasks {
			if t.ProcessingStatus != events.StatusFailed {
				continue
			}
			reason := noReason
			if t.FailureReason != nil && *t.FailureReason != "" {
				reason = *t.FailureReason
			}
			counts[[2]string{t.Task.DisplayName, reason}]++
		}
	}
	return top(counts), sample, nil
}

// top returns the TopReasons most common reasons, most common first, ties by task and
// reason so that the same figures always read the same.
func top(counts map[[2]string]int) []events.ReasonCount {
	out := make([]events.ReasonCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, events.ReasonCount{Task: k[0], Reason: k[1], Count: n})
	}
	slices.SortFunc(out, func(a, b events.ReasonCount) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Task, b.Task), cmp.Compare(a.Reason, b.Reason))
	})
	return out[:min(len(out), TopReasons)]
}

// unresolved returns the failures no later completed result of the same workflow for
// the same user follows within the period: one per user (their latest failure), newest
// first, at most MaxUnresolved with their user read, and how many there are in all.
func (b *Builder) unresolved(ctx context.Context, failures, completed []graph.UserProcessingResult) ([]events.Unresolved, int) {
	lastOK := map[string]time.Time{}
	for _, r := range completed {
		if t := completedAt(r); t.After(lastOK[r.SubjectID]) {
			lastOK[r.SubjectID] = t
		}
	}
	seen := map[string]bool{}
	var open []graph.UserProcessingResult
	for _, r := range failures { // newest first: the first of a user is their latest
		if seen[r.SubjectID] {
			continue
		}
		seen[r.SubjectID] = true
		if ok, has := lastOK[r.SubjectID]; has && ok.After(completedAt(r)) {
			continue
		}
		open = append(open, r)
	}
	out := make([]events.Unresolved, 0, min(len(open), b.o.MaxUnresolved))
	for _, r := range open[:min(len(open), b.o.MaxUnresolved)] {
		u := events.User{ID: r.SubjectID}
		if r.SubjectID != "" && ctx.Err() == nil {
			// A name is a comfort: any failure to read it leaves the id.
			if gu, err := b.o.Graph.LookupUser(ctx, r.SubjectID); err == nil {
				u.DisplayName, u.UserPrincipalName = gu.DisplayName, gu.UserPrincipalName
			}
		}
		out = append(out, events.Unresolved{ResultID: r.ID, User: u, Status: r.ProcessingStatus, CompletedAt: r.CompletedDateTime})
	}
	return out, len(open)
}

func completedAt(r graph.UserProcessingResult) time.Time {
	if r.CompletedDateTime == nil {
		return time.Time{}
	}
	return *r.CompletedDateTime
}

// repairedQuarantine writes q in Graph's shape from the values the client decoded, for
// a quarantineDetails whose members Graph sent malformed.
func repairedQuarantine(q *graph.QuarantineDetails) json.RawMessage {
	b, _ := json.Marshal(events.Quarantine{QuarantinedDateTime: q.QuarantinedDateTime,
		QuarantineReason: q.QuarantineReason, QuarantineType: q.QuarantineType})
	return b
}
