package graphsim

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
)

// ServeHTTP answers one Graph request: it routes it, checks the bearer token, applies
// injected faults, then serves it from the current state and counts it.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w}
	rt := parseRoute(r)
	x := &exchange{w: cw, r: r, requestID: newRequestID(), rt: rt,
		includeUnknown: prefersUnknownMembers(r.Header)}
	x.clientRequestID = r.Header.Get("client-request-id")
	if x.clientRequestID == "" {
		x.clientRequestID = x.requestID
	}
	nextPage := slices.ContainsFunc(strings.Split(r.URL.RawQuery, "&"), isSkipTokenPart)
	defer func() { s.stats.record(rt.op, cw, nextPage) }()

	if e := s.authorize(r); e != nil {
		x.writeError(e)
		return
	}
	_, x.token, _ = strings.Cut(r.Header.Get("Authorization"), " ")
	x.token = strings.TrimSpace(x.token)
	if s.applyFault(x) {
		return
	}
	s.serve(x)
}

// serve answers x from the state as of now, without faults.
func (s *Sim) serve(x *exchange) {
	s.catchUp()
	rt := x.rt
	if rt.err != nil {
		x.writeError(rt.err)
		return
	}
	if x.r.Method != rt.method {
		x.w.Header().Set("Allow", rt.method)
		x.writeError(&apiError{status: http.StatusMethodNotAllowed, code: "Request_BadRequest",
			message: "The HTTP method '" + x.r.Method + "' is not allowed for this resource; it supports " + rt.method + "."})
		return
	}
	if e := s.checkRoles(x); e != nil {
		x.writeError(e)
		return
	}
	q, e := parseQuery(rt.op, x.r.URL.RawQuery)
	if e != nil {
		x.writeError(e)
		return
	}
	switch rt.op {
	case OpActivate, OpActivateWithScope:
		act := s.activate
		if rt.op == OpActivateWithScope {
			act = s.activateWithScope
		}
		if e := act(x); e != nil {
			x.writeError(e)
			return
		}
		x.writeNoContent()
		return
	}
	var body []byte
	switch rt.op {
	case OpListWorkflows:
		body, e = s.listWorkflows(x, q)
	case OpGetWorkflow:
		body, e = s.getWorkflow(x, q)
	case OpListRuns:
		body, e = s.listRuns(x, q)
	case OpGetRun:
		body, e = s.getRun(x, q)
	case OpRunSummary:
		body, e = s.runSummary(x)
	case OpListResults, OpListRunResults:
		body, e = s.listResults(x, q)
	case OpGetResult:
		body, e = s.getResult(x, q)
	case OpResultSummary:
		body, e = s.resultSummary(x)
	case OpListTaskResults:
		body, e = s.listTaskResults(x, q)
	case OpGetUser:
		body, e = s.getUser(x, q)
	case OpUpdateResult:
		body, e = s.patchResult(x)
	case OpClearQuarantine:
		body, e = s.clearQuarantine(x)
	default:
		e = errBadRequest("Unsupported request.")
	}
	if e != nil {
		x.writeError(e)
		return
	}
	x.writeJSON(http.StatusOK, body)
}

// authorize checks the bearer token as Options say.
func (s *Sim) authorize(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if h == "" || token == "" {
		return &apiError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", message: "Access token is empty."}
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return &apiError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken",
			message: "Access token validation failure: the Authorization header must use the Bearer scheme."}
	}
	if s.opts.Token == "" && s.opts.ValidToken == nil {
		return nil
	}
	if s.opts.Token != "" && token == s.opts.Token {
		return nil
	}
	if s.opts.ValidToken != nil && s.opts.ValidToken(token) {
		return nil
	}
	return &apiError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken",
		message: "Access token validation failure. Invalid audience."}
}

// prefersUnknownMembers reports whether the request opts in to evolvable enum members.
func prefersUnknownMembers(h http.Header) bool {
	for _, v := range h.Values("Prefer") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "include-unknown-enum-members") {
				return true
			}
		}
	}
	return false
}

// contextURL builds @odata.context: the metadata URL, the path of the entity set,
// the selected properties, and /$entity for single entities.
func (x *exchange) contextURL(set string, sel []string, entity bool) string {
	var b strings.Builder
	b.WriteString(x.baseURL())
	b.WriteString("/$metadata#")
	b.WriteString(set)
	if sel != nil {
		b.WriteByte('(')
		b.WriteString(strings.Join(sel, ","))
		b.WriteByte(')')
	}
	if entity {
		b.WriteString("/$entity")
	}
	return b.String()
}

// keyed renders a key segment the OData way: name('id'), quotes doubled.
func keyed(name, id string) string {
	return name + "('" + strings.ReplaceAll(id, "'", "''") + "')"
}

// bufferWriter captures a response so faults can corrupt it.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
