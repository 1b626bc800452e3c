package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/status"
)

// The JSON API: what the page shows, for the operator commands. Replays answer with one
// JSON object per line (NDJSON): progress lines {"progress":{"done":n,"total":m}} while
// they run, then {"result":…} or {"error":"…"}.

// maxBody bounds a request's JSON.
const maxBody = 1 << 20

// Session is the answer of GET /api/session: the CSRF token of the session cookie set
// with it, for a client without the bearer token (loopback).
type Session struct {
	CSRF string `json:"csrf"`
}

// DeadLetterReplay is the body of POST /api/dlq/replay.
type DeadLetterReplay struct {
	IDs []string `json:"ids,omitempty"`
	All bool     `json:"all,omitempty"`
}

// Progress is a line of a replay's answer.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// line is one line of a replay's answer.
type line struct {
	Progress *Progress `json:"progress,omitempty"`
	Result   any       `json:"result,omitempty"`
	Error    string    `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// apiAccess answers a request without access and reports whether it has it.
func (h *Handler) apiAccess(w http.ResponseWriter, r *http.Request, mutates bool) (who, bool) {
	id := h.g.check(r)
	switch {
	case !id.ok:
		h.refuse(w, r)
		return id, false
	case mutates && !h.g.mutationAllowed(r, id):
		apiError(w, http.StatusForbidden, "a replay needs the bearer token, or the session's CSRF token in "+csrfHeader)
		return id, false
	}
	return id, true
}

func (h *Handler) apiSession(w http.ResponseWriter, r *http.Request) {
	id, ok := h.apiAccess(w, r, false)
	if !ok {
		return
	}
	if id.nonce == "" && !id.bearer {
		id.nonce = h.g.newSession(w, r)
	}
	writeJSON(w, http.StatusOK, Session{CSRF: h.g.csrf(id.nonce)})
}

func (h *Handler) apiStatus(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.apiAccess(w, r, false); !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := h.o.Source.Report(ctx, status.ParseFilter(r.URL.Query()))
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, "the report was not ready in time")
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (h *Handler) apiDeadLetters(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.apiAccess(w, r, false); !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := h.o.Source.Report(ctx, status.Filter{Limit: 1})
	if err != nil {
		apiError(w, http.StatusServiceUnavailable, "the dead letters were not read in time")
		return
	}
	writeJSON(w, http.StatusOK, rep.DeadLetters)
}

func (h *Handler) apiReplayDeadLetters(w http.ResponseWriter, r *http.Request) {
	var req DeadLetterReplay
	if !h.replayRequest(w, r, &req) {
		return
	}
	if !req.All && len(req.IDs) == 0 {
		apiError(w, http.StatusBadRequest, "name dead letters (ids) or ask for all")
		return
	}
	h.stream(w, r, func(ctx context.Context, progress func(done, total int)) (any, error) {
		out, err := h.o.Source.ReplayDeadLetters(ctx, req.IDs, req.All, h.o.Replayer, progress)
		h.log.Info("dead letters replayed through the API", "ids", req.IDs, "all", req.All, "outcomes", len(out))
		return out, err
	})
}

func (h *Handler) apiReplay(w http.ResponseWriter, r *http.Request) {
	var req status.PeriodReplay
	if !h.replayRequest(w, r, &req) {
		return
	}
	h.stream(w, r, func(ctx context.Context, progress func(done, total int)) (any, error) {
		res, err := h.o.Source.ReplayPeriod(ctx, req, h.o.Replayer, progress)
		if res != nil && !req.DryRun {
			h.log.Info("a period replayed through the API", "to", req.To, "since", req.Since, "name", req.Name, "counts", res.Counts)
		}
		return res, err
	})
}

// replayRequest checks a replay's access and reads its body into v.
func (h *Handler) replayRequest(w http.ResponseWriter, r *http.Request, v any) bool {
	if _, ok := h.apiAccess(w, r, true); !ok {
		return false
	}
	if h.o.Replayer == nil {
		apiError(w, http.StatusConflict, "this process delivers to no destination: replay from one that does")
		return false
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		apiError(w, http.StatusUnsupportedMediaType, "send application/json")
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, "cannot read the request: "+err.Error())
		return false
	}
	return true
}

// stream runs a replay, writing its progress and then its result as NDJSON. The replay
// ends with the request: a client that goes away stops it, and the ledger keeps what it
// sent.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, run func(ctx context.Context, progress func(done, total int)) (any, error)) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(replayTimeout))
	ctx, cancel := context.WithTimeout(r.Context(), replayTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	last := time.Time{}
	res, err := run(ctx, func(done, total int) {
		// At most a few lines a second, and the last one.
		if done < total && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		_ = enc.Encode(line{Progress: &Progress{Done: done, Total: total}})
		_ = rc.Flush()
	})
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		_ = enc.Encode(line{Error: "the replay took longer than " + humanDuration(replayTimeout) + "; run it again under the same name to finish it"})
	case err != nil:
		_ = enc.Encode(line{Error: err.Error()})
	default:
		_ = enc.Encode(line{Result: res})
	}
}
