package graph

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeWorkflowState(t *testing.T) {
	tests := []struct {
		name, item  string
		want        Workflow
		quarantined bool
		warn        string
	}{
		{"documented, not quarantined",
			`{"id":"w","nextScheduleRunDateTime":"2026-06-10T00:00:00Z","quarantineDetails":{"quarantinedDateTime":null,"quarantineReason":null,"quarantineType":"notQuarantined"}}`,
			Workflow{ID: "w", NextScheduleRunDateTime: ptime("2026-06-10T00:00:00Z"), QuarantineDetails: &QuarantineDetails{QuarantineType: "notQuarantined"}}, false, ""},
		{"quarantined",
			`{"id":"w","nextScheduleRunDateTime":null,"quarantineDetails":{"quarantinedDateTime":"2026-06-09T17:42:11.1234567Z","quarantineReason":"Too many users.","quarantineType":"countBasedThresholdExceeded"}}`,
			Workflow{ID: "w", QuarantineDetails: &QuarantineDetails{QuarantinedDateTime: ptime("2026-06-09T17:42:11.1234567Z"),
				QuarantineReason: "Too many users.", QuarantineType: QuarantineCount}}, true, ""},
		{"a quarantine type newer than the client",
			`{"id":"w","quarantineDetails":{"quarantineType":"manualHold"}}`,
			Workflow{ID: "w", QuarantineDetails: &QuarantineDetails{QuarantineType: "manualHold"}}, true, ""},
		{"no quarantineDetails", `{"id":"w"}`, Workflow{ID: "w"}, false, ""},
		{"quarantineDetails not an object", `{"id":"w","quarantineDetails":"quarantined"}`, Workflow{ID: "w"}, false, "quarantineDetails.problem=not an object"},
		{"quarantineDetails without a type", `{"id":"w","quarantineDetails":{"quarantineReason":"x"}}`, Workflow{ID: "w"}, false, "no quarantineType"},
		{"quarantineType not a string", `{"id":"w","quarantineDetails":{"quarantineType":3}}`, Workflow{ID: "w"}, false, "quarantineDetails.quarantineType.problem"},
		{"a bad date", `{"id":"w","nextScheduleRunDateTime":"tomorrow","quarantineDetails":{"quarantinedDateTime":5,"quarantineType":"countBasedThresholdExceeded"}}`,
			Workflow{ID: "w", QuarantineDetails: &QuarantineDetails{QuarantineType: QuarantineCount}}, true, "nextScheduleRunDateTime.problem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d itemDecoder
			got, why := decodeWorkflow([]byte(tt.item), &d)
			if why != "" {
				t.Fatalf("skipped: %s", why)
			}
			if q := got.QuarantineDetails; q != nil {
				// Raw is the object as received, malformed members included.
				if _, after, _ := strings.Cut(tt.item, `"quarantineDetails":`); string(q.Raw) != strings.TrimSuffix(after, "}") {
					t.Errorf("Raw = %s, want the object as received", q.Raw)
				}
				q.Raw = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decodeWorkflow() =\n%+v (%+v)\nwant\n%+v (%+v)", got, got.QuarantineDetails, tt.want, tt.want.QuarantineDetails)
			}
			if got.Quarantined() != tt.quarantined {
				t.Errorf("Quarantined() = %v, want %v", got.Quarantined(), tt.quarantined)
			}
			if warns := warnings(&d); (tt.warn == "") != (warns == "") || !strings.Contains(warns, tt.warn) {
				t.Errorf("warnings = %q, want %q", warns, tt.warn)
			}
		})
	}
}

// TestDecodeIsEnabledKnown: only a JSON boolean says whether a workflow is enabled;
// absent, null and malformed leave it unknown rather than false.
func TestDecodeIsEnabledKnown(t *testing.T) {
	for _, tt := range []struct {
		item           string
		enabled, known bool
	}{
		{`{"id":"w","isEnabled":true}`, true, true},
		{`{"id":"w","isEnabled":false}`, false, true},
		{`{"id":"w","isEnabled":null}`, false, false},
		{`{"id":"w"}`, false, false},
		{`{"id":"w","isEnabled":"false"}`, false, false},
	} {
		var d itemDecoder
		got, _ := decodeWorkflow([]byte(tt.item), &d)
		if got.IsEnabled != tt.enabled || got.IsEnabledKnown != tt.known {
			t.Errorf("%s: IsEnabled %v, known %v; want %v, %v", tt.item, got.IsEnabled, got.IsEnabledKnown, tt.enabled, tt.known)
		}
	}
}

func warnings(d *itemDecoder) string {
	var b strings.Builder
	for _, w := range d.warns {
		b.WriteString(w.String())
		b.WriteByte(' ')
	}
	return strings.ReplaceAll(b.String(), "=[", ".")
}

func TestDecodeActivatedOnScope(t *testing.T) {
	tests := []struct {
		name, scope string
		want        *ActivationScope
		warn        bool
	}{
		{"none", `null`, nil, false},
		{"processing results, as Graph's example shows them",
			`{"@odata.type":"#microsoft.graph.identityGovernance.activateProcessingResultScope","taskScope":"allTasks","processingResults":[{"id":"r1","processingStatus":"completedWithErrors","subject":{"id":"u"}},{"id":"r2"}]}`,
			&ActivationScope{Kind: ScopeProcessingResults, TaskScope: TaskScopeAll, ProcessingResultIDs: []string{"r1", "r2"}}, false},
		{"run", `{"@odata.type":"#microsoft.graph.identityGovernance.activateRunScope","taskScope":"failedTasks","userScope":"failedUsers","run":{"id":"run-1"}}`,
			&ActivationScope{Kind: ScopeRun, TaskScope: TaskScopeFailed, UserScope: UserScopeFailed, RunID: "run-1"}, false},
		{"users, type without #", `{"@odata.type":"microsoft.graph.identityGovernance.activateUserScope","users":[{"id":"u1"}]}`,
			&ActivationScope{Kind: ScopeUsers, UserIDs: []string{"u1"}}, false},
		{"a newer scope type", `{"@odata.type":"#microsoft.graph.identityGovernance.activateDepartmentScope"}`,
			&ActivationScope{Kind: "activateDepartmentScope"}, false},
		{"no type", `{"taskScope":"allTasks"}`, nil, true},
		{"not an object", `"everything"`, nil, true},
		{"processingResults not an array", `{"@odata.type":"#x","processingResults":{"id":"r1"}}`, nil, true},
		{"an id not a string", `{"@odata.type":"#microsoft.graph.identityGovernance.activateProcessingResultScope","processingResults":[{"id":1},{"id":"r2"}]}`,
			&ActivationScope{Kind: ScopeProcessingResults, ProcessingResultIDs: []string{"r2"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d itemDecoder
			run, why := decodeRun([]byte(`{"id":"r","processingStatus":"queued","activatedOnScope":`+tt.scope+`}`), &d)
			if why != "" {
				t.Fatalf("skipped: %s", why)
			}
			if !reflect.DeepEqual(run.ActivatedOnScope, tt.want) {
				t.Errorf("ActivatedOnScope = %+v, want %+v", run.ActivatedOnScope, tt.want)
			}
			if (len(d.warns) > 0) != tt.warn {
				t.Errorf("warnings = %v, want some: %v", d.warns, tt.warn)
			}
		})
	}
	var nilScope *ActivationScope
	if nilScope.Names("r1") || !(&ActivationScope{ProcessingResultIDs: []string{"r0", "r1"}}).Names("r1") {
		t.Error("Names() is wrong")
	}
}

func TestDecodeProcessingInfo(t *testing.T) {
	info := "The user was already a member of the group."
	for _, tt := range []struct {
		name, item string
		want       *string
		warn       bool
	}{
		{"present", `{"id":"t","processingStatus":"completed","processingInfo":"` + info + `"}`, &info, false},
		{"null", `{"id":"t","processingStatus":"completed","processingInfo":null}`, nil, false},
		{"absent", `{"id":"t","processingStatus":"completed"}`, nil, false},
		{"not a string", `{"id":"t","processingStatus":"completed","processingInfo":{"text":"x"}}`, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d itemDecoder
			got, why := decodeTaskResult([]byte(tt.item), &d)
			if why != "" || !reflect.DeepEqual(got.ProcessingInfo, tt.want) || (len(d.warns) > 0) != tt.warn {
				t.Errorf("ProcessingInfo = %v (skip %q, warnings %v), want %v", got.ProcessingInfo, why, d.warns, tt.want)
			}
		})
	}
}
