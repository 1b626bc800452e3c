package graphsim

import (
	"slices"
	"strings"

	"github.com/lcwnotify/lcwnotify/events"
)

// Workflow execution types (workflowExecutionType). ExecutionActivatedWithScope and
// ExecutionPreview are evolvable members.
const (
	ExecutionScheduled          = "scheduled"
	ExecutionOnDemand           = "onDemand"
	ExecutionActivatedWithScope = "activatedWithScope"
	ExecutionPreview            = "preview"
)

// Workflow categories (lifecycleWorkflowCategory). Graph's v1.0 documentation lists
// mover and extensibility after unknownFutureValue, so a client that does not send
// "Prefer: include-unknown-enum-members" sees a mover workflow as unknownFutureValue.
const (
	CategoryJoiner        = "joiner"
	CategoryLeaver        = "leaver"
	CategoryMover         = "mover"
	CategoryExtensibility = "extensibility"
)

// enumType is an OData enum: its members in declaration order, the first evolvable
// member being the one after unknownFutureValue.
type enumType struct {
	name    string
	members []string
	// evolvable is the index of the first member hidden from clients that do not
	// opt in to unknown enum members.
	evolvable int
	// flags marks a flags enum, whose values are comma-separated member lists.
	flags bool
}

func newEnum(name string, flags bool, members ...string) *enumType {
	e := &enumType{name: name, members: members, flags: flags, evolvable: len(members)}
	for i, m := range members {
		if m == "unknownFutureValue" {
			e.evolvable = i + 1
		}
	}
	return e
}

var (
	statusEnum = newEnum("microsoft.graph.identityGovernance.lifecycleWorkflowProcessingStatus", false,
		events.StatusQueued, events.StatusInProgress, events.StatusCompleted, events.StatusCompletedWithErrors, events.StatusCanceled, events.StatusFailed,
		events.StatusUnknownFutureValue, events.StatusCanceling, events.StatusQuarantined)
	executionEnum = newEnum("microsoft.graph.identityGovernance.workflowExecutionType", false,
		ExecutionScheduled, ExecutionOnDemand, "unknownFutureValue", ExecutionActivatedWithScope, ExecutionPreview)
	categoryEnum = newEnum("microsoft.graph.identityGovernance.lifecycleWorkflowCategory", false,
		CategoryJoiner, CategoryLeaver, "unknownFutureValue", CategoryMover, CategoryExtensibility)
	taskCategoryEnum = newEnum("microsoft.graph.identityGovernance.lifecycleTaskCategory", true,
		CategoryJoiner, CategoryLeaver, "unknownFutureValue", CategoryMover)
)

// ordinal returns the index of member m, or -1.
func (e *enumType) ordinal(m string) int {
	for i, x := range e.members {
		if x == m {
			return i
		}
	}
	return -1
}

// valid reports whether v is a value of e (for flags enums, a comma-separated list of
// members).
func (e *enumType) valid(v string) bool {
	if !e.flags {
		return e.ordinal(v) >= 0
	}
	for m := range strings.SplitSeq(v, ",") {
		if e.ordinal(m) < 0 {
			return false
		}
	}
	return v != ""
}

// render returns the value a client sees: evolvable members become
// unknownFutureValue unless the client opted in.
func (e *enumType) render(v string, includeUnknown bool) string {
	if includeUnknown {
		return v
	}
	if !e.flags {
		// Values the enum does not declare (members newer than this simulator's
		// list, injected by a scenario) are hidden like evolvable ones.
		if i := e.ordinal(v); i < 0 || i >= e.evolvable {
			return "unknownFutureValue"
		}
		return v
	}
	parts := strings.Split(v, ",")
	out := parts[:0]
	hidden := false
	for _, m := range parts {
		if i := e.ordinal(m); i < 0 || i >= e.evolvable {
			hidden = true
			continue
		}
		out = append(out, m)
	}
	if hidden && !slices.Contains(out, "unknownFutureValue") {
		out = append(out, "unknownFutureValue")
	}
	return strings.Join(out, ",")
}
