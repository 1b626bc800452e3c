package main

// The rules that relate settings to each other, all in one place. Each setting on its
// own is checked by its type and tags as it is read (settings.go); a rule sees every
// setting read, and which variables were given at all, valid or not: a rule about
// whether something is set asks set(), so that a value refused for its form is not also
// reported as missing.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/lcwnotify/lcwnotify/internal/natsembed"
	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/nats-io/nkeys"
)

// rules run in this order after every setting was read; a rule adds to the line of the
// variable it names.
var rules = []func(v *validation){
	activeIntervalWithinPoll,
	azureAuthorityHost,
	natsEmbeddedOrExternal,
	natsFiles,
	natsListener,
	replicasNeedCluster,
	slackTokenOrWebhook,
	slackActions,
	webhookNeedsSecret,
	destinationHTTPS,
	pagerdutyNeedsKey,
	uiNeedsToken,
}

// validation is what a rule sees.
type validation struct {
	*config
	*reading
	getenv func(string) string // for the variables that are not lcwnotify's
}

// set reports whether the variable key was given a non-empty value, valid or not. A key
// that is no setting is a mistake in a rule, which its test finds.
func (v *validation) set(key string) bool {
	given, ok := v.given[key]
	if !ok {
		panic("rules.go: " + key + " is not a setting")
	}
	return given
}

// add records a problem with variable.
func (v *validation) add(variable, format string, args ...any) {
	v.problems.add(variable, format, args...)
}

// requiredWith records that key is required when other is set; why says what to set.
func (v *validation) requiredWith(key, other, why string) {
	if keySet, otherSet := v.set(key), v.set(other); otherSet && !keySet {
		if why != "" {
			why = ": " + why
		}
		v.add(key, "required with %s%s", other, why)
	}
}

// needs records that key has no effect without other; why says why.
func (v *validation) needs(key, other, why string) {
	if keySet, otherSet := v.set(key), v.set(other); keySet && !otherSet {
		v.add(key, "needs %s (%s)", other, why)
	}
}

// activeIntervalWithinPoll: active workflows are polled more often than the others,
// never less.
func activeIntervalWithinPoll(v *validation) {
	if v.set("LCW_POLL_ACTIVE_INTERVAL") && v.PollActiveInterval > v.PollInterval {
		v.add("LCW_POLL_ACTIVE_INTERVAL", "%s is longer than LCW_POLL_INTERVAL (%s): use 1s to %s (equal to it turns adaptive polling off)",
			v.PollActiveInterval, v.PollInterval, v.PollInterval)
	}
}

// azureAuthorityHost: azidentity reads AZURE_AUTHORITY_HOST itself and requires https;
// refusing it here names the variable before anything starts.
func azureAuthorityHost(v *validation) {
	if h := strings.TrimSpace(v.getenv("AZURE_AUTHORITY_HOST")); h != "" {
		if u, err := url.Parse(h); err != nil || u.Scheme != "https" || u.Host == "" {
			v.add("AZURE_AUTHORITY_HOST", "%q: want an https URL such as https://login.microsoftonline.us/", h)
		}
	}
}

// natsExternalOnly are the settings of a connection to an external server.
var natsExternalOnly = []string{"LCW_NATS_CREDS", "LCW_NATS_TLS_CA", "LCW_NATS_TLS_CERT", "LCW_NATS_TLS_KEY"}

// natsEmbeddedOrExternal: settings of the embedded server do nothing with an external
// one, and the other way round; a user who set them meant something else.
func natsEmbeddedOrExternal(v *validation) {
	if v.set("LCW_NATS_URL") {
		if v.set("LCW_NATS_LISTEN") {
			v.add("LCW_NATS_LISTEN", "applies to the embedded server only, and LCW_NATS_URL is set")
		}
		return
	}
	for _, name := range natsExternalOnly {
		if v.set(name) {
			v.add(name, "applies to an external server only: set LCW_NATS_URL, or unset %s to use the embedded server", name)
		}
	}
}

// natsFiles: the files of an external server's connection can be read and hold what they
// should, so that a wrong one stops the start instead of every reconnect failing.
func natsFiles(v *validation) {
	if !v.set("LCW_NATS_URL") {
		return
	}
	if path := v.NatsCreds; path != "" {
		if b, ok := readableFile(v, "LCW_NATS_CREDS", path); ok {
			if what := credsLack(b); what != "" {
				v.add("LCW_NATS_CREDS", "%s holds no %s: use the user's .creds file from your NATS operator (nsc generate creds), which holds both a user JWT and its seed", path, what)
			}
		}
	}
	if path := v.NatsTlsCa; path != "" {
		if b, ok := readableFile(v, "LCW_NATS_TLS_CA", path); ok && !x509.NewCertPool().AppendCertsFromPEM(b) {
			v.add("LCW_NATS_TLS_CA", "%s holds no PEM certificate", path)
		}
	}
	v.requiredWith("LCW_NATS_TLS_KEY", "LCW_NATS_TLS_CERT", "")
	v.requiredWith("LCW_NATS_TLS_CERT", "LCW_NATS_TLS_KEY", "")
	if v.NatsTLSCert != "" && v.NatsTLSKey != "" {
		if _, err := tls.LoadX509KeyPair(v.NatsTLSCert, v.NatsTLSKey); err != nil {
			v.add("LCW_NATS_TLS_CERT", "cannot load the client certificate with LCW_NATS_TLS_KEY: %v", err)
		}
	}
}

// natsListenerSettings tune the embedded server's listener for subscribers.
var natsListenerSettings = []string{"LCW_NATS_LISTEN_NKEY", "LCW_NATS_LISTEN_TLS_CERT", "LCW_NATS_LISTEN_TLS_KEY", "LCW_NATS_LISTEN_INSECURE"}

// natsListener: the listener's settings need the listener, its key file and certificate
// must load, and a listener reachable from other hosts needs TLS unless plaintext was
// asked for.
func natsListener(v *validation) {
	for _, name := range natsListenerSettings {
		switch {
		case !v.set(name), name == "LCW_NATS_LISTEN_INSECURE" && !v.NatsListenInsecure:
		case v.set("LCW_NATS_URL"):
			v.add(name, "applies to the embedded server only, and LCW_NATS_URL is set")
		case !v.set("LCW_NATS_LISTEN"):
			v.add(name, "needs LCW_NATS_LISTEN (the embedded server opens no listener without it)")
		}
	}
	if v.set("LCW_NATS_URL") || v.NatsListen == "" {
		return
	}
	v.requiredWith("LCW_NATS_LISTEN_TLS_KEY", "LCW_NATS_LISTEN_TLS_CERT", "")
	v.requiredWith("LCW_NATS_LISTEN_TLS_CERT", "LCW_NATS_LISTEN_TLS_KEY", "")
	if v.NatsListenTLSCert != "" && v.NatsListenTLSKey != "" {
		if _, err := tls.LoadX509KeyPair(v.NatsListenTLSCert, v.NatsListenTLSKey); err != nil {
			v.add("LCW_NATS_LISTEN_TLS_CERT", "cannot load the certificate with LCW_NATS_LISTEN_TLS_KEY: %v", err)
		}
	}
	if v.NatsListenNkey != "" {
		if _, err := natsembed.ReadNKeyFile(v.NatsListenNkey); err != nil {
			v.add("LCW_NATS_LISTEN_NKEY", "%s", strings.TrimPrefix(err.Error(), "natsembed: "))
		}
	}
	if host, _, err := net.SplitHostPort(string(v.NatsListen)); err == nil && !outbound.IsLoopback(host) && v.NatsListenTLSCert == "" && !v.NatsListenInsecure {
		v.add("LCW_NATS_LISTEN", "%s accepts connections from other hosts, and the listener has no TLS: set "+
			"LCW_NATS_LISTEN_TLS_CERT and LCW_NATS_LISTEN_TLS_KEY, bind it to 127.0.0.1, or accept plaintext with "+
			"LCW_NATS_LISTEN_INSECURE=true", v.NatsListen)
	}
}

// replicasNeedCluster: the embedded server is a single node.
func replicasNeedCluster(v *validation) {
	if !v.set("LCW_NATS_URL") && v.StreamReplicas > 1 {
		v.add("LCW_STREAM_REPLICAS", "%d replicas need a JetStream cluster: set LCW_NATS_URL, or use 1 with the embedded server", v.StreamReplicas)
	}
}

// slackTokenOrWebhook: Slack is a bot token with its channels, or an incoming webhook,
// which posts to the one channel it was made for.
func slackTokenOrWebhook(v *validation) {
	v.requiredWith("LCW_SLACK_CHANNEL", "LCW_SLACK_TOKEN", "the channel id (C0123…) or name to post to")
	if v.set("LCW_SLACK_TOKEN") && v.set("LCW_SLACK_WEBHOOK_URL") {
		v.add("LCW_SLACK_WEBHOOK_URL", "set together with LCW_SLACK_TOKEN: use one of them (the token gives exactly-once delivery and routes)")
	}
	v.needs("LCW_SLACK_CHANNEL", "LCW_SLACK_TOKEN", "an incoming webhook posts to the channel it was made for")
	v.needs("LCW_SLACK_ROUTES", "LCW_SLACK_TOKEN", "an incoming webhook posts to one channel only")
}

// slackActions: someone allowed to act needs a way for the clicks to arrive (Socket
// Mode or the HTTP endpoint) and the bot token (user groups, replies); the endpoint
// needs a port Slack's Request URL can name; the ways in do nothing without someone
// allowed.
func slackActions(v *validation) {
	v.requiredWith("LCW_SLACK_TOKEN", "LCW_ACTIONS_ALLOWED", "the bot token reads user groups and answers the person who clicked")
	if v.set("LCW_ACTIONS_ALLOWED") && !v.set("LCW_SLACK_APP_TOKEN") && !v.set("LCW_SLACK_SIGNING_SECRET") {
		v.add("LCW_ACTIONS_ALLOWED", "needs LCW_SLACK_APP_TOKEN (Socket Mode, no public endpoint) or LCW_SLACK_SIGNING_SECRET (POST /slack/interactions on LCW_HTTP_ADDR) to receive the clicks")
	}
	v.needs("LCW_SLACK_APP_TOKEN", "LCW_ACTIONS_ALLOWED", "nobody may act without it")
	v.needs("LCW_SLACK_SIGNING_SECRET", "LCW_ACTIONS_ALLOWED", "nobody may act without it")
	if v.set("LCW_SLACK_SIGNING_SECRET") {
		if _, port, err := net.SplitHostPort(v.httpAddr()); err == nil && port == "0" {
			v.add("LCW_HTTP_ADDR", "port 0 is a random port, which the Slack app's Request URL cannot name: give LCW_HTTP_ADDR a port for POST /slack/interactions")
		}
	}
}

// webhookNeedsSecret: every webhook is signed.
func webhookNeedsSecret(v *validation) {
	v.requiredWith("LCW_WEBHOOK_SECRET", "LCW_WEBHOOK_URL", "a whsec_… secret the receiver verifies signatures with")
	if v.set("LCW_WEBHOOK_SECRET") && !v.set("LCW_WEBHOOK_URL") {
		v.add("LCW_WEBHOOK_SECRET", "set without LCW_WEBHOOK_URL")
	}
}

// destinationURLs are the settings that name a URL lcwnotify posts notifications to, each
// with the setting that lets it be plain http to another host ("" where none does). A
// destination added later adds its line.
var destinationURLs = []struct {
	name, allowHTTP string
	url             func(*config) secretURL
	allowed         func(*config) bool
}{
	{"LCW_SLACK_WEBHOOK_URL", "", func(c *config) secretURL { return c.SlackWebhookURL }, nil},
	{"LCW_WEBHOOK_URL", "LCW_WEBHOOK_ALLOW_HTTP", func(c *config) secretURL { return c.WebhookURL }, func(c *config) bool { return c.WebhookAllowHTTP }},
	{"LCW_TEAMS_WEBHOOK_URL", "", func(c *config) secretURL { return c.TeamsWebhookURL }, nil},
}

// destinationHTTPS: a destination is https, or http to this machine, unless its own
// setting accepts clear text (outbound.CheckURL, which its client enforces again on
// every request); an allowance with nothing to allow is a mistake.
func destinationHTTPS(v *validation) {
	for _, d := range destinationURLs {
		allowed := d.allowed != nil && d.allowed(v.config)
		if d.allowHTTP != "" && allowed && !v.set(d.name) {
			v.add(d.allowHTTP, "needs %s (it allows that URL to be plain http)", d.name)
		}
		u := d.url(v.config)
		if !u.IsSet() {
			continue
		}
		if _, err := outbound.CheckURL(u.Reveal(), allowed); errors.Is(err, outbound.ErrPlainHTTP) {
			if d.allowHTTP == "" {
				v.add(d.name, "the value must use https (http is accepted for localhost only)")
				continue
			}
			v.add(d.name, "the value must use https (http is accepted for localhost only, or for any host with %s=true, "+
				"which lets anyone on the way read the events and their signatures)", d.allowHTTP)
		}
	}
}

// pagerdutyNeedsKey: the PagerDuty settings page nobody without a routing key.
func pagerdutyNeedsKey(v *validation) {
	if v.set("LCW_PAGERDUTY_ROUTING_KEY") || v.set("LCW_PAGERDUTY_ROUTES") {
		return
	}
	for _, name := range []string{"LCW_PAGERDUTY_URL", "LCW_PAGERDUTY_SEVERITY"} {
		if v.set(name) {
			v.add(name, "needs LCW_PAGERDUTY_ROUTING_KEY or LCW_PAGERDUTY_ROUTES (the integration key of the service to page)")
		}
	}
}

func readableFile(v *validation, name, path string) ([]byte, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			err = pe.Err // the path is in the line already
		}
		v.add(name, "cannot read %s: %v", path, err)
		return nil, false
	}
	return b, true
}

// credsLack names what a NATS credentials file lacks ("user JWT", "user seed"), or
// returns "" for a well-formed one. It says nothing of the content: the seed is secret.
func credsLack(b []byte) string {
	tok, err := nkeys.ParseDecoratedJWT(b)
	tok = strings.TrimSpace(tok)
	if err != nil || tok == "" || strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \t\r\n") {
		return "user JWT"
	}
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		return "user seed"
	}
	kp.Wipe() // as nats.go does with the keys it reads
	return ""
}

// uiNeedsToken: the status page shows user names and replays notifications, so beyond
// loopback it needs its token.
func uiNeedsToken(v *validation) {
	if v.UI && !v.set("LCW_UI_TOKEN") && !v.httpLoopback() {
		v.add("LCW_UI_TOKEN", "required with LCW_UI=true: LCW_HTTP_ADDR %s accepts connections from other hosts, and the "+
			"status page shows user names (set a token of at least %d characters, e.g. openssl rand -base64 32, or bind "+
			"LCW_HTTP_ADDR to 127.0.0.1)", v.httpAddr(), minUITokenLength)
	}
}
