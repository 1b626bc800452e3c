package interact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/outbound"
)

// Defaults of Options.
const (
	// DefaultCallTimeout bounds one activation call, Graph's retries of 429 and 503
	// included. The lease of the process calling outlasts it.
	DefaultCallTimeout = 90 * time.Second
	// DefaultGrace is how long after a call's deadline a claim left in the middle of
	// its call waits for the run to show in Graph before the activation is made again.
	// Graph's documentation does not say how soon a run is listed; in the simulator it
	// is at once, and minutes cover a slow report pipeline.
	DefaultGrace = 5 * time.Minute
	// DefaultSweepInterval is how often unsettled claims are looked at.
	DefaultSweepInterval = time.Minute
	// DefaultAPIURL is Slack's Web API.
	DefaultAPIURL = "https://slack.com/api/"

	defaultWorkers = 4
	queueSize      = 64
	// readTimeout bounds checking a click against Graph and Slack.
	readTimeout = 45 * time.Second
	// maxCalls bounds the calls made for one request whose answers were lost.
	maxCalls = 3
)

// Options configure a Handler.
type Options struct {
	// JS and Stream locate the actions bucket, <Stream>-actions, replicated Replicas
	// times (0: once).
	JS       jetstream.JetStream
	Stream   string
	Replicas int
	// Publisher stores the audit records.
	Publisher *events.Publisher
	// Graph reads and activates.
	Graph Graph
	// TenantID goes into the audit records.
	TenantID string
	// Allowed are the Slack user ids (U…, W…) and user group ids (S…) who may act
	// (LCW_ACTIONS_ALLOWED). Required.
	Allowed []string
	// Workflows, when set, are the only workflows acted on (LCW_WORKFLOWS).
	Workflows []string
	// BotToken (xoxb-) reads user groups and posts ephemeral replies. Required.
	BotToken string
	// AppToken (xapp-) receives interactions over Socket Mode; SigningSecret verifies
	// those POSTed to ServeHTTP. At least one is required.
	AppToken      string
	SigningSecret string
	// APIURL is Slack's Web API base (LCW_SLACK_API_URL); response_urls are posted to
	// only on hooks.slack.com, this host, or hooks.<this host>.
	APIURL string
	// HTTPClient makes Slack requests; nil means a client of its own.
	HTTPClient *http.Client
	// Instance names this process in its lease.
	Instance string
	Logger   *slog.Logger
	// Metrics may be nil.
	Metrics *Metrics

	// CallTimeout, Grace, GroupTTL and SweepInterval default to DefaultCallTimeout,
	// DefaultGrace, DefaultGroupTTL and DefaultSweepInterval.
	CallTimeout, Grace, GroupTTL, SweepInterval time.Duration
	// Workers handle clicks concurrently; default 4.
	Workers int
}

// Handler receives clicks on lcwnotify's buttons and acts on them. Run it; ServeHTTP
// is its HTTP endpoint when a signing secret is set.
type Handler struct {
	opts    Options
	log     *slog.Logger
	m       *Metrics
	graph   Graph
	pub     *events.Publisher
	claims  *claims
	allow   *allowList
	api     *slack.Client
	hc      *http.Client
	replyTo []string // hosts response_urls may be on

	queue     chan click
	accepting atomic.Bool
	connected atomic.Bool

	// crash, in tests, stops the handling of a click dead at a point ("claimed",
	// "called"), as a killed process would.
	crash func(point string) bool

	sweepMu sync.Mutex // one sweep at a time
}

// New validates o and opens the actions bucket.
func New(ctx context.Context, o Options) (*Handler, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("interact: "+format, args...)) }
	switch {
	case o.JS == nil || o.Publisher == nil || o.Graph == nil:
		bad("JetStream, a publisher and Graph are required")
	case o.Stream == "":
		bad("no stream")
	}
	if !strings.HasPrefix(o.BotToken, "xoxb-") && !strings.HasPrefix(o.BotToken, "xoxp-") {
		bad("the bot token (LCW_SLACK_TOKEN) is required to check user groups and reply")
	}
	if o.AppToken == "" && o.SigningSecret == "" {
		bad("set LCW_SLACK_APP_TOKEN (Socket Mode) or LCW_SLACK_SIGNING_SECRET (HTTP) to receive clicks")
	}
	if o.AppToken != "" && !strings.HasPrefix(o.AppToken, "xapp-") {
		bad("LCW_SLACK_APP_TOKEN is not an app-level token (xapp-…)")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o.setDefaults()
	replyTo, err := replyHosts(o.APIURL)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: o, log: log.With("component", "actions"), m: o.Metrics, graph: o.Graph, pub: o.Publisher,
		hc: o.HTTPClient, replyTo: replyTo, queue: make(chan click, queueSize)}
	h.api = slack.New(o.BotToken, slack.OptionAPIURL(o.APIURL), slack.OptionHTTPClient(o.HTTPClient), slack.OptionAppLevelToken(o.AppToken))
	if h.allow, err = newAllowList(o.Allowed, h.api, o.GroupTTL); err != nil {
		return nil, err
	}
	// The lease outlasts every call by a quarter, at least a second: the server keeps
	// TTLs in whole seconds, truncated.
	lease := (o.CallTimeout + max(o.CallTimeout/4, time.Second) + time.Second - 1).Truncate(time.Second)
	if h.claims, err = openClaims(ctx, o.JS, o.Stream, o.Replicas, lease, o.Instance); err != nil {
		return nil, err
	}
	return h, nil
}

func (o *Options) setDefaults() {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.GroupTTL <= 0 {
		o.GroupTTL = DefaultGroupTTL
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.Workers <= 0 {
		o.Workers = defaultWorkers
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		o.APIURL += "/"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
}

// replyHosts are the hosts a response_url may name: Slack's hooks host, the Web API's
// host (a fake Slack in tests) and its hooks host (GovSlack's hooks.slack-gov.com).
func replyHosts(apiURL string) ([]string, error) {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("interact: the Slack API URL is not an absolute URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && outbound.IsLoopback(u.Hostname())) {
		return nil, errors.New("interact: the Slack API URL must be https")
	}
	host := strings.ToLower(u.Host)
	return []string{"hooks.slack.com", host, "hooks." + host}, nil
}

// Run handles clicks until ctx ends: the workers, the sweep of unsettled claims (at
// once, then every SweepInterval), and Socket Mode when an app token is set. Clicks
// being handled when ctx ends are finished; clicks still queued are told to click
// again.
func (h *Handler) Run(ctx context.Context) error {
	h.accepting.Store(true)
	defer h.accepting.Store(false)
	var wg sync.WaitGroup
	work := context.WithoutCancel(ctx)
	for range h.opts.Workers {
		wg.Go(func() { h.work(ctx, work) })
	}
	wg.Go(func() { h.sweepLoop(ctx) })
	if h.opts.AppToken != "" {
		wg.Go(func() { h.runSocket(ctx) })
	}
	wg.Wait()
	h.accepting.Store(false)
	h.turnAway(work)
	return nil
}

// work handles queued clicks until ctx ends; each click runs on work, which shutdown
// does not cut short.
func (h *Handler) work(ctx, work context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-h.queue:
			h.handle(work, c)
		}
	}
}

// turnAway answers the clicks still queued at shutdown: nothing was done.
func (h *Handler) turnAway(ctx context.Context) {
	for {
		select {
		case c := <-h.queue:
			tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			h.tell(tctx, c, "lcwnotify is restarting and did nothing with this click: click again in a minute.")
			cancel()
		default:
			return
		}
	}
}

// enqueue hands a click to the workers; false when they are not running or are full.
func (h *Handler) enqueue(c click) bool {
	if !h.accepting.Load() {
		return false
	}
	select {
	case h.queue <- c:
		return true
	default:
		return false
	}
}

// Ready reports whether clicks can be received: the handler runs, and Socket Mode (if
// used) is connected.
func (h *Handler) Ready() error {
	switch {
	case !h.accepting.Load():
		return errors.New("not running")
	case h.opts.AppToken != "" && !h.connected.Load():
		return errors.New("Socket Mode not connected to Slack")
	}
	return nil
}

// watched reports whether the workflow may be acted on.
func (h *Handler) watched(workflowID string) bool {
	return len(h.opts.Workflows) == 0 || slices.Contains(h.opts.Workflows, workflowID)
}

// sweepLoop settles unsettled claims at start and every SweepInterval.
func (h *Handler) sweepLoop(ctx context.Context) {
	t := time.NewTicker(h.opts.SweepInterval)
	defer t.Stop()
	for {
		h.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep looks at every claim: one whose call was left unfinished is settled, an
// outcome whose records are not in the stream yet is published.
func (h *Handler) sweep(ctx context.Context) {
	h.sweepMu.Lock()
	defer h.sweepMu.Unlock()
	ids, err := h.claims.list(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("cannot list the action claims; trying again later", "err", err)
		}
		return
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		cl, rev, err := h.claims.get(ctx, id)
		if err != nil {
			h.log.Warn("cannot read an action claim", "action_id", id, "err", err)
			continue
		}
		if cl != nil {
			h.settle(ctx, cl, rev)
		}
	}
}
