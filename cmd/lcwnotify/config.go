package main

import (
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/lcwnotify/lcwnotify/watcher"
	"github.com/lcwnotify/lcwnotify/watcher/digest"
)

// envPrefix is the prefix of every lcwnotify variable.
const envPrefix = "lcw"

// Defaults worked out at start, which envconfig's default tag cannot give (help shows
// them through the show tag).
const (
	defaultHTTPAddr = ":9090"
	defaultInstance = "lcwnotify"
)

// config is every setting, one field per LCW_ variable, in the order `lcwnotify help`
// lists them, typed as the program uses them; settings.go describes the tags. The
// sections are embedded so that envconfig names each variable after its field alone
// (GraphURL → LCW_GRAPH_URL; a run of capitals is one word, hence NatsTlsCa and
// SlackApiURL). A setting is added with one field, and where it depends on another
// setting, one rule in rules.go.
type config struct {
	Graph
	Watch
	Digests
	NATS
	Events
	Slack
	Actions
	Webhook
	PagerDuty
	Teams
	Console bool `split_words:"true" group:"Console" default:"false" desc:"true prints notifications on stdout as well (a destination of its own)"`
	Operations
}

// Graph is where and how Microsoft Graph is read.
type Graph struct {
	GraphURL                      graphURL   `split_words:"true" group:"Microsoft Graph" default:"https://graph.microsoft.com" desc:"Graph root; national clouds: https://graph.microsoft.us, https://dod-graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn"`
	GraphVersion                  string     `split_words:"true" default:"v1.0" oneof:"v1.0,beta" desc:"v1.0 or beta"`
	GraphScope                    graphScope `split_words:"true" show:"<LCW_GRAPH_URL>/.default" desc:"token scope; must end in /.default (application permissions)"`
	AzureDisableInstanceDiscovery bool       `split_words:"true" default:"false" desc:"true for authority hosts that are not Microsoft's (private clouds, tests)"`
	AdminCenterURL                httpsURL   `split_words:"true" show:"from LCW_GRAPH_URL" desc:"Entra admin center linked from notifications: https://entra.microsoft.com; https://entra.microsoft.us for graph.microsoft.us and dod-graph.microsoft.us; https://entra.microsoftonline.cn for China"`
}

// Watch is what the watcher polls, and how often.
type Watch struct {
	PollInterval time.Duration `split_words:"true" group:"Watching" default:"60s" min:"1s" max:"24h" desc:"time between polls"`
	// PollActiveInterval is zero until derive gives it its default.
	PollActiveInterval time.Duration `split_words:"true" show:"5s" min:"1s" desc:"time between polls of a workflow in which something can change soon: a run or result not final, a scheduled run due, a re-run from Slack; up to LCW_POLL_INTERVAL, which it defaults to when that is shorter; equal to LCW_POLL_INTERVAL turns adaptive polling off"`
	PollOverlap        time.Duration `split_words:"true" default:"10m" min:"0" max:"24h" desc:"each poll re-reads this much before the last one, for clock skew and late report entries"`
	Workflows          workflowIDs   `split_words:"true" show:"all" desc:"comma-separated workflow ids to watch"`
	Lookback           time.Duration `split_words:"true" default:"0s" min:"0" max:"720h" desc:"on the very first start (no saved state), results that reached a final status longer ago than this are recorded silently, not announced"`
	Instance           instanceName  `split_words:"true" show:"hostname" desc:"this process's name in logs, NATS connection names and the polling lease (informational: replicas sharing a name still cannot both hold the lease)"`
}

// Digests is the periodic report on the watched workflows.
type Digests struct {
	Digest   digestSpec `split_words:"true" group:"Digest" show:"off" desc:"a report on the watched workflows at the end of each period, once per period by the watcher holding the lease: daily@HH:MM or weekly@DAY HH:MM (DAY mon … sun), e.g. daily@09:00 or weekly@mon 09:00"`
	DigestTZ timeZone   `split_words:"true" default:"UTC" desc:"IANA time zone of LCW_DIGEST (daylight saving included) and of the times lcwnotify digest prints, e.g. Europe/Berlin"`
}

// schedule returns the digest's schedule, nil when LCW_DIGEST is off. Both values were
// checked as they were read.
func (d Digests) schedule() (*digest.Schedule, error) {
	if d.Digest == "" {
		return nil, nil
	}
	loc, err := d.DigestTZ.location()
	if err != nil {
		return nil, err
	}
	return digest.Parse(string(d.Digest), loc)
}

// NATS is the NATS server lcwnotify uses: an external one, or the embedded one.
type NATS struct {
	NatsURL            natsURLs `split_words:"true" group:"NATS" show:"embedded server" desc:"NATS server URL(s), comma-separated (nats://, tls://); empty runs an embedded server"`
	NatsCreds          string   `split_words:"true" desc:"NATS user credentials file, a user JWT and its seed (external server); read again at every reconnect"`
	NatsTlsCa          string   `split_words:"true" desc:"CA certificate file (PEM) to verify the NATS server"`
	NatsTLSCert        string   `split_words:"true" desc:"client certificate file (PEM) for NATS; needs LCW_NATS_TLS_KEY"`
	NatsTLSKey         string   `split_words:"true" desc:"client key file (PEM) for NATS; needs LCW_NATS_TLS_CERT"`
	DataDir            string   `split_words:"true" default:"./lcwnotify-data" desc:"embedded server's JetStream store (the demo always uses a temporary one)"`
	NatsListen         hostPort `split_words:"true" show:"no listener" desc:"host:port where the embedded server also accepts subscribers (read-only: the events and consumers of the stream), e.g. 127.0.0.1:4222 for nats sub; they authenticate with LCW_NATS_LISTEN_NKEY"`
	NatsListenNkey     string   `split_words:"true" show:"<LCW_DATA_DIR>/subscriber.nk" desc:"file with the subscribers' nkey: a user seed (SU…, mode 0600; nats --nkey reads it) or only its public key (U…); without it a seed is generated there on first start"`
	NatsListenTLSCert  string   `split_words:"true" desc:"certificate file (PEM) for LCW_NATS_LISTEN; with LCW_NATS_LISTEN_TLS_KEY the listener requires TLS"`
	NatsListenTLSKey   string   `split_words:"true" desc:"key file (PEM) for LCW_NATS_LISTEN_TLS_CERT"`
	NatsListenInsecure bool     `split_words:"true" default:"false" desc:"true lets LCW_NATS_LISTEN accept other hosts without TLS (refused otherwise)"`
	NatsMaxMemory      byteSize `split_words:"true" default:"64MiB" min:"1MiB" desc:"embedded server's JetStream memory limit: bytes, or with KiB, MiB, GiB"`
	NatsMaxStore       byteSize `split_words:"true" default:"1GiB" min:"16MiB" desc:"embedded server's JetStream disk limit (events and state)"`
}

// Embedded reports whether lcwnotify runs its own NATS server.
func (n NATS) Embedded() bool { return !n.NatsURL.IsSet() }

// Events is the stream the watcher publishes to, and what is notified.
type Events struct {
	Stream         streamName    `split_words:"true" group:"Events" default:"LCW" desc:"JetStream stream name (KV buckets are named after it)"`
	SubjectPrefix  subjectPrefix `split_words:"true" default:"lcw" desc:"first subject token(s)"`
	StreamReplicas int           `split_words:"true" default:"1" min:"1" max:"5" desc:"replicas of the stream and KV buckets: 1, or 3 on a JetStream cluster"`
	NotifyStatuses statusList    `split_words:"true" default:"failed,completedWithErrors" desc:"statuses that trigger a notification"`
}

// Slack is the Slack destination: a bot token and channels, or an incoming webhook.
type Slack struct {
	SlackToken      slackBotToken `split_words:"true" group:"Slack" desc:"bot token (xoxb-…); with it, LCW_SLACK_CHANNEL is required"`
	SlackChannel    slackChannel  `split_words:"true" desc:"default channel id or name"`
	SlackWebhookURL secretURL     `split_words:"true" desc:"incoming webhook URL (alternative to the token)"`
	SlackApiURL     httpsURL      `split_words:"true" default:"https://slack.com/api/" desc:"Slack Web API base URL"`
	SlackRoutes     routeList     `split_words:"true" desc:"key:channel,… where key is a workflow category (joiner, leaver, mover) or a workflow id (needs the token)"`
	SlackMention    slackMention  `split_words:"true" desc:"added raw to failure messages, e.g. <!subteam^S0123>"`
}

// Enabled reports whether a Slack destination is configured.
func (s Slack) Enabled() bool { return s.SlackToken.IsSet() || s.SlackWebhookURL.IsSet() }

// Actions let on-call people re-run a failure from its Slack message. Off unless
// LCW_ACTIONS_ALLOWED names someone: lcwnotify then only reads.
type Actions struct {
	SlackAppToken      slackAppToken      `split_words:"true" group:"Slack actions" desc:"app-level token (xapp-…, scope connections:write): receive button clicks over Socket Mode, no public endpoint needed"`
	SlackSigningSecret slackSigningSecret `split_words:"true" desc:"the Slack app's signing secret: receive button clicks at POST /slack/interactions on LCW_HTTP_ADDR instead"`
	ActionsAllowed     actorList          `split_words:"true" show:"nobody: no buttons" desc:"Slack user ids (U…, W…) and user group ids (S…) who may re-run failed workflows from Slack (run and watch act: docs/actions.md)"`
}

// Enabled reports whether actions are on: someone may act.
func (a Actions) Enabled() bool { return len(a.ActionsAllowed) > 0 }

// Webhook is the generic webhook destination.
type Webhook struct {
	WebhookURL       secretURL     `split_words:"true" group:"Webhook" desc:"generic webhook endpoint (Standard Webhooks signing): https, or http to localhost; redirects are not followed"`
	WebhookSecret    webhookSecret `split_words:"true" desc:"whsec_… signing secret for LCW_WEBHOOK_URL (required with it)"`
	WebhookAllowHTTP bool          `split_words:"true" default:"false" desc:"true accepts an http LCW_WEBHOOK_URL on another host (events and signatures then cross the network readable)"`
}

// Enabled reports whether the webhook destination is configured.
func (w Webhook) Enabled() bool { return w.WebhookURL.IsSet() }

// PagerDuty is the PagerDuty destination: Events API v2 integration keys.
type PagerDuty struct {
	PagerdutyRoutingKey pagerdutyKey    `split_words:"true" group:"PagerDuty" desc:"Events API v2 integration key (32 characters) of the service to page; each failure is an alert of its user, resolved when the user's later result completes"`
	PagerdutyURL        httpsURL        `split_words:"true" default:"https://events.pagerduty.com" desc:"Events API root; alerts are POSTed to <url>/v2/enqueue (EU service region: https://events.eu.pagerduty.com)"`
	PagerdutyRoutes     pagerdutyRoutes `split_words:"true" desc:"key:integration-key,… where key is a workflow category (joiner, leaver, mover) or a workflow id, paged on another service instead"`
	PagerdutySeverity   string          `split_words:"true" oneof:"critical,error,warning,info" show:"error; warning for completedWithErrors" desc:"severity of every failure's alert: critical, error, warning or info (quarantines are critical, disabled workflows warnings)"`
}

// Enabled reports whether the PagerDuty destination is configured.
func (p PagerDuty) Enabled() bool { return p.PagerdutyRoutingKey.IsSet() || p.PagerdutyRoutes.IsSet() }

// Teams is the Microsoft Teams destination: Workflows webhooks.
type Teams struct {
	TeamsWebhookURL secretURL   `split_words:"true" group:"Microsoft Teams" desc:"URL of the channel's Workflows flow \"post to a channel when a webhook request is received\""`
	TeamsRoutes     teamsRoutes `split_words:"true" desc:"key:webhook-url,… where key is a workflow category (joiner, leaver, mover) or a workflow id, posted to another channel's flow instead"`
}

// Enabled reports whether the Teams destination is configured.
func (t Teams) Enabled() bool { return t.TeamsWebhookURL.IsSet() || t.TeamsRoutes.IsSet() }

// Operations is how the process serves probes and metrics, logs, and stops.
type Operations struct {
	HTTPAddr        hostPort      `split_words:"true" group:"Operations" show:":9090" desc:"/healthz, /readyz, /metrics (demo: only when set)"`
	LogLevel        logLevel      `split_words:"true" default:"info" desc:"debug, info, warn or error"`
	LogFormat       string        `split_words:"true" default:"json" oneof:"json,text" desc:"json or text (logs go to stderr)"`
	ShutdownTimeout time.Duration `split_words:"true" default:"25s" min:"1s" max:"10m" desc:"on SIGINT/SIGTERM, how long deliveries in flight may take to finish"`
	UI              bool          `split_words:"true" default:"false" desc:"true serves the status page (/) and its API (/api/) on LCW_HTTP_ADDR: failures with user names, where each was told, dead letters and their replay"`
	UIToken         uiToken       `split_words:"true" desc:"token the status page and its API require (a bearer header, or the page's login), at least 32 characters, e.g. openssl rand -base64 32; required with LCW_UI=true unless LCW_HTTP_ADDR is a loopback address; the operator commands send it"`
}

// httpLoopback reports whether the operations server listens on loopback addresses only.
func (o Operations) httpLoopback() bool {
	host, _, err := net.SplitHostPort(o.httpAddr())
	return err == nil && outbound.IsLoopback(host)
}

// httpAddr is where the operations server listens: LCW_HTTP_ADDR, or :9090. The demo
// serves only when LCW_HTTP_ADDR is set.
func (o Operations) httpAddr() string {
	if o.HTTPAddr == "" {
		return defaultHTTPAddr
	}
	return string(o.HTTPAddr)
}

// env is what loadConfig reads: the environment (os.Getenv in main) and the host name.
type env struct {
	getenv   func(string) string
	hostname func() (string, error)
}

// loadConfig reads every LCW_ variable and validates all of them: each on its own, then
// against each other (rules.go). A bad configuration is a *configError listing each bad
// variable on one line.
func loadConfig(e env) (*config, error) {
	c := &config{}
	r, err := readSettings(envPrefix, c, e.getenv)
	if err != nil {
		return nil, err
	}
	c.derive(e)
	v := &validation{config: c, reading: r, getenv: e.getenv}
	for _, rule := range rules {
		rule(v)
	}
	if err := r.problems.err(r.settings); err != nil {
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

// derive fills the settings whose default depends on another setting or on the host:
// the ones help shows with a show tag.
func (c *config) derive(e env) {
	if c.GraphScope == "" && c.GraphURL != "" {
		c.GraphScope = graphScope(c.GraphURL + "/.default")
	}
	if c.AdminCenterURL == "" && c.GraphURL != "" {
		c.AdminCenterURL = "https://entra.microsoft.com"
		if u, err := url.Parse(string(c.GraphURL)); err == nil && adminCenters[strings.ToLower(u.Hostname())] != "" {
			c.AdminCenterURL = httpsURL(adminCenters[strings.ToLower(u.Hostname())])
		}
	}
	if c.Instance == "" {
		c.Instance = instanceName(defaultInstanceName(e.hostname))
	}
	if c.PollActiveInterval == 0 {
		c.PollActiveInterval = min(watcher.DefaultActiveInterval, c.PollInterval)
	}
}

// defaultInstanceName is the host name, made safe for NATS names and KV values.
func defaultInstanceName(hostname func() (string, error)) string {
	h, err := hostname()
	if err != nil || h == "" {
		return defaultInstance
	}
	var b strings.Builder
	for _, r := range h {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// unknownVariables returns an error naming an LCW_ variable lcwnotify does not know,
// most likely a typo, or nil.
func unknownVariables() error {
	return envconfig.CheckDisallowed(envPrefix, &config{})
}
