package harness

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/internal/webhooktest"
	"github.com/lcwnotify/lcwnotify/watcher/graph/graphtest"
)

// The identity and secrets a World hands lcwnotify. The secrets are recognisable so that
// a leak is found by a plain substring search (Leaks).
const (
	TenantID     = "e2e0c0de-0000-4000-8000-00000000e2e0"
	ClientID     = "e2ec11e7-0000-4000-8000-00000000e2e1"
	ClientSecret = "e2e-CLIENT-S3CR3T-3f9a61c2"
	SlackToken   = "xoxb-7777-8888-e2eSLACKS3CR3Tc0ffee"
	// WebhookSecret is whsec_ and the base64 of "e2e-WEBHOOK-S3CR3T-0123456789abc" (32 bytes).
	WebhookSecret = "whsec_ZTJlLVdFQkhPT0stUzNDUjNULTAxMjM0NTY3ODlhYmM="
	// DefaultChannel is LCW_SLACK_CHANNEL: a name, as many operators configure it, so the
	// notifier has to look the channel id up to read its history back.
	DefaultChannel = "#lcw-alerts"
)

// Options configure a World.
type Options struct {
	// Dir holds the certificate file and the processes' temporary files. Required.
	Dir string
	// NATSURL is the NATS server lcwnotify connects to (LCW_NATS_URL). Required.
	NATSURL string
	// Sim configures the Graph simulator. Unless ValidToken is set, it accepts the
	// tokens the World's authority issued, as Graph accepts Entra's, and Sim.Token if set
	// (for a client of the caller's own).
	Sim graphsim.Options
	// Slack configures the fake Slack; its Token is always SlackToken.
	Slack slacktest.Options
	// Webhook starts a webhook receiver and configures LCW_WEBHOOK_URL and
	// LCW_WEBHOOK_SECRET for it.
	Webhook bool
}

// World is everything lcwnotify talks to, on loopback: an Entra authority and Graph over
// TLS (their certificate trusted through SSL_CERT_FILE), Slack, optionally a webhook
// receiver. NATS is the caller's (Options.NATSURL), so that tests can restart it.
type World struct {
	Authority *graphtest.Authority
	Sim       *graphsim.Sim
	Slack     *slacktest.Slack
	Webhook   *webhooktest.Receiver // nil unless Options.Webhook
	// CertFile is the PEM file lcwnotify trusts (SSL_CERT_FILE).
	CertFile string

	graph   *httptest.Server
	natsURL string
	dir     string
}

// NewWorld starts the fakes. Close them when done.
func NewWorld(o Options) (*World, error) {
	if o.Dir == "" || o.NATSURL == "" {
		return nil, fmt.Errorf("harness: Options.Dir and Options.NATSURL are required")
	}
	w := &World{Authority: graphtest.NewAuthority(), natsURL: o.NATSURL, dir: o.Dir}
	w.Authority.RequireClientSecret(ClientSecret)
	if o.Sim.ValidToken == nil {
		a := w.Authority
		o.Sim.ValidToken = func(tok string) bool { return slices.Contains(a.Tokens(), tok) }
	}
	w.Sim = graphsim.New(o.Sim)
	w.graph = httptest.NewUnstartedServer(w.Sim)
	// A client killed mid-handshake is what the tests do, not news.
	w.graph.Config.ErrorLog = log.New(io.Discard, "", 0)
	// Graph speaks HTTP/2: the client's concurrent requests share one connection, and
	// a retry that must not reuse it has to close it under the others' feet.
	w.graph.EnableHTTP2 = true
	w.graph.StartTLS()
	o.Slack.Token = SlackToken
	w.Slack = slacktest.New(o.Slack)
	w.Slack.ChannelID(DefaultChannel) // the workspace has the channel before lcwnotify starts
	if o.Webhook {
		w.Webhook = webhooktest.NewReceiver(WebhookSecret)
	}

	certs := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.graph.Certificate().Raw})
	certs = append(certs, w.Authority.CertPEM()...)
	w.CertFile = filepath.Join(o.Dir, "trusted.pem")
	if err := os.WriteFile(w.CertFile, certs, 0o600); err != nil {
		w.Close()
		return nil, fmt.Errorf("harness: %w", err)
	}
	return w, nil
}

// Close stops the fakes.
func (w *World) Close() {
	w.graph.Close()
	w.Authority.Close()
	w.Slack.Close()
	if w.Webhook != nil {
		w.Webhook.Close()
	}
}

// GraphURL is the Graph root lcwnotify is configured with (LCW_GRAPH_URL).
func (w *World) GraphURL() string { return w.graph.URL }

// GraphClient returns an HTTP client that trusts Graph's certificate, for a client of
// the caller's own (with Options.Sim.Token as its bearer token).
func (w *World) GraphClient() *http.Client { return w.graph.Client() }

// Env returns the environment of an lcwnotify process pointed at the World: the real
// azidentity credential from AZURE_* variables against the authority, Graph, NATS,
// Slack with a bot token, 1 s polls, the operations server on a free loopback port, and
// nothing inherited from the caller's environment. Callers adjust it freely.
func (w *World) Env() map[string]string {
	env := map[string]string{
		"TMPDIR":        w.dir,
		"SSL_CERT_FILE": w.CertFile,

		"AZURE_TENANT_ID":                      TenantID,
		"AZURE_CLIENT_ID":                      ClientID,
		"AZURE_CLIENT_SECRET":                  ClientSecret,
		"AZURE_AUTHORITY_HOST":                 w.Authority.URL(),
		"AZURE_TOKEN_CREDENTIALS":              "EnvironmentCredential",
		"LCW_AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
		"LCW_GRAPH_URL":                        w.GraphURL(),

		"LCW_NATS_URL":      w.natsURL,
		"LCW_SLACK_TOKEN":   SlackToken,
		"LCW_SLACK_CHANNEL": DefaultChannel,
		"LCW_SLACK_API_URL": w.Slack.APIURL(),

		"LCW_POLL_INTERVAL":    "1s",
		"LCW_HTTP_ADDR":        "127.0.0.1:0",
		"LCW_LOG_LEVEL":        "debug", // the most a process could leak from
		"LCW_SHUTDOWN_TIMEOUT": "10s",
	}
	if w.Webhook != nil {
		env["LCW_WEBHOOK_URL"] = w.Webhook.URL()
		env["LCW_WEBHOOK_SECRET"] = WebhookSecret
	}
	return env
}

// Secrets returns every secret lcwnotify holds or obtains in this World: the client
// secret, the Slack token, the webhook URL's token and signing secret, and every Graph
// access token the authority issued so far, whole and its claims part alone (the part
// that differs between tokens, should a log cut one short).
func (w *World) Secrets() []string {
	s := []string{ClientSecret, SlackToken, WebhookSecret, strings.TrimPrefix(WebhookSecret, "whsec_")}
	if w.Webhook != nil {
		s = append(s, webhooktest.URLToken)
	}
	for _, tok := range w.Authority.Tokens() {
		s = append(s, tok)
		if parts := strings.Split(tok, "."); len(parts) == 3 {
			s = append(s, parts[1])
		}
	}
	return s
}

// Leaks returns the secrets of w that text contains.
func (w *World) Leaks(text string) []string {
	var found []string
	for _, s := range w.Secrets() {
		if s != "" && strings.Contains(text, s) {
			found = append(found, s)
		}
	}
	return found
}
