package main

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// envPrefix is the prefix of every lcwnotify variable.
const envPrefix = "lcw"

// Defaults that depend on the command or on other settings, and so are not envconfig
// defaults (help shows them through the show tag).
const (
	defaultHTTPAddr = ":9090"
	defaultDataDir  = "./lcwnotify-data"
	defaultInstance = "lcwnotify"
)

// config is the validated configuration, in the types the rest of the program uses.
type config struct {
	Graph   graphConfig
	Watch   watchConfig
	NATS    natsConfig
	Events  eventsConfig
	Slack   slackConfig
	Webhook webhookConfig
	// Console prints notifications on stdout.
	Console bool

	HTTPAddr string
	// HTTPAddrSet reports that LCW_HTTP_ADDR was given: the demo serves HTTP only then.
	HTTPAddrSet     bool
	LogLevel        slog.Level
	LogFormat       string
	ShutdownTimeout time.Duration
	Instance        string
}

type graphConfig struct {
	URL                      string // no trailing slash
	Version                  string
	Scope                    string
	DisableInstanceDiscovery bool
	AdminCenterURL           string
}

type watchConfig struct {
	PollInterval time.Duration
	PollOverlap  time.Duration
	Lookback     time.Duration
	Workflows    []string // empty: all
}

type natsConfig struct {
	// URL is LCW_NATS_URL as given, comma-separated; it may hold credentials
	// (nats://user:pass@host), hence a secret. Servers is the same list fit for logs.
	URL     secret
	Servers []string
	Creds   string // file path
	TLSCA   string
	TLSCert string
	TLSKey  string

	DataDir   string
	Listen    string
	Listener  listenerConfig
	MaxMemory int64
	MaxStore  int64
}

// Embedded reports whether lcwnotify runs its own NATS server.
func (n natsConfig) Embedded() bool { return !n.URL.IsSet() }

type eventsConfig struct {
	Stream         string
	Prefix         string
	Replicas       int
	NotifyStatuses []string
}

type slackConfig struct {
	Token      secret
	Channel    string
	WebhookURL secret
	APIURL     string            // with its trailing slash
	Routes     map[string]string // LCW_SLACK_ROUTES, from slack.ParseRoutes
	Mention    string
}

// Enabled reports whether a Slack destination is configured.
func (s slackConfig) Enabled() bool { return s.Token.IsSet() || s.WebhookURL.IsSet() }

type webhookConfig struct {
	URL    secret
	Secret secret
}

// Enabled reports whether the webhook destination is configured.
func (w webhookConfig) Enabled() bool { return w.URL.IsSet() }

// configError lists every bad setting, one line each.
type configError struct{ problems []string }

func (e *configError) Error() string { return strings.Join(e.problems, "\n") }

// env is what loadConfig reads besides the LCW_ variables: envconfig reads those from
// the process environment itself, so getenv must agree with it (os.Getenv in main).
type env struct {
	getenv   func(string) string
	hostname func() (string, error)
}

// loadConfig reads every LCW_ variable with envconfig and validates all of them. A bad
// configuration is a *configError listing each bad variable.
func loadConfig(e env) (*config, error) {
	var s settings
	if err := envconfig.Process(envPrefix, &s); err != nil {
		// Only string fields: nothing to convert, so this is a programming error.
		return nil, fmt.Errorf("read settings: %w", err)
	}
	applyDefaults(&s)
	return parse(&s, e)
}

// applyDefaults gives an empty variable its default: envconfig lets an empty value
// override the default, which turns `LCW_POLL_INTERVAL=` (a blank line in an env file,
// an unset variable in a compose file) into an error or a silent zero.
func applyDefaults(s *settings) {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		if f := v.Field(i); f.String() == "" {
			f.SetString(t.Field(i).Tag.Get("default"))
		} else {
			f.SetString(strings.TrimSpace(f.String()))
		}
	}
}

// unknownVariables returns an error naming an LCW_ variable lcwnotify does not know,
// most likely a typo, or nil.
func unknownVariables() error {
	return envconfig.CheckDisallowed(envPrefix, &settings{})
}

// problems collects what is wrong with each bad variable, in the order found.
type problems []problem

type problem struct {
	variable string
	msgs     []string
}

// add records a problem with variable. Several problems with one variable share its line.
func (p *problems) add(variable, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for i := range *p {
		if (*p)[i].variable == variable {
			(*p)[i].msgs = append((*p)[i].msgs, msg)
			return
		}
	}
	*p = append(*p, problem{variable: variable, msgs: []string{msg}})
}

// err returns nil or the *configError listing every bad variable, one line each.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	lines := make([]string, len(p))
	for i, pr := range p {
		lines[i] = pr.variable + ": " + strings.Join(pr.msgs, "; ")
	}
	return &configError{problems: lines}
}

// asConfigError reports whether err is a bad configuration (exit 2).
func asConfigError(err error) (*configError, bool) {
	var ce *configError
	ok := errors.As(err, &ce)
	return ce, ok
}
