package interact

import (
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
)

// Path is where Slack POSTs interactions when the app's Request URL is lcwnotify's.
const Path = "/slack/interactions"

// maxBody bounds a request's body: the payload, form-encoded (which can triple it).
const maxBody = 3 * maxPayload

// ServeHTTP receives interactions POSTed by Slack to the app's Request URL. A request
// is acted on only when Slack signed it with the signing secret within the last five
// minutes: anything unsigned, wrongly signed or stale is answered 401 and nothing is
// done; a signed request that is not a readable interaction is 400. An accepted click
// is answered 200 at once, before any check of who clicked or what (Slack wants an
// answer within 3 seconds), and handled by the workers; 503 when they are not running
// or are full, so that nothing acknowledged is dropped.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.SigningSecret == "" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.reject(w, http.StatusRequestEntityTooLarge, "too_large")
			return
		}
		h.reject(w, http.StatusBadRequest, "malformed")
		return
	}
	if reason, err := verifySignature(r.Header, body, h.opts.SigningSecret); err != nil {
		h.log.Debug("refused an interaction request that Slack did not sign", "reason", reason, "remote", r.RemoteAddr)
		h.reject(w, http.StatusUnauthorized, reason)
		return
	}
	form, err := url.ParseQuery(string(body))
	payload := form.Get("payload")
	if err != nil || payload == "" {
		h.reject(w, http.StatusBadRequest, "malformed")
		return
	}
	clicks, err := parseInteraction([]byte(payload))
	if err != nil {
		h.log.Warn("a signed interaction request lcwnotify cannot read", "err", err)
		h.reject(w, http.StatusBadRequest, "malformed")
		return
	}
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		// A retry carries the same click, which is handled once.
		h.log.Info("Slack retried an interaction request", "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	for _, c := range clicks {
		if !h.enqueue(c) {
			h.reject(w, http.StatusServiceUnavailable, "busy")
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) reject(w http.ResponseWriter, status int, reason string) {
	h.m.rejected(reason)
	http.Error(w, http.StatusText(status), status)
}

// verifySignature checks Slack's v0 signature of body with slack-go's verifier, which
// also refuses a timestamp more than five minutes from now. It returns the reason of a
// refusal: unsigned, stale or bad_signature.
func verifySignature(header http.Header, body []byte, secret string) (string, error) {
	v, err := slack.NewSecretsVerifier(header, secret)
	switch {
	case errors.Is(err, slack.ErrMissingHeaders):
		return "unsigned", err
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return "stale", err
	case err != nil:
		return "bad_signature", err
	}
	if _, err := v.Write(body); err != nil {
		return "bad_signature", err
	}
	if err := v.Ensure(); err != nil {
		return "bad_signature", err
	}
	return "", nil
}
