package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/notify/webhook"
)

// parse converts and validates s. Every bad variable adds one line; nothing stops at the
// first. Values of secrets are never quoted back.
func parse(s *settings, e env) (*config, error) {
	var p problems
	c := &config{}

	c.Graph = parseGraph(s, &p)
	if v := e.getenv("AZURE_AUTHORITY_HOST"); v != "" {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			p.add("AZURE_AUTHORITY_HOST", "%q: want an https URL such as https://login.microsoftonline.us/", v)
		}
	}

	c.Watch.PollInterval = duration(&p, "LCW_POLL_INTERVAL", s.PollInterval, time.Second, 24*time.Hour)
	c.Watch.PollOverlap = duration(&p, "LCW_POLL_OVERLAP", s.PollOverlap, 0, 24*time.Hour)
	c.Watch.Lookback = duration(&p, "LCW_LOOKBACK", s.Lookback, 0, 30*24*time.Hour)
	c.Watch.Workflows = list(s.Workflows)
	for _, id := range c.Watch.Workflows {
		if !isGraphID(id) {
			p.add("LCW_WORKFLOWS", "%q is not a workflow id: ids are letters, digits, '-', '_' and '.'", id)
		}
	}
	c.Instance = s.Instance
	if c.Instance == "" {
		c.Instance = defaultInstanceName(e.hostname)
	} else if !isGraphID(c.Instance) || len(c.Instance) > 64 {
		p.add("LCW_INSTANCE", "%q: use up to 64 letters, digits, '-', '_' and '.'", c.Instance)
	}

	c.NATS = parseNATS(s, &p)

	c.Events.Stream = s.Stream
	if err := events.ValidateStreamName(s.Stream); err != nil {
		p.add("LCW_STREAM", "%s", strings.TrimPrefix(err.Error(), events.ErrInvalidConfig.Error()+": "))
	}
	c.Events.Prefix = s.SubjectPrefix
	if err := events.ValidatePrefix(s.SubjectPrefix); err != nil {
		p.add("LCW_SUBJECT_PREFIX", "%s", strings.TrimPrefix(err.Error(), events.ErrInvalidConfig.Error()+": "))
	}
	c.Events.Replicas = integer(&p, "LCW_STREAM_REPLICAS", s.StreamReplicas, 1, 5)
	if c.NATS.Embedded() && c.Events.Replicas > 1 {
		p.add("LCW_STREAM_REPLICAS", "%d replicas need a JetStream cluster: set LCW_NATS_URL, or use 1 with the embedded server", c.Events.Replicas)
	}
	c.Events.NotifyStatuses = list(s.NotifyStatuses)
	if len(c.Events.NotifyStatuses) == 0 {
		p.add("LCW_NOTIFY_STATUSES", "no status given; the default is failed,completedWithErrors")
	}
	for _, st := range c.Events.NotifyStatuses {
		if !slices.Contains(knownStatuses, st) {
			p.add("LCW_NOTIFY_STATUSES", "%q is not a processing status; use %s", st, suggestStatus(st))
		}
	}

	c.Slack = parseSlack(s, &p)
	c.Webhook = parseWebhook(s, &p)
	c.Console = boolean(&p, "LCW_CONSOLE", s.Console)

	c.HTTPAddr, c.HTTPAddrSet = s.HTTPAddr, s.HTTPAddr != ""
	if !c.HTTPAddrSet {
		c.HTTPAddr = defaultHTTPAddr
	}
	hostPort(&p, "LCW_HTTP_ADDR", c.HTTPAddr)
	switch strings.ToLower(s.LogLevel) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		p.add("LCW_LOG_LEVEL", "%q: use debug, info, warn or error", s.LogLevel)
	}
	c.LogFormat = strings.ToLower(s.LogFormat)
	if c.LogFormat != "json" && c.LogFormat != "text" {
		p.add("LCW_LOG_FORMAT", "%q: use json or text", s.LogFormat)
	}
	c.ShutdownTimeout = duration(&p, "LCW_SHUTDOWN_TIMEOUT", s.ShutdownTimeout, time.Second, 10*time.Minute)

	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// adminCenters maps Graph hosts of the national clouds to their Entra admin center.
var adminCenters = map[string]string{
	"graph.microsoft.us":              "https://entra.microsoft.us",
	"dod-graph.microsoft.us":          "https://entra.microsoft.us",
	"microsoftgraph.chinacloudapi.cn": "https://entra.microsoftonline.cn",
}

func parseGraph(s *settings, p *problems) graphConfig {
	g := graphConfig{Version: s.GraphVersion}
	if u, ok := httpsURL(p, "LCW_GRAPH_URL", s.GraphURL, false); ok {
		if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
			p.add("LCW_GRAPH_URL", "%q: give the root only, such as https://graph.microsoft.com (the version is LCW_GRAPH_VERSION)", s.GraphURL)
		}
		u.Path, u.RawPath = "", ""
		g.URL = u.String()
	}
	if g.Version != "v1.0" && g.Version != "beta" {
		p.add("LCW_GRAPH_VERSION", "%q: use v1.0 or beta", s.GraphVersion)
	}
	g.Scope = s.GraphScope
	if g.Scope == "" && g.URL != "" {
		g.Scope = g.URL + "/.default"
	}
	if s.GraphScope != "" && (!strings.HasSuffix(s.GraphScope, "/.default") || strings.ContainsAny(s.GraphScope, " \t")) {
		p.add("LCW_GRAPH_SCOPE", "%q: application permissions need a scope ending in /.default, such as https://graph.microsoft.com/.default", s.GraphScope)
	}
	g.DisableInstanceDiscovery = boolean(p, "LCW_AZURE_DISABLE_INSTANCE_DISCOVERY", s.AzureDisableInstanceDiscovery)
	if s.AdminCenterURL != "" {
		if u, ok := httpsURL(p, "LCW_ADMIN_CENTER_URL", s.AdminCenterURL, false); ok {
			g.AdminCenterURL = strings.TrimSuffix(u.String(), "/")
		}
	} else if u, err := url.Parse(g.URL); err == nil {
		g.AdminCenterURL = adminCenters[strings.ToLower(u.Hostname())]
		if g.AdminCenterURL == "" {
			g.AdminCenterURL = "https://entra.microsoft.com"
		}
	}
	return g
}

func parseNATS(s *settings, p *problems) natsConfig {
	n := natsConfig{
		Creds: s.NatsCreds, TLSCA: s.NatsTlsCa, TLSCert: s.NatsTLSCert, TLSKey: s.NatsTLSKey,
		DataDir: s.DataDir, Listen: s.NatsListen,
	}
	if n.DataDir == "" {
		n.DataDir = defaultDataDir
	}
	n.MaxMemory = byteSize(p, "LCW_NATS_MAX_MEMORY", s.NatsMaxMemory, 1<<20)
	n.MaxStore = byteSize(p, "LCW_NATS_MAX_STORE", s.NatsMaxStore, 16<<20)

	servers := list(s.NatsURL)
	if len(servers) > 0 {
		n.URL = newSecret(strings.Join(servers, ","))
	}
	for i, raw := range servers {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) {
			// The URL may carry a password: never quote it.
			p.add("LCW_NATS_URL", "entry %d is not a NATS URL: use nats://host:4222 or tls://host:4222, comma-separated", i+1)
			continue
		}
		n.Servers = append(n.Servers, u.Scheme+"://"+u.Host)
	}

	n.Listener = parseListener(p, n.Listen, s.NatsListenNkey, s.NatsListenTLSCert, s.NatsListenTLSKey, s.NatsListenInsecure, n.Embedded())
	if n.Embedded() {
		for _, v := range []struct{ name, value string }{
			{"LCW_NATS_CREDS", n.Creds}, {"LCW_NATS_TLS_CA", n.TLSCA},
			{"LCW_NATS_TLS_CERT", n.TLSCert}, {"LCW_NATS_TLS_KEY", n.TLSKey},
		} {
			if v.value != "" {
				p.add(v.name, "applies to an external server only: set LCW_NATS_URL, or unset %s to use the embedded server", v.name)
			}
		}
		if n.Listen != "" {
			hostPort(p, "LCW_NATS_LISTEN", n.Listen)
		}
		return n
	}
	if n.Listen != "" {
		p.add("LCW_NATS_LISTEN", "applies to the embedded server only, and LCW_NATS_URL is set")
	}
	if n.Creds != "" {
		if b, ok := readableFile(p, "LCW_NATS_CREDS", n.Creds); ok {
			if what := credsLack(b); what != "" {
				p.add("LCW_NATS_CREDS", "%s holds no %s: use the user's .creds file from your NATS operator (nsc generate creds), which holds both a user JWT and its seed", n.Creds, what)
			}
		}
	}
	if n.TLSCA != "" {
		if b, ok := readableFile(p, "LCW_NATS_TLS_CA", n.TLSCA); ok && !x509.NewCertPool().AppendCertsFromPEM(b) {
			p.add("LCW_NATS_TLS_CA", "%s holds no PEM certificate", n.TLSCA)
		}
	}
	switch {
	case n.TLSCert != "" && n.TLSKey != "":
		if _, err := tls.LoadX509KeyPair(n.TLSCert, n.TLSKey); err != nil {
			p.add("LCW_NATS_TLS_CERT", "cannot load the client certificate with LCW_NATS_TLS_KEY: %v", err)
		}
	case n.TLSCert != "":
		p.add("LCW_NATS_TLS_KEY", "required with LCW_NATS_TLS_CERT")
	case n.TLSKey != "":
		p.add("LCW_NATS_TLS_CERT", "required with LCW_NATS_TLS_KEY")
	}
	return n
}

func parseSlack(s *settings, p *problems) slackConfig {
	c := slackConfig{
		Token: newSecret(s.SlackToken), Channel: s.SlackChannel, WebhookURL: newSecret(s.SlackWebhookURL),
		Mention: s.SlackMention,
	}
	if c.Token.IsSet() {
		t := c.Token.Reveal()
		if !(strings.HasPrefix(t, "xoxb-") || strings.HasPrefix(t, "xoxp-")) || strings.ContainsAny(t, " \t\r\n") {
			p.add("LCW_SLACK_TOKEN", "does not look like a Slack token: want a bot token xoxb-… (or a user token xoxp-…)")
		}
		if c.Channel == "" {
			p.add("LCW_SLACK_CHANNEL", "required with LCW_SLACK_TOKEN: the channel id (C0123…) or name to post to")
		}
		if c.WebhookURL.IsSet() {
			p.add("LCW_SLACK_WEBHOOK_URL", "set together with LCW_SLACK_TOKEN: use one of them (the token gives exactly-once delivery and routes)")
		}
	} else {
		if c.Channel != "" {
			p.add("LCW_SLACK_CHANNEL", "needs LCW_SLACK_TOKEN (an incoming webhook posts to the channel it was made for)")
		}
		if s.SlackRoutes != "" {
			p.add("LCW_SLACK_ROUTES", "needs LCW_SLACK_TOKEN (an incoming webhook posts to one channel only)")
		}
	}
	if c.Channel != "" && strings.ContainsAny(c.Channel, " \t\r\n,:") {
		p.add("LCW_SLACK_CHANNEL", "%q: one channel id (C0123…) or name", c.Channel)
	}
	if c.WebhookURL.IsSet() {
		secretURL(p, "LCW_SLACK_WEBHOOK_URL", c.WebhookURL.Reveal())
	}
	if u, ok := httpsURL(p, "LCW_SLACK_API_URL", s.SlackApiURL, false); ok {
		// slack-go appends method names to the base: it needs the trailing slash.
		c.APIURL = strings.TrimSuffix(u.String(), "/") + "/"
	}
	if s.SlackRoutes != "" {
		routes, err := slack.ParseRoutes(s.SlackRoutes)
		if err != nil {
			p.add("LCW_SLACK_ROUTES", "%s", strings.TrimPrefix(err.Error(), "LCW_SLACK_ROUTES: "))
		}
		c.Routes = routes
	}
	if strings.ContainsAny(c.Mention, "\r\n") || len(c.Mention) > 500 {
		p.add("LCW_SLACK_MENTION", "one line of up to 500 characters, such as <!subteam^S0123> or <@U0123>")
	}
	return c
}

func parseWebhook(s *settings, p *problems) webhookConfig {
	w := webhookConfig{URL: newSecret(s.WebhookURL), Secret: newSecret(s.WebhookSecret)}
	switch {
	case w.URL.IsSet() && !w.Secret.IsSet():
		p.add("LCW_WEBHOOK_SECRET", "required with LCW_WEBHOOK_URL: a whsec_… secret the receiver verifies signatures with")
	case !w.URL.IsSet() && w.Secret.IsSet():
		p.add("LCW_WEBHOOK_SECRET", "set without LCW_WEBHOOK_URL")
	}
	if w.URL.IsSet() {
		secretURL(p, "LCW_WEBHOOK_URL", w.URL.Reveal())
	}
	if w.Secret.IsSet() {
		if _, err := webhook.ParseSecret(w.Secret.Reveal()); err != nil {
			p.add("LCW_WEBHOOK_SECRET", "%v", err)
		}
	}
	return w
}

// knownStatuses are the processing statuses Graph documents.
var knownStatuses = []string{
	events.StatusQueued, events.StatusInProgress, events.StatusCompleted, events.StatusCompletedWithErrors,
	events.StatusCanceled, events.StatusFailed, events.StatusUnknownFutureValue, events.StatusCanceling,
	events.StatusQuarantined,
}

func suggestStatus(st string) string {
	for _, k := range knownStatuses {
		if strings.EqualFold(k, st) {
			return fmt.Sprintf("%q (statuses are case-sensitive)", k)
		}
	}
	return strings.Join(knownStatuses, ", ")
}
