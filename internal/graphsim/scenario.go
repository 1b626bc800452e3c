package graphsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// The scenario API builds and changes the simulated tenant. Ids are generated when left
// empty. Methods panic when given an id that does not exist or a value Graph could not
// hold: those are bugs in the scenario, like a bad regexp passed to MustCompile.

// UserAccess decides what GET /users/{id} answers for a user.
type UserAccess int

const (
	// UserReadable users are returned.
	UserReadable UserAccess = iota
	// UserForbidden users answer 403 Authorization_RequestDenied, as when the app lacks
	// User.Read.All.
	UserForbidden
	// UserMissing users answer 404 Request_ResourceNotFound, as when the account was
	// deleted after the workflow ran.
	UserMissing
)

// User is a directory user.
type User struct {
	ID                string
	DisplayName       string
	UserPrincipalName string
	GivenName         string
	Surname           string
	JobTitle          string
	Mail              string
	Access            UserAccess
}

// Task is a workflow task.
type Task struct {
	ID                string
	DisplayName       string
	Description       string
	Category          string // lifecycleTaskCategory flags, e.g. "joiner,leaver"
	TaskDefinitionID  string
	ExecutionSequence int // 1-based; set from the position when zero
	ContinueOnError   bool
}

// Workflow is a lifecycle workflow. AddWorkflow fills what is left zero: an id, version
// 1, the category's typical tasks, creation time now.
type Workflow struct {
	ID          string
	DisplayName string
	Description string
	Category    string // CategoryJoiner, CategoryLeaver, CategoryMover
	Version     int
	Tasks       []Task
	// Disabled and SchedulingDisabled are the inverses of isEnabled and
	// isSchedulingEnabled, so that the zero value is an active workflow.
	Disabled, SchedulingDisabled bool
	CreatedAt                    time.Time
	// ScheduleOffset shifts the workflow's scheduled runs within the tenant's
	// interval: with the default 3 hours and an offset of 20 minutes they are due at
	// 00:20, 03:20, … UTC. Without one, every workflow is due at the same ticks.
	ScheduleOffset time.Duration
	// Limits is settings.quarantineConfiguration.
	Limits QuarantineLimits
}

// RunSpec describes a run to start.
type RunSpec struct {
	// ExecutionType is ExecutionScheduled (default), ExecutionOnDemand or an
	// evolvable value such as ExecutionActivatedWithScope.
	ExecutionType string
	// ScheduledAt defaults to now; set it in the past to build a run that happened
	// before a client started watching.
	ScheduledAt time.Time
	// Users are the ids of the users the run processes, one result each.
	Users []string
	// Status, when set, is the status every result is created in, at ScheduledAt:
	// events.StatusFailed gives results that were already failed when a client first saw
	// them, as when a whole run happens between two polls. Failures apply as in
	// ResultUpdate.
	Status   string
	Failures []TaskFailure
	// Info sets processingInfo of task results when Status is set.
	Info []TaskInfo
}

// TaskFailure names a task (by display name or id) that fails, and why. An empty
// Reason picks the task's typical failure reason.
type TaskFailure struct {
	Task   string
	Reason string
}

// ResultUpdate changes a result's status.
type ResultUpdate struct {
	Status string
	// At is when the change happens; default now.
	At time.Time
	// Failures are the tasks that fail when Status is failed or completedWithErrors.
	// Without any, the first task that may fail that way fails with its typical reason.
	Failures []TaskFailure
	// Info sets processingInfo of task results (named by display name or id); an
	// empty Info clears it.
	Info []TaskInfo
}

// AddUser adds a user; an empty ID gets a GUID and an empty UPN is derived from the
// display name.
func (s *Sim) AddUser(u User) User {
	s.lock()
	defer s.mu.Unlock()
	return s.addUserLocked(u)
}

func (s *Sim) addUserLocked(u User) User {
	if u.ID == "" {
		u.ID = s.newGUID()
	}
	if u.UserPrincipalName == "" {
		u.UserPrincipalName = upnFor(u.DisplayName, u.ID)
	}
	if old := s.users[u.ID]; old != nil {
		delete(s.usersUPN, strings.ToLower(old.upn))
	}
	rec := &userRec{id: u.ID, displayName: u.DisplayName, upn: u.UserPrincipalName, givenName: u.GivenName,
		surname: u.Surname, jobTitle: u.JobTitle, mail: u.Mail, access: u.Access}
	s.users[u.ID] = rec
	s.usersUPN[strings.ToLower(u.UserPrincipalName)] = rec
	return u
}

// upnFor derives a plausible UPN from a display name.
func upnFor(name, id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), ".") {
				b.WriteByte('.')
			}
		}
	}
	local := strings.Trim(b.String(), ".")
	if local == "" {
		local = "user." + id[:8]
	}
	return local + "@contoso.onmicrosoft.com"
}

// AddUsers adds n users with realistic names and returns them.
func (s *Sim) AddUsers(n int) []User {
	s.lock()
	defer s.mu.Unlock()
	out := make([]User, n)
	for i := range out {
		given, sur := givenNames[s.rng.IntN(len(givenNames))], surnames[s.rng.IntN(len(surnames))]
		id := s.newGUID()
		name := given + " " + sur
		out[i] = s.addUserLocked(User{ID: id, DisplayName: name, GivenName: given, Surname: sur,
			UserPrincipalName: strings.ToLower(given+"."+sur) + "." + id[:4] + "@contoso.onmicrosoft.com",
			JobTitle:          jobTitles[s.rng.IntN(len(jobTitles))]})
	}
	return out
}

// SetUserAccess changes what GET /users/{id} answers for a user.
func (s *Sim) SetUserAccess(id string, a UserAccess) {
	s.lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		panic("graphsim: SetUserAccess: no user " + id)
	}
	u.access = a
}

// AddWorkflow adds a workflow and returns it with its defaults filled in.
func (s *Sim) AddWorkflow(w Workflow) Workflow {
	if err := w.Limits.validate(); err != nil {
		panic("graphsim: AddWorkflow: " + err.Error())
	}
	if w.ScheduleOffset < 0 {
		panic("graphsim: AddWorkflow: negative ScheduleOffset")
	}
	s.lock()
	defer s.mu.Unlock()
	if w.ID == "" {
		w.ID = s.newGUID()
	}
	if s.wfByID[w.ID] != nil {
		panic("graphsim: AddWorkflow: duplicate workflow id " + w.ID)
	}
	if w.Category == "" {
		w.Category = CategoryJoiner
	}
	if !categoryEnum.valid(w.Category) {
		panic("graphsim: AddWorkflow: unknown category " + strconv.Quote(w.Category))
	}
	if w.Version == 0 {
		w.Version = 1
	}
	if w.DisplayName == "" {
		w.DisplayName = "Workflow " + w.ID[:8]
	}
	if w.Tasks == nil {
		switch w.Category {
		case CategoryLeaver:
			w.Tasks = LeaverTasks()
		case CategoryMover:
			w.Tasks = MoverTasks()
		default:
			w.Tasks = JoinerTasks()
		}
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = s.now()
	}
	rec := &workflowRec{id: w.ID, displayName: w.DisplayName, description: w.Description, category: w.Category,
		version: w.Version, isEnabled: !w.Disabled, isSchedulingEnabled: !w.Disabled && !w.SchedulingDisabled,
		created: toStamp(w.CreatedAt), modified: toStamp(w.CreatedAt),
		tasks: make(map[int][]*taskRec), runByID: make(map[string]*runRec),
		schedOffset: w.ScheduleOffset, limits: w.Limits}
	w.Tasks = s.setTasks(rec, w.Version, w.Tasks)
	s.workflows = append(s.workflows, rec)
	s.wfByID[w.ID] = rec
	s.reschedule(rec)
	return w
}

// setTasks records the tasks of one version of a workflow, filling ids, sequence
// numbers and categories, and returns them as filled.
func (s *Sim) setTasks(rec *workflowRec, version int, in []Task) []Task {
	tasks := make([]Task, len(in))
	recs := make([]*taskRec, len(in))
	for i, t := range in {
		if t.ID == "" {
			t.ID = s.newGUID()
		}
		if t.ExecutionSequence == 0 {
			t.ExecutionSequence = i + 1
		}
		if t.Category == "" {
			t.Category = rec.category
		}
		tasks[i] = t
		recs[i] = &taskRec{id: t.ID, displayName: t.DisplayName, description: t.Description, category: t.Category,
			definitionID: t.TaskDefinitionID, seq: t.ExecutionSequence, continueOnError: t.ContinueOnError, isEnabled: true}
	}
	rec.tasks[version] = recs
	return tasks
}

// NewWorkflowVersion saves a new version of a workflow with these tasks (nil keeps the
// current ones), as editing a workflow's tasks in the admin center does: version and
// lastModifiedDateTime change, runs started from now on use the new version, and
// existing results keep theirs. It returns the workflow as it now is.
func (s *Sim) NewWorkflowVersion(workflowID string, tasks []Task) Workflow {
	s.lock()
	defer s.mu.Unlock()
	rec := s.mustWorkflow(workflowID)
	if tasks == nil {
		for _, t := range rec.tasks[rec.version] {
			tasks = append(tasks, Task{DisplayName: t.displayName, Description: t.description, Category: t.category,
				TaskDefinitionID: t.definitionID, ExecutionSequence: t.seq, ContinueOnError: t.continueOnError})
		}
	}
	rec.version++
	rec.modified = s.stampNow()
	return Workflow{ID: rec.id, DisplayName: rec.displayName, Description: rec.description, Category: rec.category,
		Version: rec.version, Tasks: s.setTasks(rec, rec.version, tasks), Disabled: !rec.isEnabled,
		SchedulingDisabled: rec.isEnabled && !rec.isSchedulingEnabled, CreatedAt: rec.created.Time(),
		ScheduleOffset: rec.schedOffset, Limits: rec.limits}
}

// StartRun starts a scheduled run of a workflow for users, now; every result starts
// queued.
func (s *Sim) StartRun(workflowID string, userIDs ...string) Run {
	return s.StartRunWith(workflowID, RunSpec{Users: userIDs})
}

// StartRunWith starts a run as spec describes. A scheduled run of more users than
// the workflow's Limits allow quarantines the workflow: its results stay queued, and
// the run reports quarantined, until ReleaseQuarantine.
func (s *Sim) StartRunWith(workflowID string, spec RunSpec) Run {
	s.lock()
	defer s.mu.Unlock()
	wf := s.mustWorkflow(workflowID)
	if spec.ExecutionType == "" {
		spec.ExecutionType = ExecutionScheduled
	}
	at := toStamp(spec.ScheduledAt)
	if at == 0 {
		at = s.stampNow()
	}
	run := s.newRun(wf, spec.ExecutionType, at)
	for _, uid := range spec.Users {
		if s.users[uid] == nil {
			panic("graphsim: StartRun: no user " + uid)
		}
		r := s.newResultWith(run, uid, wf.version, wf.tasks[wf.version])
		wf.results.add(r)
		s.results[r.id] = r
	}
	if spec.ExecutionType == ExecutionScheduled && !wf.quarantine.active() {
		if kind, reason, over := wf.limits.exceeded(len(spec.Users), len(s.users)); over {
			s.quarantine(wf, kind, reason, at)
		}
	}
	run.recompute()
	if spec.Status != "" && spec.Status != events.StatusQueued {
		for _, r := range run.results {
			setInfo(r, spec.Info)
			if err := s.applyStatus(r, spec.Status, at, spec.Failures); err != nil {
				panic("graphsim: StartRun: " + err.Error())
			}
		}
	}
	return run.snapshot()
}

func (s *Sim) mustWorkflow(id string) *workflowRec {
	wf := s.wfByID[id]
	if wf == nil {
		panic("graphsim: no workflow " + id)
	}
	return wf
}

// newRun creates a run; its id has the {workflowId}_{ticks} shape of newer runs (two
// runs started on the same tick of a test clock get the next free tick in their ids).
func (s *Sim) newRun(wf *workflowRec, execType string, at stamp) *runRec {
	ticks := dotnetTicks(at)
	id := wf.id + "_" + strconv.FormatInt(ticks, 10)
	for wf.runByID[id] != nil {
		ticks++
		id = wf.id + "_" + strconv.FormatInt(ticks, 10)
	}
	run := &runRec{id: id, wf: wf, execType: execType, status: events.StatusQueued, scheduled: at, updated: at}
	wf.runs = append(wf.runs, run)
	wf.runByID[id] = run
	return run
}

// dotnetTicks converts a stamp to .NET ticks (100 ns since 0001-01-01), which newer
// run ids carry.
func dotnetTicks(s stamp) int64 { return int64(s)/100 + 621355968000000000 }

// newResultWith creates a queued result of run for a user, running tasks of a
// workflow version, with one queued task result per task; its id has the
// {workflowId}_{version}_{runId}_{userId} shape.
func (s *Sim) newResultWith(run *runRec, userID string, version int, tasks []*taskRec) *resultRec {
	wf := run.wf
	r := &resultRec{
		id: wf.id + "_" + strconv.Itoa(version) + "_" + run.id + "_" + userID,
		wf: wf, run: run, userID: userID, version: version,
		status: events.StatusQueued, execType: run.execType, scheduled: run.scheduled, histFailed: -1,
	}
	if s.results[r.id] != nil {
		panic(fmt.Sprintf("graphsim: user %s is already in run %s", userID, run.id))
	}
	r.tasks = make([]*taskResultRec, len(tasks))
	for i, t := range tasks {
		r.tasks[i] = &taskResultRec{id: s.newGUID(), task: t, status: events.StatusQueued, created: run.scheduled}
	}
	r.recount()
	run.results = append(run.results, r)
	return r
}

// SetResultStatus moves a result to status now, with task results following as the
// service's would. See ResultUpdate for failures.
func (s *Sim) SetResultStatus(resultID, status string, failures ...TaskFailure) {
	s.UpdateResult(resultID, ResultUpdate{Status: status, Failures: failures})
}

// UpdateResult applies u to a result and bumps its run's lastUpdatedDateTime and counts.
func (s *Sim) UpdateResult(resultID string, u ResultUpdate) {
	s.lock()
	defer s.mu.Unlock()
	r := s.results[resultID]
	if r == nil {
		panic("graphsim: no userProcessingResult " + resultID)
	}
	at := toStamp(u.At)
	if at == 0 {
		at = s.stampNow()
	}
	for _, in := range u.Info {
		if r.findTask(in.Task) == nil {
			panic(fmt.Sprintf("graphsim: UpdateResult: workflow %s has no task %q", r.wf.id, in.Task))
		}
	}
	setInfo(r, u.Info)
	if err := s.applyStatus(r, u.Status, at, u.Failures); err != nil {
		panic("graphsim: UpdateResult: " + err.Error())
	}
}
