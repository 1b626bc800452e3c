package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// Graph is what a Builder reads; *graph.Client implements it. Implementations must be
// safe for concurrent use and return errors matching graph.ErrNotFound and
// graph.ErrForbidden for 404 and 403.
type Graph interface {
	ListWorkflows(ctx context.Context) ([]graph.Workflow, error)
	GetWorkflow(ctx context.Context, id string) (graph.Workflow, error)
	ListResults(ctx context.Context, workflowID string, q graph.Query) ([]graph.UserProcessingResult, error)
	ListTaskResults(ctx context.Context, workflowID, runID, resultID string) ([]graph.TaskProcessingResult, error)
	LookupUser(ctx context.Context, id string) (graph.User, error)
	UserSummary(ctx context.Context, workflowID string, from, to time.Time) (graph.UserSummary, error)
	RunSummary(ctx context.Context, workflowID string, from, to time.Time) (graph.RunSummary, error)
	TenantID(ctx context.Context) (string, error)
}

var _ Graph = (*graph.Client)(nil)

// Defaults of Options.
const (
	// DefaultMaxSampled bounds the failed results of one workflow whose task results are
	// read for its failure reasons: one request each.
	DefaultMaxSampled = 25
	// DefaultMaxUnresolved bounds the unresolved failures a workflow lists (each with
	// its user read); UnresolvedTotal still counts them all.
	DefaultMaxUnresolved = 10
	// DefaultConcurrency is how many workflows are read at once.
	DefaultConcurrency = 4
	// TopReasons is how many failure reasons a workflow's digest names.
	TopReasons = 5
)

// Options configure a Builder. Graph is required.
type Options struct {
	Graph Graph
	// Workflows are the ids to report on (LCW_WORKFLOWS); empty: every workflow.
	Workflows []string
	// MaxSampled, MaxUnresolved and Concurrency default to the constants above.
	MaxSampled, MaxUnresolved, Concurrency int
	// Progress, when set, is told after each workflow how many of how many are done.
	// It is called from the reading goroutines, one call at a time.
	Progress func(done, total int)
	// Logger receives what could not be read. Default: discard.
	Logger *slog.Logger
}

// Builder reads what a digest says from Graph. Create it with New; it is safe for
// concurrent use.
type Builder struct {
	o Options
}

// New checks o and returns a Builder.
func New(o Options) (*Builder, error) {
	if o.Graph == nil {
		return nil, errors.New("digest: Graph is required")
	}
	if o.MaxSampled <= 0 {
		o.MaxSampled = DefaultMaxSampled
	}
	if o.MaxUnresolved <= 0 {
		o.MaxUnresolved = DefaultMaxUnresolved
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Builder{o: o}, nil
}

// Build reads the digest of period p: for each watched workflow its state now and its
// figures for [p.Start, p.End). A workflow whose figures could not all be read says so
// in Missing and makes the digest Partial; Build never presents a partial digest as
// whole. Its error is for what leaves nothing to report: the tenant or the list of
// workflows could not be read, or ctx ended.
func (b *Builder) Build(ctx context.Context, p events.Period) (events.DigestData, error) {
	if !p.End.After(p.Start) {
		return events.DigestData{}, fmt.Errorf("digest: period %s to %s is empty", p.Start, p.End)
	}
	tenant, err := b.o.Graph.TenantID(ctx)
	if err != nil {
		return events.DigestData{}, fmt.Errorf("digest: tenant id: %w", err)
	}
	wfs, err := b.workflows(ctx)
	if err != nil {
		return events.DigestData{}, err
	}
	out := make([]events.WorkflowDigest, len(wfs))
	sem := make(chan struct{}, b.o.Concurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for i, wf := range wfs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = b.workflow(ctx, wf, p)
			if b.o.Progress != nil {
				mu.Lock()
				done++
				b.o.Progress(done, len(wfs))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return events.DigestData{}, fmt.Errorf("digest: %w", err)
	}
	d := events.DigestData{TenantID: tenant, Period: p, Workflows: out}
	for _, w := range out {
		if w.Missing != "" {
			d.Partial = true
		}
	}
	return d, nil
}

// known is a workflow to report on, or the id of a named one Graph would not give and
// why.
type known struct {
	wf      graph.Workflow
	missing string
}

// workflows returns the workflows to report on, in Graph's order; a workflow named in
// Options.Workflows that the list lacks is read alone.
func (b *Builder) workflows(ctx context.Context) ([]known, error) {
	all, err := b.o.Graph.ListWorkflows(ctx)
	if err != nil {
		return nil, fmt.Errorf("digest: list workflows: %w", err)
	}
	var out []known
	if len(b.o.Workflows) == 0 {
		for _, wf := range all {
			if !slices.ContainsFunc(out, func(k known) bool { return k.wf.ID == wf.ID }) {
				out = append(out, known{wf: wf})
			}
		}
		return out, nil
	}
	for _, id := range b.o.Workflows {
		if slices.ContainsFunc(out, func(k known) bool { return k.wf.ID == id }) {
			continue
		}
		i := slices.IndexFunc(all, func(wf graph.Workflow) bool { return wf.ID == id })
		if i >= 0 {
			out = append(out, known{wf: all[i]})
			continue
		}
		wf, err := b.o.Graph.GetWorkflow(ctx, id)
		switch {
		case err == nil:
			out = append(out, known{wf: wf})
		case ctx.Err() != nil:
			return nil, fmt.Errorf("digest: %w", ctx.Err())
		case errors.Is(err, graph.ErrNotFound):
			out = append(out, known{wf: graph.Workflow{ID: id}, missing: "LCW_WORKFLOWS names it, but Graph does not know this workflow"})
		default:
			out = append(out, known{wf: graph.Workflow{ID: id}, missing: "workflow: " + err.Error()})
		}
	}
	return out, nil
}

// workflow reads what the digest says of one workflow. Whatever fails is named in
// Missing; the rest is still reported.
func (b *Builder) workflow(ctx context.Context, k known, p events.Period) events.WorkflowDigest {
	wf := k.wf
	out := events.WorkflowDigest{
		Workflow: events.Workflow{ID: wf.ID, DisplayName: wf.DisplayName, Category: wf.Category, Version: wf.Version},
		State:    StateOf(wf),
	}
	var missing []string
	if k.missing != "" {
		out.Missing = k.missing
		return out
	}
	miss := func(what string, err error) {
		b.o.Logger.Warn("digest: cannot read part of a workflow's figures; the digest says so", "workflow", wf.ID, "what", what, "err", err)
		missing = append(missing, what+": "+err.Error())
	}
	if us, err := b.o.Graph.UserSummary(ctx, wf.ID, p.Start, p.End); err != nil {
		miss("user summary", err)
	} else {
		out.Users.Processed, out.Users.Succeeded = us.TotalUsers, us.SuccessfulUsers
	}
	if rs, err := b.o.Graph.RunSummary(ctx, wf.ID, p.Start, p.End); err != nil {
		miss("run summary", err)
	} else {
		out.Runs = events.RunCounts{Total: rs.TotalRuns, Succeeded: rs.SuccessfulRuns, Failed: rs.FailedRuns}
	}
	lists := map[string][]graph.UserProcessingResult{}
	for _, status := range []string{events.StatusFailed, events.StatusCompletedWithErrors, events.StatusCompleted} {
		rs, err := b.o.Graph.ListResults(ctx, wf.ID, completedIn(p, status))
		if err != nil {
			miss(status+" results", err)
			continue
		}
		lists[status] = rs
	}
	out.Users.Failed = len(lists[events.StatusFailed])
	out.Users.CompletedWithErrors = len(lists[events.StatusCompletedWithErrors])
	failures := append(slices.Clone(lists[events.StatusFailed]), lists[events.StatusCompletedWithErrors]...)
	newestFirst(failures)

	var err error
	out.TopReasons, out.ReasonSample, err = b.reasons(ctx, wf.ID, failures)
	if err != nil {
		miss("task results", err)
	}
	if _, ok := lists[events.StatusCompleted]; ok || len(failures) == 0 {
		out.Unresolved, out.UnresolvedTotal = b.unresolved(ctx, failures, lists[events.StatusCompleted])
	}
	out.Missing = strings.Join(missing, "; ")
	return out
}

// completedIn lists the results that reached status during p. The lists filter on
// completedDateTime so that every final result falls in exactly one period, whichever
// day its run was scheduled.
func completedIn(p events.Period, status string) graph.Query {
	return graph.Query{Filter: graph.Where("completedDateTime", graph.Ge, p.Start).
		And(graph.Where("completedDateTime", graph.Lt, p.End), graph.Where("processingStatus", graph.Eq, status))}
}

// newestFirst sorts results by completedDateTime, newest first, then by id.
func newestFirst(rs []graph.UserProcessingResult) {
	slices.SortStableFunc(rs, func(a, b graph.UserProcessingResult) int {
		if c := completedAt(b).Compare(completedAt(a)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// StateOf returns a workflow's state as workflow events and digests carry it:
// quarantineDetails as Graph sent it where it can be read back, else as the client
// decoded it (a malformed member dropped), null when Graph gave none usable.
func StateOf(wf graph.Workflow) events.WorkflowState {
	st := events.WorkflowState{IsEnabled: wf.IsEnabled, IsSchedulingEnabled: wf.IsSchedulingEnabled,
		NextScheduleRunDateTime: wf.NextScheduleRunDateTime}
	if q := wf.QuarantineDetails; q != nil {
		st.QuarantineDetails = q.Raw
		if _, err := st.Quarantine(); err != nil || len(q.Raw) == 0 {
			st.QuarantineDetails = repairedQuarantine(q)
		}
	}
	return st
}
