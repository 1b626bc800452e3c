package graphsim

// The task catalog: Lifecycle Workflows' built-in task definitions as the admin center
// names them, and failure reasons of the kind the service reports for each.

// taskDef is a built-in task definition.
type taskDef struct {
	name, description, category, definitionID string
	reasons                                   []string
}

// Failure reasons the simulator reports. ReasonInsufficientPrivileges is what Graph
// says when the workflow's identity lacks a permission.
const (
	ReasonManagerNotSet          = "The user's manager attribute is not set, so the Temporary Access Pass email could not be sent."
	ReasonInsufficientPrivileges = "Insufficient privileges to complete the operation."
	ReasonNoLicenses             = "License assignment failed: the subscription has no available licenses."
	ReasonInheritedLicense       = "License removal failed: the license is assigned through group 'All Employees' and must be removed from the group."
	ReasonGroupNotFound          = "The group 'Sales EMEA' could not be found; it may have been deleted."
	ReasonLastTeamOwner          = "The user could not be removed from team 'Project Falcon' because they are its last owner."
	ReasonNoMailbox              = "The user has no mailbox, so the email could not be sent."
	ReasonExtensionTimeout       = "The custom task extension did not call back within the configured timeout."
	ReasonAccessPackagePolicy    = "No assignment policy of access package 'New Hire Essentials' allows this user."
)

var taskCatalog = []taskDef{
	{"Enable user account", "Enable user account in the directory", "joiner,leaver", "6fc52c9d-398b-4305-9763-15f42c1676fc",
		[]string{ReasonInsufficientPrivileges}},
	{"Add user to groups", "Add user to selected groups", "joiner,leaver,mover", "22085229-5809-45e8-97fd-270d28d66910",
		[]string{ReasonGroupNotFound, ReasonInsufficientPrivileges}},
	{"Generate Temporary Access Pass and send via email to user's manager",
		"Generate Temporary Access Pass and send via email to user's manager", "joiner", "1b555e50-7f65-41d5-b514-5894a026d10d",
		[]string{ReasonManagerNotSet}},
	{"Send welcome email to new hire", "Welcome email for new hires", "joiner", "70b29d51-b59a-4773-9280-8841dfd3f2ea",
		[]string{ReasonNoMailbox}},
	{"Assign licenses to user", "Assign selected licenses to the user", "joiner,mover", "683c87a4-2ad4-420b-97d4-220d90afcd24",
		[]string{ReasonNoLicenses}},
	{"Request user access package assignment", "Request user assignment to selected access package", "joiner,mover",
		"c1ec1e76-f374-4375-aaa6-0bb6bd4c60be", []string{ReasonAccessPackagePolicy}},
	{"Disable user account", "Disable user account in the directory", "joiner,leaver", "1dfdfcc7-52fa-4c2e-bf3a-e3919cc12950",
		[]string{ReasonInsufficientPrivileges}},
	{"Remove user from all groups", "Remove user from all Microsoft Entra groups memberships", "leaver",
		"b3a31406-2a15-4c9a-b25b-a658fa5f07fc", []string{ReasonInsufficientPrivileges}},
	{"Remove user from all Teams", "Remove user from all Teams memberships", "leaver", "81f7b200-2816-4b3b-8c5d-dc556f07b024",
		[]string{ReasonLastTeamOwner}},
	{"Remove all licenses for user", "Remove all licenses assigned to the user", "leaver", "8fa97d28-3e52-4985-b3a9-a1126f9b8b4e",
		[]string{ReasonInheritedLicense}},
	{"Remove user from selected groups", "Remove user from membership of selected Microsoft Entra groups", "leaver,mover",
		"1953a66c-751c-45e5-8bfe-01462c70da3c", []string{ReasonGroupNotFound}},
	{"Send email to notify manager of user move", "Send email to notify user's manager of user move", "mover",
		"aab41899-9972-422a-9d97-f626014578b7", []string{ReasonNoMailbox}},
	{"Run a Custom Task Extension", "Run a Custom Task Extension to call out to an external system", "joiner,leaver,mover",
		"4262b724-8dba-4fad-afc3-43fcbb497a0e", []string{ReasonExtensionTimeout}},
}

func lookupTaskDef(name string) (taskDef, bool) {
	for _, d := range taskCatalog {
		if d.name == name {
			return d, true
		}
	}
	return taskDef{}, false
}

// failureReasons indexes every reason, for compact history records.
var failureReasons = []string{
	ReasonInsufficientPrivileges, ReasonManagerNotSet, ReasonNoLicenses, ReasonInheritedLicense,
	ReasonGroupNotFound, ReasonLastTeamOwner, ReasonNoMailbox, ReasonExtensionTimeout, ReasonAccessPackagePolicy,
}

func reasonIndex(reason string) uint8 {
	for i, r := range failureReasons {
		if r == reason {
			return uint8(i)
		}
	}
	return 0
}

// taskFromCatalog builds a Task from a catalog entry.
func taskFromCatalog(name string, continueOnError bool) Task {
	d, _ := lookupTaskDef(name)
	return Task{DisplayName: d.name, Description: d.description, Category: d.category,
		TaskDefinitionID: d.definitionID, ContinueOnError: continueOnError}
}

// JoinerTasks returns the tasks of a typical "Onboard new hire employee" workflow.
func JoinerTasks() []Task {
	return []Task{
		taskFromCatalog("Enable user account", false),
		taskFromCatalog("Add user to groups", true),
		taskFromCatalog("Assign licenses to user", true),
		taskFromCatalog("Generate Temporary Access Pass and send via email to user's manager", false),
		taskFromCatalog("Send welcome email to new hire", true),
	}
}

// LeaverTasks returns the tasks of a typical "Offboard an employee" workflow.
func LeaverTasks() []Task {
	return []Task{
		taskFromCatalog("Disable user account", false),
		taskFromCatalog("Remove user from all groups", true),
		taskFromCatalog("Remove user from all Teams", true),
		taskFromCatalog("Remove all licenses for user", false),
	}
}

// MoverTasks returns the tasks of a typical "Real-time employee change" workflow.
func MoverTasks() []Task {
	return []Task{
		taskFromCatalog("Send email to notify manager of user move", true),
		taskFromCatalog("Remove user from selected groups", false),
		taskFromCatalog("Add user to groups", false),
		taskFromCatalog("Request user access package assignment", true),
	}
}

// defaultReason is the reason a task fails with when a scenario names none.
func defaultReason(t *taskRec) string {
	if d, ok := lookupTaskDef(t.displayName); ok && len(d.reasons) > 0 {
		return d.reasons[0]
	}
	return ReasonInsufficientPrivileges
}
