package graphsim_test

import (
	"net/http"
	"testing"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/watcher/graph/graphtest"
)

func TestRequireRoles(t *testing.T) {
	f := newFixture(t, graphsim.Options{RequireRoles: true, ValidToken: func(string) bool { return true }})
	u := f.sim.AddUsers(1)[0]
	wf := f.sim.AddWorkflow(graphsim.Workflow{})
	watcher := graphtest.NewToken(map[string]any{"tid": "t", "roles": []string{graphsim.RoleReportsRead, graphsim.RoleWorkflowReadBasic}})
	actor := graphtest.NewToken(map[string]any{"tid": "t", "roles": []string{graphsim.RoleWorkflowActivate}})
	broad := graphtest.NewToken(map[string]any{"tid": "t", "roles": []string{graphsim.RoleReadWrite, graphsim.RoleUserRead}})
	none := graphtest.NewToken(map[string]any{"tid": "t"})
	runs := q(lcw+"/"+wf.ID+"/runs", "$filter", "scheduledDateTime ge "+ts(f.clock.Now().AddDate(0, 0, -1)))
	tests := []struct {
		name, token, method, path, body string
		status                          int
	}{
		{"watcher lists workflows", watcher, "GET", lcw, "", 200},
		{"watcher lists runs", watcher, "GET", runs, "", 200},
		{"watcher cannot activate", watcher, "POST", lcw + "/" + wf.ID + "/activate", subjects(u.ID), 403},
		{"watcher cannot read users", watcher, "GET", "/v1.0/users/" + u.ID, "", 403},
		{"activate permission activates", actor, "POST", lcw + "/" + wf.ID + "/activate", subjects(u.ID), 204},
		{"activate permission reads no reports", actor, "GET", runs, "", 403},
		{"activateWithScope needs it too", watcher, "POST", lcw + "/" + wf.ID + "/activateWithScope", `{}`, 403},
		{"ReadWrite covers activate", broad, "POST", lcw + "/" + wf.ID + "/activate", subjects(u.ID), 204},
		{"ReadWrite covers reads", broad, "GET", runs, "", 200},
		{"User.Read.All reads users", broad, "GET", "/v1.0/users/" + u.ID, "", 200},
		{"no roles claim", none, "GET", lcw, "", 403},
		{"not a JWT", "opaque-token", "GET", lcw, "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, tt.method, tt.path, tt.body, "Authorization", "Bearer "+tt.token, "Content-Type", "application/json",
				"client-request-id", "c0ffee00-0000-4000-8000-000000000004")
			mustStatus(t, r, tt.status)
			if tt.status == http.StatusForbidden {
				if r.errorCode() != "Authorization_RequestDenied" {
					t.Errorf("code = %q, want Authorization_RequestDenied", r.errorCode())
				}
				assertErrorShape(t, r, "c0ffee00-0000-4000-8000-000000000004")
			}
		})
	}
	if n := len(f.sim.Activations()); n != 2 {
		t.Errorf("%d activations, want the 2 permitted ones", n)
	}

	// Options.Roles decides for tokens that are not JWTs.
	g := newFixture(t, graphsim.Options{RequireRoles: true, Roles: func(tok string) []string {
		if tok == testToken {
			return []string{graphsim.RoleWorkflowReadBasic}
		}
		return nil
	}})
	mustStatus(t, g.get(t, lcw), http.StatusOK)
}
