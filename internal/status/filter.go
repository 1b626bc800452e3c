package status

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultLimit is how many failures a report lists unless its filter says otherwise;
// MaxLimit is the most it lists.
const (
	DefaultLimit = 200
	MaxLimit     = 2000
)

// Filter selects failures. Empty fields match everything.
type Filter struct {
	// Workflow is a workflow id; Category a workflow category (joiner, leaver, mover).
	Workflow string `json:"workflow,omitempty"`
	Category string `json:"category,omitempty"`
	// User matches part of the user's display name, UPN or object id, ignoring case.
	User string `json:"user,omitempty"`
	// Status is a processing status (failed, completedWithErrors); State one of States.
	Status string `json:"status,omitempty"`
	State  string `json:"state,omitempty"`
	// Limit bounds the failures listed: DefaultLimit when 0, at most MaxLimit.
	Limit int `json:"limit,omitempty"`
}

// FilterOptions are the values a filter's fields take among the failures of a report.
type FilterOptions struct {
	Workflows  []WorkflowOption
	Categories []string
	Statuses   []string
}

// WorkflowOption is a workflow to filter by.
type WorkflowOption struct{ ID, Name string }

// ParseFilter reads a filter from query parameters: workflow, category, user, status,
// state and limit. Values are only ever compared, never interpreted: an unknown one
// matches nothing.
func ParseFilter(q url.Values) Filter {
	f := Filter{
		Workflow: strings.TrimSpace(q.Get("workflow")),
		Category: strings.TrimSpace(q.Get("category")),
		User:     strings.TrimSpace(q.Get("user")),
		Status:   strings.TrimSpace(q.Get("status")),
		State:    strings.TrimSpace(q.Get("state")),
	}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		f.Limit = n
	}
	return f.normalized()
}

// Values writes f as query parameters, as ParseFilter reads them.
func (f Filter) Values() url.Values {
	q := url.Values{}
	for _, kv := range [][2]string{{"workflow", f.Workflow}, {"category", f.Category}, {"user", f.User}, {"status", f.Status}, {"state", f.State}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if f.Limit != 0 && f.Limit != DefaultLimit {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Empty reports whether f selects every failure.
func (f Filter) Empty() bool {
	return f.Workflow == "" && f.Category == "" && f.User == "" && f.Status == "" && f.State == ""
}

func (f Filter) normalized() Filter {
	if len(f.User) > 200 {
		f.User = f.User[:200]
	}
	switch {
	case f.Limit <= 0:
		f.Limit = DefaultLimit
	case f.Limit > MaxLimit:
		f.Limit = MaxLimit
	}
	return f
}

// matches reports whether x passes f.
func (f Filter) matches(x *Failure) bool {
	switch {
	case f.Workflow != "" && x.Workflow.ID != f.Workflow:
		return false
	case f.Category != "" && !strings.EqualFold(x.Workflow.Category, f.Category):
		return false
	case f.Status != "" && !strings.EqualFold(x.Status, f.Status):
		return false
	case f.State != "" && x.State != f.State:
		return false
	case f.User != "":
		u := strings.ToLower(f.User)
		return slices.ContainsFunc([]string{x.User, x.UserDetail, x.UserID}, func(s string) bool {
			return strings.Contains(strings.ToLower(s), u)
		})
	}
	return true
}
