package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// Application permissions (app roles) the simulator checks with Options.RequireRoles,
// least privileged first, as the v1.0 reference lists them.
const (
	RoleWorkflowReadBasic = "LifecycleWorkflows-Workflow.ReadBasic.All"
	RoleWorkflowRead      = "LifecycleWorkflows-Workflow.Read.All"
	RoleWorkflowReadWrite = "LifecycleWorkflows-Workflow.ReadWrite.All"
	RoleWorkflowActivate  = "LifecycleWorkflows-Workflow.Activate"
	RoleReportsRead       = "LifecycleWorkflows-Reports.Read.All"
	RoleRead              = "LifecycleWorkflows.Read.All"
	RoleReadWrite         = "LifecycleWorkflows.ReadWrite.All"
	// RoleReadReportsLegacy is the reports permission's older name, which the
	// "Get userProcessingResult" page still shows.
	RoleReadReportsLegacy = "LifecycleWorkflows.ReadReports.All"
	RoleUserReadBasic     = "User.ReadBasic.All"
	RoleUserRead          = "User.Read.All"
)

var (
	workflowRoles = []string{RoleWorkflowReadBasic, RoleWorkflowRead, RoleWorkflowReadWrite, RoleRead, RoleReadWrite}
	reportRoles   = []string{RoleReportsRead, RoleReadReportsLegacy, RoleRead, RoleReadWrite}
	activateRoles = []string{RoleWorkflowActivate, RoleWorkflowReadWrite, RoleReadWrite}
	userRoles     = []string{RoleUserReadBasic, RoleUserRead, "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)

// operationRoles lists, per operation, the roles any one of which allows it.
// clearQuarantine has none: it is delegated-only.
var operationRoles = map[Operation][]string{
	OpListWorkflows:     workflowRoles,
	OpGetWorkflow:       workflowRoles,
	OpListRuns:          reportRoles,
	OpGetRun:            reportRoles,
	OpRunSummary:        reportRoles,
	OpListResults:       reportRoles,
	OpListRunResults:    reportRoles,
	OpGetResult:         reportRoles,
	OpResultSummary:     reportRoles,
	OpListTaskResults:   reportRoles,
	OpGetUser:           userRoles,
	OpUpdateResult:      {RoleReadWrite},
	OpActivate:          activateRoles,
	OpActivateWithScope: activateRoles,
}

func errDenied() *apiError {
	return &apiError{status: http.StatusForbidden, code: "Authorization_RequestDenied",
		message: "Insufficient privileges to complete the operation."}
}

// checkRoles refuses a request whose token lacks every role its operation accepts.
func (s *Sim) checkRoles(x *exchange) *apiError {
	if !s.opts.RequireRoles {
		return nil
	}
	accepted, ok := operationRoles[x.rt.op]
	if !ok {
		return nil // clearQuarantine decides itself
	}
	roles := tokenRoles(x.token)
	if s.opts.Roles != nil {
		roles = s.opts.Roles(x.token)
	}
	for _, r := range roles {
		if contains(accepted, r) {
			return nil
		}
	}
	return errDenied()
}

// tokenRoles reads the "roles" claim of a JWT-shaped token without verifying it; any
// other token has none.
func tokenRoles(token string) []string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return nil
	}
	return claims.Roles
}
