package notify_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

func TestSecretRoutes(t *testing.T) {
	const def, hr, it = "SECRET-default", "SECRET-hr", "SECRET-it"
	r := notify.NewSecretRoutes(def, map[string]string{
		"Leaver": hr, "joiner": hr, // two routes, one address: one label
		"wf-it": it,
		"mover": def, // the default's address: the default's label
	})
	tests := []struct {
		name string
		wf   events.Workflow
		want string
	}{
		{"category route", events.Workflow{ID: "wf-1", Category: "leaver"}, "route:joiner"},
		{"shared address shares the first label", events.Workflow{ID: "wf-2", Category: "joiner"}, "route:joiner"},
		{"id route wins over category", events.Workflow{ID: "WF-IT", Category: "leaver"}, "route:wf-it"},
		{"route to the default's address", events.Workflow{ID: "wf-3", Category: "mover"}, notify.DefaultLabel},
		{"no route", events.Workflow{ID: "wf-4", Category: "custom"}, notify.DefaultLabel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Label(tc.wf)
			if got != tc.want {
				t.Errorf("Label(%+v) = %q, want %q", tc.wf, got, tc.want)
			}
			if strings.Contains(got, "SECRET") {
				t.Errorf("label %q quotes an address", got)
			}
		})
	}
	if got, want := r.Labels(), []string{notify.DefaultLabel, "route:joiner", "route:wf-it"}; !slices.Equal(got, want) {
		t.Errorf("Labels = %v, want %v", got, want)
	}
	for label, want := range map[string]string{notify.DefaultLabel: def, "route:joiner": hr, "route:wf-it": it} {
		if got, ok := r.Target(label); !ok || got != want {
			t.Errorf("Target(%q) = %q, %v; want %q", label, got, ok, want)
		}
	}
	if _, ok := r.Target("route:leaver"); ok {
		t.Error("a route that shares another's address has a label of its own")
	}
}

func TestSecretRoutesWithoutDefault(t *testing.T) {
	r := notify.NewSecretRoutes("", map[string]string{"leaver": "SECRET-hr"})
	if got := r.Label(events.Workflow{ID: "wf-1", Category: "joiner"}); got != "" {
		t.Errorf("an unrouted workflow without a default went to %q, want none", got)
	}
	if got := r.Label(events.Workflow{ID: "wf-1", Category: "leaver"}); got != "route:leaver" {
		t.Errorf("Label = %q, want route:leaver", got)
	}
	if r.Empty() || !notify.NewSecretRoutes("", nil).Empty() {
		t.Error("Empty is wrong")
	}
}
