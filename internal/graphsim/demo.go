package graphsim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// HostileDisplayName is the demo's user whose display name tries to mention everyone
// and smuggle a link; a correct notifier shows it as inert text.
const HostileDisplayName = "<!channel> Mallory <@U123> <https://evil.example|click>"

// DemoOptions tune Demo.
type DemoOptions struct {
	// Speed scales the script's pace: 1 plays it in about 36 seconds, 10 in about 3.6.
	// Zero or less means 1.
	Speed float64
	// Progress, when set, receives one line per step of the script, such as
	// "run 1 of 'Onboard new hires': 12 users queued".
	Progress func(line string)
	// Rerun, when set, is the on-call person re-running a failure from its Slack
	// message: the script calls it, from Play, with the failure to re-run ("Re-run
	// failed tasks"), once it has had time to be told. It must not block; whatever it
	// starts makes the activation through Graph, whose run the scenario lets complete
	// in a few seconds (demoRerunStartAfter, demoRerunDuration). Without it, nothing is
	// re-run.
	Rerun func(DemoRerun)
}

// DemoRerun is the failure the scenario's on-call person re-runs: one failed result,
// whose failed tasks an activateWithScope runs again.
type DemoRerun struct {
	WorkflowID, ResultID string
	// UserID is the result's user.
	UserID string
}

// How long, at Speed 1, the result of a re-run waits queued and then runs before it
// completes: a re-run of one task takes seconds, and the failure is resolved well
// before the scenario ends (Outcome's defaults, ten seconds in all, would leave it
// close to the end at Speed 1).
const (
	demoRerunStartAfter = time.Second
	demoRerunDuration   = 2 * time.Second
)

// DemoSummary is how the scenario ends.
type DemoSummary struct {
	// Results is the number of userProcessingResults the scenario created, the one
	// that existed before it started included.
	Results int
	// ByStatus counts the results by their final processingStatus.
	ByStatus map[string]int
	// Notifications is how many results ended failed or completedWithErrors: what a
	// correct lcwnotify with default settings announces, once each.
	Notifications int
	// Resolutions is how many of those failures a later result of the same user and
	// workflow completes: with DemoOptions.Rerun, the one re-run from Slack, once the
	// re-run was made (its result is among Results, completed). A completion is not a
	// notification: a correct lcwnotify tells it as the failure's resolution.
	Resolutions int
	// Workflows are the ids of the demo's workflows.
	Workflows []string
	// WorkflowChanges are the changes of workflow state the script makes, in order, as
	// workflow events name them: the joiner workflow is quarantined, then released.
	WorkflowChanges []string
}

// Demo is the scripted scenario lcwnotify demo plays: a joiner and a leaver workflow
// (and a mover one), a few dozen users among them one with a hostile display name, a
// scheduled onboarding run with realistic failures, one completedWithErrors and one
// canceled result, one of the onboarding failures re-run from Slack by the on-call
// person (with DemoOptions.Rerun) and completing, an offboarding run, an on-demand
// mover run that ends quarantined,
// the joiner workflow quarantined (its next scheduled run would process too many users)
// and released a few seconds later, and, from before the scenario starts, a leaver
// result that had already failed.
type Demo struct {
	sim    *Sim
	opts   DemoOptions
	steps  []demoStep
	expect DemoSummary
	mu     sync.Mutex
	// pending is a result the script leaves inProgress, which a person can PATCH.
	pending string
}

type demoStep struct {
	at time.Duration // offset at Speed 1
	do func()
}

// demoOutcome is how one user's result ends.
type demoOutcome struct {
	status, task, reason string
}

// PrepareDemo builds the demo tenant now: workflows, users and the result that had
// already failed (20 minutes ago, so a watcher started with LCW_LOOKBACK of 30m or
// more announces it). Start polling after PrepareDemo and before Play.
func (s *Sim) PrepareDemo(opts DemoOptions) *Demo {
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	d := &Demo{sim: s, opts: opts, expect: DemoSummary{ByStatus: map[string]int{}}}
	joiner := s.AddWorkflow(Workflow{DisplayName: "Onboard new hires", Category: CategoryJoiner,
		Description: "Enable accounts, groups and licenses, and send the manager a Temporary Access Pass on day one."})
	leaver := s.AddWorkflow(Workflow{DisplayName: "Offboard leavers", Category: CategoryLeaver,
		Description: "Disable the account and remove groups, Teams and licenses on the last day."})
	mover := s.AddWorkflow(Workflow{DisplayName: "Real-time employee change", Category: CategoryMover,
		Description: "Move group memberships and access packages when a user changes department."})
	d.expect.Workflows = []string{joiner.ID, leaver.ID, mover.ID}

	users := s.AddUsers(29)
	mallory := s.AddUser(User{DisplayName: HostileDisplayName, GivenName: "Mallory", Surname: "Hostile",
		UserPrincipalName: "mallory@contoso.onmicrosoft.com"})
	unreadable := users[28]
	s.SetUserAccess(unreadable.ID, UserForbidden)

	// Before the scenario: a leaver run 25 minutes ago whose last result failed.
	now := s.now()
	past := s.StartRunWith(leaver.ID, RunSpec{ScheduledAt: now.Add(-25 * time.Minute), Users: ids(users[0:3])})
	for i, id := range past.Results {
		s.UpdateResult(id, ResultUpdate{Status: events.StatusInProgress, At: now.Add(-24 * time.Minute)})
		o := demoOutcome{status: events.StatusCompleted}
		if i == 2 {
			o = demoOutcome{events.StatusFailed, "Remove all licenses for user", ReasonInheritedLicense}
		}
		s.UpdateResult(id, ResultUpdate{Status: o.status, At: now.Add(-20 * time.Minute), Failures: o.failures()})
		d.count(o.status)
	}
	d.steps = append(d.steps, demoStep{at: 0, do: func() {
		d.progress("before the scenario, 25 minutes ago: run of 'Offboard leavers' for 3 users; %s failed (%s: %s)",
			d.userName(users[2].ID), "Remove all licenses for user", ReasonInheritedLicense)
	}})

	joinerUsers := append(ids(users[3:14]), mallory.ID)
	joinerRun := d.scheduleRun(1*time.Second, "run 1 of 'Onboard new hires'", joiner.ID, ExecutionScheduled, joinerUsers, []demoOutcome{
		{status: events.StatusCompleted},
		{events.StatusFailed, "Generate Temporary Access Pass and send via email to user's manager", ReasonManagerNotSet},
		{status: events.StatusCompleted},
		{status: events.StatusCompleted},
		{events.StatusCompletedWithErrors, "Assign licenses to user", ReasonNoLicenses},
		{status: events.StatusCompleted},
		{status: events.StatusCanceled},
		{status: events.StatusCompleted},
		{status: events.StatusCompleted},
		{status: events.StatusCompleted},
		{status: events.StatusInProgress},                                          // left running: the one to PATCH by hand
		{events.StatusFailed, "Enable user account", ReasonInsufficientPrivileges}, // Mallory
	})
	if opts.Rerun != nil {
		// The failure whose cause an administrator fixes (the manager set), so that
		// re-running its failed task succeeds.
		d.rerun(16*time.Second, joiner.ID, joinerRun, 1, joinerUsers[1])
	}
	leaverUsers := append(ids(users[14:22]), unreadable.ID)
	d.scheduleRun(19*time.Second, "run 1 of 'Offboard leavers'", leaver.ID, ExecutionScheduled, leaverUsers, []demoOutcome{
		{status: events.StatusCompleted},
		{status: events.StatusCompleted},
		{events.StatusCompletedWithErrors, "Remove user from all Teams", ReasonLastTeamOwner},
		{status: events.StatusCompleted},
		{status: events.StatusCompleted},
		{status: events.StatusCompleted},
		{status: events.StatusCompleted},
		{status: events.StatusCompleted},
		{events.StatusFailed, "Disable user account", ReasonInsufficientPrivileges}, // a user lcwnotify cannot read
	})
	d.scheduleRun(24*time.Second, "on-demand run of 'Real-time employee change'", mover.ID, ExecutionOnDemand,
		ids(users[22:23]), []demoOutcome{{status: events.StatusQuarantined}})
	d.steps = append(d.steps, demoStep{at: 29 * time.Second, do: func() {
		s.Quarantine(joiner.ID, QuarantineCount, demoQuarantineReason)
		d.progress("'Onboard new hires' quarantined: %s", demoQuarantineReason)
	}}, demoStep{at: 34 * time.Second, do: func() {
		s.ReleaseQuarantine(joiner.ID)
		d.progress("'Onboard new hires' released from quarantine by an administrator")
	}})
	d.expect.WorkflowChanges = []string{events.ChangeQuarantined, events.ChangeReleased}
	d.steps = append(d.steps, demoStep{at: 36 * time.Second, do: func() {
		d.progress("scenario finished: %s", d.describe())
	}})
	return d
}

// demoQuarantineReason is why the demo's joiner workflow is quarantined.
const demoQuarantineReason = "The scheduled run would process 412 users, more than the limit of 100 users."

func ids(us []User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func (o demoOutcome) failures() []TaskFailure {
	if o.task == "" {
		return nil
	}
	return []TaskFailure{{Task: o.task, Reason: o.reason}}
}

func (d *Demo) count(status string) {
	d.expect.Results++
	d.expect.ByStatus[status]++
	if status == events.StatusFailed || status == events.StatusCompletedWithErrors {
		d.expect.Notifications++
	}
}

// rerun adds the steps of the on-call person's re-run of result i of run, user's
// failure: its cause fixed at at, the re-run asked for a second later. Activations'
// runs complete, at the script's pace.
func (d *Demo) rerun(at time.Duration, wid string, run *Run, i int, user string) {
	start, dur := d.scaled(demoRerunStartAfter), d.scaled(demoRerunDuration)
	d.sim.SetActivationOutcome(func(Activation, string) Outcome {
		return Outcome{Status: events.StatusCompleted, StartAfter: start, Duration: dur}
	})
	d.count(events.StatusCompleted)
	d.expect.Resolutions++
	d.steps = append(d.steps, demoStep{at: at, do: func() {
		d.progress("an administrator sets the manager of %s in Entra ID, so that the Temporary Access Pass can be sent", d.userName(user))
	}}, demoStep{at: at + time.Second, do: func() {
		d.progress("the on-call person clicks \"Re-run failed tasks\" on the failure of %s in Slack", d.userName(user))
		d.opts.Rerun(DemoRerun{WorkflowID: wid, ResultID: run.Results[i], UserID: user})
	}})
}

// scaled is d, a duration at Speed 1, at the script's pace; never zero, which an
// Outcome reads as its default.
func (d *Demo) scaled(dur time.Duration) time.Duration {
	return max(time.Duration(float64(dur)/d.opts.Speed), time.Millisecond)
}

// scheduleRun adds the steps of one run starting at start: queued, in progress in
// two waves, then one outcome a second. The run is filled in when its first step
// has run.
func (d *Demo) scheduleRun(start time.Duration, name, wid, execType string, users []string, outcomes []demoOutcome) *Run {
	run := new(Run)
	d.steps = append(d.steps, demoStep{at: start, do: func() {
		*run = d.sim.StartRunWith(wid, RunSpec{ExecutionType: execType, Users: users})
		d.progress("%s: %s queued", name, plural(len(users), "user"))
	}})
	half := (len(users) + 1) / 2
	waves := [][2]int{{0, half}, {half, len(users)}}
	if half == len(users) {
		waves = waves[:1]
	}
	for w, b := range waves {
		d.steps = append(d.steps, demoStep{at: start + time.Duration(2+w)*time.Second, do: func() {
			for _, id := range run.Results[b[0]:b[1]] {
				d.sim.SetResultStatus(id, events.StatusInProgress)
			}
			if w > 0 {
				d.progress("%s: all %s in progress", name, plural(len(users), "user"))
				return
			}
			d.progress("%s: %s in progress", name, plural(b[1]-b[0], "user"))
		}})
	}
	for i, o := range outcomes {
		d.count(o.status)
		if o.status == events.StatusInProgress {
			d.steps = append(d.steps, demoStep{at: start + 4*time.Second, do: func() {
				d.mu.Lock()
				defer d.mu.Unlock()
				d.pending = run.Results[i]
			}})
			continue
		}
		at := start + 4*time.Second + time.Duration(i)*time.Second
		if len(outcomes) > 10 {
			at = start + 4*time.Second + time.Duration(i)*time.Second*10/time.Duration(len(outcomes))
		}
		d.steps = append(d.steps, demoStep{at: at, do: func() {
			d.sim.SetResultStatus(run.Results[i], o.status, o.failures()...)
			line := fmt.Sprintf("%s: %s %s", name, d.userName(users[i]), o.status)
			if o.task != "" {
				line += fmt.Sprintf(" (%s: %s)", o.task, o.reason)
			}
			if statusEnum.render(o.status, false) != o.status {
				line += " (an evolvable status: without 'Prefer: include-unknown-enum-members' Graph shows unknownFutureValue)"
			}
			d.progress("%s", line)
		}})
	}
	return run
}

func (d *Demo) userName(id string) string {
	d.sim.mu.RLock()
	defer d.sim.mu.RUnlock()
	if u := d.sim.users[id]; u != nil {
		return fmt.Sprintf("%q", u.displayName)
	}
	return id
}

func (d *Demo) progress(format string, args ...any) {
	if d.opts.Progress != nil {
		d.opts.Progress(fmt.Sprintf(format, args...))
	}
}

func (d *Demo) describe() string {
	statuses := make([]string, 0, len(d.expect.ByStatus))
	for st, n := range d.expect.ByStatus {
		statuses = append(statuses, fmt.Sprintf("%d %s", n, st))
	}
	sort.Strings(statuses)
	line := fmt.Sprintf("%d results (%s); %d should be notified", d.expect.Results, strings.Join(statuses, ", "), d.expect.Notifications)
	if d.expect.Resolutions > 0 {
		line += fmt.Sprintf(", %s resolved by a re-run", plural(d.expect.Resolutions, "failure"))
	}
	return line
}

// Duration is about how long Play takes: the offset of the script's last step, at its
// Speed.
func (d *Demo) Duration() time.Duration {
	var last time.Duration
	for _, st := range d.steps {
		last = max(last, st.at)
	}
	return time.Duration(float64(last) / d.opts.Speed)
}

// Expected returns the summary Play ends with.
func (d *Demo) Expected() DemoSummary { return d.expect }

// Play runs the script once, sleeping between steps (scaled by Speed). It returns the
// summary when the script ends, or ctx's error if ctx ends first.
func (d *Demo) Play(ctx context.Context) (DemoSummary, error) {
	sort.SliceStable(d.steps, func(i, j int) bool { return d.steps[i].at < d.steps[j].at })
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for _, st := range d.steps {
		wait := time.Until(start.Add(time.Duration(float64(st.at) / d.opts.Speed)))
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return DemoSummary{}, ctx.Err()
			case <-timer.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return DemoSummary{}, err
		}
		st.do()
	}
	return d.expect, nil
}

// PendingResult returns the id of the result the script leaves in
// progress, once Play has started it, for a person to PATCH by hand.
func (d *Demo) PendingResult() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending, d.pending != ""
}

// CurlExample is a command that marks the pending result failed through the beta
// PATCH endpoint of the simulator at baseURL.
func (d *Demo) CurlExample(baseURL string) string {
	id, ok := d.PendingResult()
	if !ok {
		id = "{userProcessingResultId}"
	}
	return fmt.Sprintf(`curl -X PATCH -H 'Authorization: Bearer demo' -H 'Content-Type: application/json' `+
		`-d '{"processingStatus":"failed"}' %s/beta/workflowBase/userProcessingResults/%s`, baseURL, id)
}

// PlayDemo prepares the demo and plays it.
func (s *Sim) PlayDemo(ctx context.Context, opts DemoOptions) (DemoSummary, error) {
	return s.PrepareDemo(opts).Play(ctx)
}

// plural writes "1 user", "12 users".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
