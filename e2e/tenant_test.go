package e2e

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
)

// notifyStatuses are the statuses lcwnotify notifies by default.
var notifyStatuses = []string{events.StatusFailed, events.StatusCompletedWithErrors}

// tenant drives the simulated tenant and remembers the truth: every result the test
// created and each status it set, in order. Every result gets a user of its own whose
// display name starts with a token ("u0042"), so that a Slack line names its result.
type tenant struct {
	sim *graphsim.Sim

	mu      sync.Mutex
	results map[string]*result
	order   []string
	byKey   map[string]string // user token, user id or UPN → result id
	users   int
}

// result is what the test did to one userProcessingResult.
type result struct {
	ID, Workflow, Category, RunID string
	UserID, UserName, UPN         string
	// Access says whether lcwnotify may read the user (name and UPN) from Graph.
	Access graphsim.UserAccess
	// Statuses are the statuses set in Graph, the first one included, in order.
	Statuses []string
	// History: the result finished before lcwnotify's first start, beyond its lookback;
	// it must never be announced.
	History bool
}

func (r result) final() string { return r.Statuses[len(r.Statuses)-1] }

// notifiable reports whether the result must be notified: it ended in a status that is
// notified, and not before lcwnotify's first start.
func (r result) notifiable() bool { return !r.History && slices.Contains(notifyStatuses, r.final()) }

// channel is the Slack channel id the result's notification belongs in, given the id of
// the default channel.
func (r result) channel(defaultChannel string) string {
	if r.Category == graphsim.CategoryLeaver {
		return leaverChannel
	}
	return defaultChannel
}

func (r result) String() string {
	h := ""
	if r.History {
		h = ", history"
	}
	return fmt.Sprintf("%s (user %q, %s workflow %s, statuses %v%s)", r.ID, clip(r.UserName, 60), r.Category, r.Workflow, r.Statuses, h)
}

func newTenant(sim *graphsim.Sim) *tenant {
	return &tenant{sim: sim, results: map[string]*result{}, byKey: map[string]string{}}
}

// workflow adds a workflow with the category's usual tasks.
func (tn *tenant) workflow(name, category string) graphsim.Workflow {
	return tn.sim.AddWorkflow(graphsim.Workflow{DisplayName: name, Category: category})
}

var (
	givenNames = []string{"Adele", "Alex", "Diego", "Grady", "Isaiah", "Johanna", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep"}
	surnames   = []string{"Vance", "Wilber", "Siciliani", "Archie", "Langer", "Lorenz", "Gu", "Holloway", "Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta"}
)

// newUser adds a user whose display name starts with a fresh token, also the start of
// its UPN; name, when not empty, replaces the realistic rest of it (hostile text, say).
// A user without a name has a null displayName in Graph.
func (tn *tenant) newUser(name string, noName bool, access graphsim.UserAccess) graphsim.User {
	tn.mu.Lock()
	tn.users++
	n := tn.users
	tn.mu.Unlock()
	token := fmt.Sprintf("u%04d", n)
	if name == "" {
		name = givenNames[n%len(givenNames)] + " " + surnames[(n/len(givenNames))%len(surnames)]
	}
	display := token + " " + name
	if noName {
		display = ""
	}
	return tn.sim.AddUser(graphsim.User{
		DisplayName:       display,
		UserPrincipalName: fmt.Sprintf("%s@contoso.example", token),
		Access:            access,
	})
}

// runSpec describes a run to start.
type runSpec struct {
	users int
	// status, when set, is the status the results are created in (a run that finished
	// between two polls: first seen already failed); default queued.
	status string
	// at is when the run was scheduled (and, with status, finished); default now.
	at time.Time
	// history marks results finished before lcwnotify's lookback.
	history bool
	// names, when set, name the users (one per result).
	names []string
	// noNames gives the users a null displayName.
	noNames  bool
	access   graphsim.UserAccess
	failures []graphsim.TaskFailure
}

// startRun starts a run of wf and returns its result ids.
func (tn *tenant) startRun(wf graphsim.Workflow, spec runSpec) []string {
	if spec.names != nil {
		spec.users = len(spec.names)
	}
	users := make([]graphsim.User, spec.users)
	ids := make([]string, spec.users)
	for i := range users {
		name := ""
		if spec.names != nil {
			name = spec.names[i]
		}
		users[i] = tn.newUser(name, spec.noNames, spec.access)
		ids[i] = users[i].ID
	}
	status := spec.status
	if status == "" {
		status = events.StatusQueued
	}
	run := tn.sim.StartRunWith(wf.ID, graphsim.RunSpec{Users: ids, Status: spec.status, ScheduledAt: spec.at, Failures: spec.failures})
	tn.mu.Lock()
	defer tn.mu.Unlock()
	for i, id := range run.Results {
		u := users[i]
		r := &result{ID: id, Workflow: wf.ID, Category: wf.Category, RunID: run.ID,
			UserID: u.ID, UserName: u.DisplayName, UPN: u.UserPrincipalName, Access: spec.access,
			Statuses: []string{status}, History: spec.history}
		tn.results[id] = r
		tn.order = append(tn.order, id)
		tn.byKey[u.UserPrincipalName[:5]] = id
		tn.byKey[u.ID] = id
		tn.byKey[u.UserPrincipalName] = id
	}
	return run.Results
}

// set moves a result to status now; failures say which tasks fail and why.
func (tn *tenant) set(id, status string, failures ...graphsim.TaskFailure) {
	tn.sim.UpdateResult(id, graphsim.ResultUpdate{Status: status, Failures: failures})
	tn.mu.Lock()
	defer tn.mu.Unlock()
	r := tn.results[id]
	r.Statuses = append(r.Statuses, status)
}

// get returns a copy of the truth about result id.
func (tn *tenant) get(id string) result {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	r := *tn.results[id]
	r.Statuses = slices.Clone(r.Statuses)
	return r
}

// all returns a copy of the truth about every result, in creation order.
func (tn *tenant) all() []result {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	out := make([]result, 0, len(tn.order))
	for _, id := range tn.order {
		r := *tn.results[id]
		r.Statuses = slices.Clone(r.Statuses)
		out = append(out, r)
	}
	return out
}

// lookup returns the result a Slack line's user key (token, id or UPN) names.
func (tn *tenant) lookup(key string) (string, bool) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	id, ok := tn.byKey[key]
	return id, ok
}

// counts summarises results by final status, for logs.
func counts(rs []result) string {
	m := map[string]int{}
	for _, r := range rs {
		if r.History {
			m["history"]++
			continue
		}
		m[r.final()]++
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf(" %s=%d", k, m[k])
	}
	return fmt.Sprintf("%d results:%s", len(rs), s)
}
