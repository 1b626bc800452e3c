package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// checkTimeout bounds each check: a token (azcore retries for about 16 s on TLS
// failures), one Graph list, NATS, Slack.
const checkTimeout = 45 * time.Second

// checker prints one line per check as it completes and remembers whether any failed.
type checker struct {
	w      io.Writer
	failed bool
}

func (c *checker) ok(name, format string, args ...any) {
	fmt.Fprintf(c.w, "ok    %-10s %s\n", name, fmt.Sprintf(format, args...))
}

func (c *checker) skip(name, format string, args ...any) {
	fmt.Fprintf(c.w, "skip  %-10s %s\n", name, fmt.Sprintf(format, args...))
}

// fail prints what went wrong and what to do, on one line.
func (c *checker) fail(name string, err error, todo string) {
	c.failed = true
	fmt.Fprintf(c.w, "FAIL  %-10s %s; %s\n", name, oneLine(err.Error()), todo)
}

// oneLine flattens a multi-line error (azidentity lists every credential it tried) and
// bounds its length, so that each check stays one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// check validates the configuration (already done when it runs), then reaches Graph,
// NATS and the destinations, and reports each on one line. It exits 1 (errReported)
// when any check failed.
func check(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer, getenv func(string) string) error {
	c := &checker{w: stdout}
	c.ok("config", "%s", describeConfig(cfg))

	g := c.checkGraph(ctx, cfg, getenv)
	nc := c.checkNATS(ctx, cfg, log)
	if nc != nil {
		defer nc.close(context.Background())
	}
	c.checkDestinations(ctx, cfg, log)
	if cfg.Actions.Enabled() {
		c.checkActions(ctx, cfg, g)
	}

	if c.failed {
		return errReported
	}
	return nil
}

func describeConfig(cfg *config) string {
	var parts []string
	if cfg.NATS.Embedded() {
		parts = append(parts, "embedded NATS in "+cfg.NATS.DataDir)
	} else {
		parts = append(parts, "NATS "+strings.Join(cfg.NatsURL.Servers, ","))
	}
	parts = append(parts, fmt.Sprintf("stream %s, subjects %s.result.>", cfg.Stream, cfg.SubjectPrefix))
	poll := "poll every " + cfg.PollInterval.String()
	if cfg.PollActiveInterval > 0 && cfg.PollActiveInterval < cfg.PollInterval {
		poll += ", active workflows every " + cfg.PollActiveInterval.String()
	}
	parts = append(parts, poll)
	if len(cfg.Workflows) > 0 {
		parts = append(parts, fmt.Sprintf("%d workflows", len(cfg.Workflows)))
	} else {
		parts = append(parts, "all workflows")
	}
	return strings.Join(parts, "; ")
}

// checkGraph gets a token and reads the workflows; it returns the client when Graph
// answered, for the checks that need it.
func (c *checker) checkGraph(ctx context.Context, cfg *config, getenv func(string) string) *graph.Client {
	cred, err := graph.NewCredential(graph.CredentialOptions{DisableInstanceDiscovery: cfg.AzureDisableInstanceDiscovery})
	if err != nil {
		c.fail("graph", err, "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or a certificate, workload or managed identity)")
		return nil
	}
	tctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	tok, err := cred.GetToken(tctx, policy.TokenRequestOptions{Scopes: []string{string(cfg.GraphScope)}})
	if err != nil {
		c.fail("token", err, "check AZURE_TENANT_ID, AZURE_CLIENT_ID and the client secret or certificate; for a national cloud set AZURE_AUTHORITY_HOST and LCW_GRAPH_URL")
		c.skip("graph", "no token")
		return nil
	}
	c.ok("token", "token for %s, valid until %s", cfg.GraphScope, tok.ExpiresOn.UTC().Format(time.RFC3339))
	return c.checkGraphRead(ctx, cfg, cachedToken{tok}, getenv("AZURE_TENANT_ID"))
}

// cachedToken hands the token check got to the Graph client, so that check asks the
// identity platform once.
type cachedToken struct{ tok azcore.AccessToken }

func (t cachedToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return t.tok, nil
}

func (c *checker) checkGraphRead(ctx context.Context, cfg *config, cred azcore.TokenCredential, tenantID string) *graph.Client {
	g, err := graph.New(graph.Options{
		BaseURL: string(cfg.GraphURL), Version: cfg.GraphVersion, Scope: string(cfg.GraphScope), Credential: cred,
		TenantID: tenantID, MaxRetryTime: 20 * time.Second,
	})
	if err != nil {
		c.fail("graph", err, "fix LCW_GRAPH_URL or LCW_GRAPH_VERSION")
		return nil
	}
	gctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	wfs, err := g.ListWorkflows(gctx)
	if aerr := g.Access(); err != nil && aerr != nil {
		// It names the permission and what the refused token carries.
		c.fail("graph", aerr, "then run check again")
		return nil
	}
	switch {
	case errors.Is(err, graph.ErrForbidden):
		c.fail("graph", err, "grant the application LifecycleWorkflows-Workflow.ReadBasic.All and LifecycleWorkflows-Reports.Read.All with admin consent (docs/graph-permissions.md)")
		return nil
	case errors.Is(err, graph.ErrUnauthorized):
		c.fail("graph", err, "the token was refused: LCW_GRAPH_URL, LCW_GRAPH_SCOPE and AZURE_AUTHORITY_HOST must name the same cloud")
		return nil
	case err != nil:
		c.fail("graph", err, "check that "+hostOf(string(cfg.GraphURL))+" is reachable (proxy, firewall)")
		return nil
	}
	var missing []string
	for _, id := range cfg.Workflows {
		if !slices.ContainsFunc(wfs, func(w graph.Workflow) bool { return w.ID == id }) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		c.fail("graph", fmt.Errorf("LCW_WORKFLOWS names workflows the tenant does not have: %s", strings.Join(missing, ", ")),
			"fix the ids (Entra admin center → Identity governance → Lifecycle workflows)")
		return nil
	}
	c.ok("graph", "listed %d lifecycle workflows at %s/%s", len(wfs), cfg.GraphURL, cfg.GraphVersion)
	return g
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

// checkNATS reaches NATS and JetStream and returns the connection, or nil when it failed.
func (c *checker) checkNATS(ctx context.Context, cfg *config, log *slog.Logger) *natsConn {
	nctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	nc, err := connectNATS(nctx, cfg.NATS, natsOptions{name: "lcwnotify check", drainTimeout: 5 * time.Second, failFast: true, scope: newListenerScope(cfg)}, log)
	switch {
	case errors.Is(err, natsembed.ErrStoreLocked):
		c.skip("nats", "the embedded store in %s is in use by a running lcwnotify: its /readyz reports NATS", cfg.NATS.DataDir)
		return nil
	case err != nil:
		todo := "check LCW_NATS_URL, LCW_NATS_CREDS and the TLS files, and that the servers are reachable"
		if cfg.NATS.Embedded() {
			todo = "LCW_DATA_DIR must be a writable directory"
		}
		c.fail("nats", err, todo)
		return nil
	}
	info, err := nc.js.AccountInfo(nctx)
	if err != nil {
		nc.close(context.Background())
		c.fail("nats", fmt.Errorf("JetStream: %w", err), "enable JetStream for this account on the NATS servers")
		return nil
	}
	where := "embedded server in " + cfg.NATS.DataDir
	if !cfg.NATS.Embedded() {
		where = nc.nc.ConnectedUrlRedacted()
	}
	stream := "not created yet"
	if s, err := nc.js.Stream(nctx, string(cfg.Stream)); err == nil {
		if si, err := s.Info(nctx); err == nil {
			stream = fmt.Sprintf("%d events, %s", si.State.Msgs, byteCount(si.State.Bytes))
		}
	}
	c.ok("nats", "JetStream at %s: %d streams, %s stored; stream %s: %s",
		where, info.Streams, byteCount(info.Store), cfg.Stream, stream)
	return nc
}

func byteCount(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (c *checker) checkDestinations(ctx context.Context, cfg *config, log *slog.Logger) {
	if len(destinations(cfg)) == 0 {
		c.skip("notify", "no destination configured: `run` and `notify` refuse to start without LCW_SLACK_TOKEN, LCW_SLACK_WEBHOOK_URL, LCW_WEBHOOK_URL, LCW_PAGERDUTY_ROUTING_KEY, LCW_TEAMS_WEBHOOK_URL or LCW_CONSOLE")
		return
	}
	if cfg.Slack.Enabled() {
		c.checkSlack(ctx, cfg, log)
	}
	if cfg.Webhook.Enabled() {
		u, _ := url.Parse(cfg.WebhookURL.Reveal())
		c.ok("webhook", "events are signed and POSTed to %s://%s/… (not called: a test delivery would be a real notification)", u.Scheme, u.Host)
	}
	if cfg.PagerDuty.Enabled() {
		c.checkPagerDuty(ctx, cfg)
	}
	if cfg.Teams.Enabled() {
		c.checkTeams(ctx, cfg)
	}
	if cfg.Console {
		c.ok("console", "notifications are printed on stdout")
	}
}

// checkSlack calls auth.test with the bot token and checks its scopes; an incoming
// webhook cannot be tested without posting.
func (c *checker) checkSlack(ctx context.Context, cfg *config, log *slog.Logger) {
	sctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	n, err := newSlack(slackSinkConfig(cfg, nil), log)
	if err != nil {
		c.fail("slack", err, "fix the Slack settings")
		return
	}
	if err := n.Check(sctx); err != nil {
		c.fail("slack", err, "check LCW_SLACK_TOKEN (the app's bot token) and LCW_SLACK_API_URL")
		return
	}
	if cfg.SlackToken.IsSet() {
		c.ok("slack", "bot token accepted by auth.test with the scopes lcwnotify needs; default channel %s", cfg.SlackChannel)
		return
	}
	u, _ := url.Parse(cfg.SlackWebhookURL.Reveal())
	c.ok("slack", "incoming webhook at %s://%s/… (not called: a test post would be a real message)", u.Scheme, u.Host)
}
