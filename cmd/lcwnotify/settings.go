package main

// settings is the environment as envconfig reads it, one field per LCW_ variable, in the
// order `lcwnotify help` lists them. Every field is a string: envconfig stops at the
// first value it cannot convert, and a bad configuration must be reported whole, one
// line per bad variable; parse (config.go) converts and validates all of them.
//
// Tags: split_words derives the variable name (GraphURL → LCW_GRAPH_URL; a run of
// capitals is one word, hence NatsTlsCa and SlackApiURL). default is envconfig's
// default; show is what help prints for a default computed at start; desc is the meaning;
// group starts a section in help; secret marks values that are never printed, logged or
// echoed in an error. No field has an explicit envconfig tag: those make envconfig also
// read the unprefixed name.
type settings struct {
	GraphURL                      string `split_words:"true" group:"Microsoft Graph" default:"https://graph.microsoft.com" desc:"Graph root; national clouds: https://graph.microsoft.us, https://dod-graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn"`
	GraphVersion                  string `split_words:"true" default:"v1.0" desc:"v1.0 or beta"`
	GraphScope                    string `split_words:"true" show:"<LCW_GRAPH_URL>/.default" desc:"token scope; must end in /.default (application permissions)"`
	AzureDisableInstanceDiscovery string `split_words:"true" default:"false" desc:"true for authority hosts that are not Microsoft's (private clouds, tests)"`
	AdminCenterURL                string `split_words:"true" show:"from LCW_GRAPH_URL" desc:"Entra admin center linked from notifications: https://entra.microsoft.com; https://entra.microsoft.us for graph.microsoft.us and dod-graph.microsoft.us; https://entra.microsoftonline.cn for China"`

	PollInterval string `split_words:"true" group:"Watching" default:"60s" desc:"time between polls (1s to 24h)"`
	PollOverlap  string `split_words:"true" default:"10m" desc:"each poll re-reads this much before the last one, for clock skew and late report entries (0 to 24h)"`
	Workflows    string `split_words:"true" show:"all" desc:"comma-separated workflow ids to watch"`
	Lookback     string `split_words:"true" default:"0s" desc:"on the very first start (no saved state), results that reached a final status longer ago than this are recorded silently, not announced (0 to 720h)"`
	Instance     string `split_words:"true" show:"hostname" desc:"this process's name in logs, NATS connection names and the polling lease (informational: replicas sharing a name still cannot both hold the lease)"`

	NatsURL            string `split_words:"true" group:"NATS" show:"embedded server" desc:"NATS server URL(s), comma-separated (nats://, tls://); empty runs an embedded server"`
	NatsCreds          string `split_words:"true" desc:"NATS user credentials file, a user JWT and its seed (external server); read again at every reconnect"`
	NatsTlsCa          string `split_words:"true" desc:"CA certificate file (PEM) to verify the NATS server"`
	NatsTLSCert        string `split_words:"true" desc:"client certificate file (PEM) for NATS; needs LCW_NATS_TLS_KEY"`
	NatsTLSKey         string `split_words:"true" desc:"client key file (PEM) for NATS; needs LCW_NATS_TLS_CERT"`
	DataDir            string `split_words:"true" show:"./lcwnotify-data" desc:"embedded server's JetStream store (the demo always uses a temporary one)"`
	NatsListen         string `split_words:"true" show:"no listener" desc:"host:port where the embedded server also accepts subscribers (read-only: the events and consumers of the stream), e.g. 127.0.0.1:4222 for nats sub; they authenticate with LCW_NATS_LISTEN_NKEY"`
	NatsListenNkey     string `split_words:"true" show:"<LCW_DATA_DIR>/subscriber.nk" desc:"file with the subscribers' nkey: a user seed (SU…, mode 0600; nats --nkey reads it) or only its public key (U…); without it a seed is generated there on first start"`
	NatsListenTLSCert  string `split_words:"true" desc:"certificate file (PEM) for LCW_NATS_LISTEN; with LCW_NATS_LISTEN_TLS_KEY the listener requires TLS"`
	NatsListenTLSKey   string `split_words:"true" desc:"key file (PEM) for LCW_NATS_LISTEN_TLS_CERT"`
	NatsListenInsecure string `split_words:"true" default:"false" desc:"true lets LCW_NATS_LISTEN accept other hosts without TLS (refused otherwise)"`
	NatsMaxMemory      string `split_words:"true" default:"64MiB" desc:"embedded server's JetStream memory limit (bytes, or with KiB, MiB, GiB)"`
	NatsMaxStore       string `split_words:"true" default:"1GiB" desc:"embedded server's JetStream disk limit (events and state)"`

	Stream         string `split_words:"true" group:"Events" default:"LCW" desc:"JetStream stream name (KV buckets are named after it)"`
	SubjectPrefix  string `split_words:"true" default:"lcw" desc:"first subject token(s)"`
	StreamReplicas string `split_words:"true" default:"1" desc:"replicas of the stream and KV buckets: 1, or 3 on a JetStream cluster"`
	NotifyStatuses string `split_words:"true" default:"failed,completedWithErrors" desc:"statuses that trigger a notification"`

	SlackToken      string `split_words:"true" group:"Slack" secret:"true" desc:"bot token (xoxb-…); with it, LCW_SLACK_CHANNEL is required"`
	SlackChannel    string `split_words:"true" desc:"default channel id or name"`
	SlackWebhookURL string `split_words:"true" secret:"true" desc:"incoming webhook URL (alternative to the token)"`
	SlackApiURL     string `split_words:"true" default:"https://slack.com/api/" desc:"Slack Web API base URL"`
	SlackRoutes     string `split_words:"true" desc:"key:channel,… where key is a workflow category (joiner, leaver, mover) or a workflow id (needs the token)"`
	SlackMention    string `split_words:"true" desc:"added raw to failure messages, e.g. <!subteam^S0123>"`

	WebhookURL    string `split_words:"true" group:"Webhook" secret:"true" desc:"generic webhook endpoint (Standard Webhooks signing)"`
	WebhookSecret string `split_words:"true" secret:"true" desc:"whsec_… signing secret for LCW_WEBHOOK_URL (required with it)"`
	Console       string `split_words:"true" group:"Console" default:"false" desc:"true prints notifications on stdout as well (a destination of its own)"`

	HTTPAddr        string `split_words:"true" group:"Operations" show:":9090" desc:"/healthz, /readyz, /metrics (demo: only when set)"`
	LogLevel        string `split_words:"true" default:"info" desc:"debug, info, warn or error"`
	LogFormat       string `split_words:"true" default:"json" desc:"json or text (logs go to stderr)"`
	ShutdownTimeout string `split_words:"true" default:"25s" desc:"on SIGINT/SIGTERM, how long deliveries in flight may take to finish"`
}
