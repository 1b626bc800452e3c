package graphsim

import (
	"strings"
	"testing"
)

func TestFilterAcceptsDocumentedForms(t *testing.T) {
	tests := []struct {
		name, resource, filter string
	}{
		{"run date range", "run", "lastUpdatedDateTime ge 2024-05-01T00:00:00Z and lastUpdatedDateTime le 2024-05-02T00:00:00Z"},
		{"run fractional seconds", "run", "startedDateTime gt 2024-05-01T00:00:00.1234567Z"},
		{"run offset", "run", "scheduledDateTime lt 2024-05-01T02:00:00+02:00"},
		{"run status", "run", "processingStatus eq 'completedWithErrors'"},
		{"run execution type", "run", "workflowExecutionType ne 'onDemand'"},
		{"run completed eq", "run", "completedDateTime eq 2024-05-01T00:00:00Z"},
		{"result docs example", "result", "startedDateTime ge 2022-05-23T00:00:00Z and startedDateTime le 2022-06-22T00:00:00Z"},
		{"result not final", "result", "processingStatus ne 'completed' and processingStatus ne 'completedWithErrors' and processingStatus ne 'failed' and processingStatus ne 'canceled' and scheduledDateTime ge 2024-04-02T00:00:00Z and scheduledDateTime le 2024-05-01T00:00:00Z"},
		{"result subject", "result", "subject/id eq 'ea09ac2e-77e3-4134-85f2-25ccf3c33387'"},
		{"result id", "result", "id ne 'x'"},
		{"result execution type compared", "result", "workflowExecutionType lt 'onDemand'"},
		{"result evolvable status", "result", "processingStatus eq 'quarantined'"},
		{"parentheses", "result", "(completedDateTime ge 2024-05-01T00:00:00Z) and ((completedDateTime le 2024-05-02T00:00:00Z))"},
		{"task result", "task", "processingStatus eq 'failed' and createdDateTime ge 2024-05-01T00:00:00Z"},
		{"task result id", "task", "id eq 'a'"},
		{"workflow category", "workflow", "category eq 'leaver'"},
		{"workflow bool", "workflow", "isEnabled eq true and isSchedulingEnabled ne false"},
		{"workflow version", "workflow", "version ge 2"},
		{"workflow name with quote", "workflow", "displayName eq 'Onboard O''Brien''s team'"},
		{"workflow dates", "workflow", "lastModifiedDateTime gt 2024-05-01T00:00:00Z and createdDateTime lt 2024-06-01T00:00:00Z"},
		{"extra whitespace", "run", "  processingStatus   eq   'queued'  "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := compileResource(tt.resource, tt.filter); err != nil {
				t.Errorf("filter %q refused: %v", tt.filter, err)
			}
		})
	}
}

func TestFilterRefusesUndocumentedForms(t *testing.T) {
	tests := []struct {
		name, resource, filter, wantInMessage string
	}{
		{"or", "result", "processingStatus eq 'failed' or processingStatus eq 'completedWithErrors'", "'or'"},
		{"or in parentheses", "result", "completedDateTime ge 2024-05-01T00:00:00Z and (id eq 'a' or id eq 'b')", "'or'"},
		{"not", "result", "not (processingStatus eq 'failed')", "'not'"},
		{"in", "result", "processingStatus in ('failed','canceled')", "'in'"},
		{"has", "result", "processingStatus has 'failed'", "'has'"},
		{"function", "workflow", "startswith(displayName,'On')", "function 'startswith'"},
		{"contains", "workflow", "contains(displayName,'On')", "function 'contains'"},
		{"lambda", "result", "taskProcessingResults/any(t:t/processingStatus eq 'failed')", "lambda operator 'any'"},
		{"null", "result", "completedDateTime eq null", "null"},
		{"undocumented property", "result", "failedTasksCount gt 0", "does not support $filter"},
		{"unknown property", "result", "userId eq 'x'", "could not find a property named 'userId'"},
		{"lastUpdated is a run property", "result", "lastUpdatedDateTime ge 2024-05-01T00:00:00Z", "could not find"},
		{"operator not documented", "result", "processingStatus gt 'failed'", "operator 'gt' is not supported for property 'processingStatus'"},
		{"range on id", "task", "id lt 'a'", "operator 'lt'"},
		{"quoted date", "result", "completedDateTime ge '2024-05-01T00:00:00Z'", "incompatible types"},
		{"unquoted string", "result", "processingStatus eq failed", "comparing property 'processingStatus' with property 'failed'"},
		{"date only", "result", "completedDateTime ge 2024-05-01", "Edm.Date"},
		{"bad date", "result", "completedDateTime ge 2024-13-01T00:00:00Z", "not a valid DateTimeOffset"},
		{"offset plus decoded as space", "result", "completedDateTime ge 2024-05-01T00:00:00 02:00", "%2B"},
		{"bad enum member", "result", "processingStatus eq 'done'", "not a valid enumeration"},
		{"integer for string", "workflow", "displayName eq 5", "incompatible types"},
		{"string for bool", "workflow", "isEnabled eq 'true'", "incompatible types"},
		{"upper-case operator", "result", "processingStatus EQ 'failed'", "lower case"},
		{"literal on the left", "result", "'failed' eq processingStatus", "must be on the right"},
		{"unterminated string", "result", "id eq 'abc", "unterminated"},
		{"unbalanced parenthesis", "result", "(id eq 'a'", "expected ')'"},
		{"trailing garbage", "result", "id eq 'a' id", "unexpected"},
		{"dangling and", "result", "id eq 'a' and", "expected a property"},
		{"empty", "result", "   ", "empty"},
		{"arithmetic", "workflow", "version add 1 eq 2", "arithmetic"},
		{"cast", "result", "microsoft.graph.x/id eq 'a'", "type casts"},
		{"typed enum literal", "result", "processingStatus eq microsoft.graph.identityGovernance.lifecycleWorkflowProcessingStatus'failed'", "typed literal"},
		{"any on subject", "result", "subject/any(s:s/id eq 'a')", "lambda"},
		{"bad character", "result", "id eq 'a' && id eq 'b'", "not valid"},
		{"subject/id ordering", "result", "subject/id gt 'a'", "operator 'gt'"},
		{"int32 overflow", "workflow", "version eq 99999999999", "not a valid Edm.Int32"},
		{"deep nesting", "result", strings.Repeat("(", 40) + "id eq 'a'" + strings.Repeat(")", 40), "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := compileResource(tt.resource, tt.filter)
			if err == nil {
				t.Fatalf("filter %q accepted, want refused", tt.filter)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.wantInMessage)) {
				t.Errorf("error = %q, want it to mention %q", err, tt.wantInMessage)
			}
		})
	}
}

func TestFilterEvaluation(t *testing.T) {
	wf := &workflowRec{id: "w", displayName: "Onboard O'Brien", category: CategoryJoiner, version: 3, isEnabled: true}
	tests := []struct {
		filter string
		want   bool
	}{
		{"displayName eq 'Onboard O''Brien'", true},
		{"displayName ne 'Onboard O''Brien'", false},
		{"version ge 3 and version lt 4", true},
		{"version gt 3", false},
		{"isEnabled eq true and isSchedulingEnabled eq false", true},
		{"category eq 'leaver'", false},
		{"lastModifiedDateTime ge 2024-01-01T00:00:00Z", false}, // null never compares
		{"lastModifiedDateTime ne 2024-01-01T00:00:00Z", true},  // null differs from everything
	}
	for _, tt := range tests {
		f, err := compileFilter(workflowType, tt.filter)
		if err != nil {
			t.Fatalf("compile %q: %v", tt.filter, err)
		}
		if got := f.match(wf); got != tt.want {
			t.Errorf("%q matched = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestFilterBoundsAndStatuses(t *testing.T) {
	f, err := compileFilter(resultType, "processingStatus ne 'completed' and processingStatus ne 'completedWithErrors' and "+
		"processingStatus ne 'failed' and processingStatus ne 'canceled' and scheduledDateTime ge 2024-04-02T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if !f.onlyActive() {
		t.Error("a filter excluding every final status should read only active results")
	}
	if _, ok := f.lowestBound(); !ok {
		t.Error("scheduledDateTime ge … is a lower bound")
	}
	g, _ := compileFilter(resultType, "processingStatus ne 'completed' and completedDateTime le 2024-04-02T00:00:00Z")
	if g.onlyActive() {
		t.Error("a filter admitting failed results must not be served from the active set")
	}
	if _, ok := g.lowestBound(); ok {
		t.Error("an upper bound alone is not a lower bound")
	}
}

// compileResource compiles against the named resource.
func compileResource(resource, src string) error {
	var err error
	switch resource {
	case "run":
		_, err = compileFilter(runType, src)
	case "result":
		_, err = compileFilter(resultType, src)
	case "task":
		_, err = compileFilter(taskResultType, src)
	case "workflow":
		_, err = compileFilter(workflowType, src)
	}
	return err
}

// FuzzParseFilter checks that no input panics the parser, that whatever it accepts
// contains no 'or', 'not' or call, and that accepted clauses print and re-parse to the
// same tree.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"completedDateTime ge 2024-05-01T00:00:00Z and completedDateTime le 2024-05-02T00:00:00.1234567Z",
		"processingStatus ne 'completed' and (subject/id eq 'a''b')",
		"startswith(displayName,'x')", "a eq 1 or b eq 2", "not (a eq 1)", "x/any(y:y eq 1)",
		"version ge -3", "isEnabled eq true", "((((a eq 'b'))))", "a eq 2024-05-01T00:00:00+02:00",
		"'", "(", ")", "a eq", "eq eq eq", "a in ('x')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := parseFilter(src)
		if err != nil {
			return
		}
		toks, lexErr := lexFilter(src)
		if lexErr != nil {
			t.Fatalf("parser accepted %q that the lexer refuses: %v", src, lexErr)
		}
		for i, tok := range toks {
			if tok.kind != tokIdent {
				continue
			}
			switch strings.ToLower(tok.text) {
			case "or", "not", "in", "has", "null":
				t.Fatalf("accepted %q containing %q", src, tok.text)
			}
			if toks[i+1].kind == tokLParen && !strings.EqualFold(tok.text, "and") {
				t.Fatalf("accepted a call in %q", src)
			}
		}
		again, err := parseFilter(n.String())
		if err != nil {
			t.Fatalf("printed form %q of %q does not parse: %v", n.String(), src, err)
		}
		if again.String() != n.String() {
			t.Fatalf("round trip changed %q into %q", n.String(), again.String())
		}
	})
}
