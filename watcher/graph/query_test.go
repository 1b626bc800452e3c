package graph

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	t0 = time.Date(2022, 5, 23, 0, 0, 0, 0, time.UTC)
	t1 = time.Date(2022, 6, 22, 0, 0, 0, 0, time.UTC)
)

func TestFilterString(t *testing.T) {
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"documented example", Between("startedDateTime", t0, t1),
			"startedDateTime ge 2022-05-23T00:00:00Z and startedDateTime le 2022-06-22T00:00:00Z"},
		{"string quoted, quote doubled", Where("displayName", Eq, "O'Brien's"), "displayName eq 'O''Brien''s'"},
		{"time in UTC with 7 digits", Where("completedDateTime", Gt,
			time.Date(2022, 8, 24, 23, 28, 11, 134886399, time.FixedZone("x", 3600))),
			"completedDateTime gt 2022-08-24T22:28:11.1348863Z"},
		{"int", Where("version", Ge, 3), "version ge 3"},
		{"bool", Where("isEnabled", Eq, true), "isEnabled eq true"},
		{"and of several", Where("processingStatus", Ne, "completed").And(
			Where("processingStatus", Ne, "failed"), Between("scheduledDateTime", t0, t1)),
			"processingStatus ne 'completed' and processingStatus ne 'failed' and " +
				"scheduledDateTime ge 2022-05-23T00:00:00Z and scheduledDateTime le 2022-06-22T00:00:00Z"},
		{"zero", Filter{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f.Err(); err != nil {
				t.Fatalf("Err() = %v", err)
			}
			if got := tt.f.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFilterAndDoesNotAlias(t *testing.T) {
	base := Where("processingStatus", Ne, "completed")
	a := base.And(Where("id", Eq, "a"))
	b := base.And(Where("id", Eq, "b"))
	if got, want := a.String(), "processingStatus ne 'completed' and id eq 'a'"; got != want {
		t.Errorf("a = %q, want %q", got, want)
	}
	if got, want := b.String(), "processingStatus ne 'completed' and id eq 'b'"; got != want {
		t.Errorf("b = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	dates := Between("completedDateTime", t0, t1)
	tests := []struct {
		name    string
		r       *resource
		q       Query
		wantErr string // "" = valid
	}{
		{"results with range", resultResource, Query{Filter: dates}, ""},
		{"results statuses and range", resultResource, Query{Filter: Where("processingStatus", Ne, "failed").And(
			Between("scheduledDateTime", t0, t1))}, ""},
		{"results subject/id", resultResource, Query{Filter: dates.And(Where("subject/id", Eq, "u"))}, ""},
		{"results without filter", resultResource, Query{}, "explicit date range"},
		{"results lower bound only", resultResource, Query{Filter: Where("completedDateTime", Ge, t0)}, "explicit date range"},
		{"results bounds on two properties", resultResource, Query{Filter: Where("completedDateTime", Ge, t0).And(
			Where("scheduledDateTime", Le, t1))}, "explicit date range"},
		{"results status only", resultResource, Query{Filter: Where("processingStatus", Eq, "failed")}, "explicit date range"},
		{"runs with range", runResource, Query{Filter: Between("lastUpdatedDateTime", t0, t1)}, ""},
		{"runs without range", runResource, Query{}, "explicit date range"},
		{"undocumented property", resultResource, Query{Filter: dates.And(Where("failedTasksCount", Gt, 0))}, "not documented"},
		{"ordering on eq-only", resultResource, Query{Filter: dates.And(Where("processingStatus", Gt, "a"))}, "only eq and ne"},
		{"wrong literal type", resultResource, Query{Filter: dates.And(Where("completedDateTime", Ge, "2022-01-01"))}, "compares with a time.Time"},
		{"unsupported value", resultResource, Query{Filter: dates.And(Where("id", Eq, 1.5))}, "unsupported value type"},
		{"unknown op", resultResource, Query{Filter: dates.And(Where("id", Op("has"), "x"))}, "unknown operator"},
		{"run property on results", resultResource, Query{Filter: dates.And(Where("lastUpdatedDateTime", Ge, t0))}, "not documented"},
		{"orderby", resultResource, Query{Filter: dates, OrderBy: "completedDateTime desc"}, ""},
		{"orderby undocumented", resultResource, Query{Filter: dates, OrderBy: "failedTasksCount"}, "$orderby"},
		{"orderby bad direction", resultResource, Query{Filter: dates, OrderBy: "id sideways"}, "$orderby"},
		{"select with required", resultResource, Query{Filter: dates, Select: []string{"id", "processingStatus", "subject"}}, ""},
		{"select without status", resultResource, Query{Filter: dates, Select: []string{"id", "subject"}}, "must include \"processingStatus\""},
		{"select injection", resultResource, Query{Filter: dates, Select: []string{"id,processingStatus&$top=1"}}, "not a property name"},
		{"reversed range", resultResource, Query{Filter: Between("completedDateTime", t1, t0)}, "range is empty"},
		{"instant range", resultResource, Query{Filter: Between("completedDateTime", t0, t0)}, ""},
		{"ranges on two properties", resultResource, Query{Filter: Between("completedDateTime", t0, t1).And(
			Between("scheduledDateTime", t0.Add(-time.Hour), t0))}, ""},
		{"workflows need no range", workflowResource, Query{Filter: Where("category", Eq, "leaver")}, ""},
		{"workflow version ordered", workflowResource, Query{Filter: Where("version", Gt, 2)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.validate(tt.q)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validate() = %v, want an error containing %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("validate() = %v, want errors.Is ErrInvalidQuery", err)
			}
		})
	}
}

func TestQueryEncode(t *testing.T) {
	q := Query{
		Filter:  Where("processingStatus", Ne, "it's").And(Between("completedDateTime", t0, t1)),
		Select:  []string{"id", "processingStatus"},
		OrderBy: "completedDateTime asc",
	}
	got := q.encode()
	want := "$filter=processingStatus%20ne%20%27it%27%27s%27%20and%20completedDateTime%20ge%202022-05-23T00%3A00%3A00Z" +
		"%20and%20completedDateTime%20le%202022-06-22T00%3A00%3A00Z&$orderby=completedDateTime%20asc&$select=id%2CprocessingStatus"
	if got != want {
		t.Errorf("encode() =\n%s\nwant\n%s", got, want)
	}
}
