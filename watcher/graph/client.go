package graph

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
)

// Defaults of Options.
const (
	DefaultBaseURL        = "https://graph.microsoft.com"
	DefaultVersion        = "v1.0"
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxRetryTime   = 2 * time.Minute
	DefaultMaxPages       = 10000
	DefaultUserAgent      = "lcwnotify"
)

// Options configure a Client. Credential is required; everything else has a default.
type Options struct {
	// BaseURL is the Graph root without version (LCW_GRAPH_URL), default
	// https://graph.microsoft.com; national clouds have their own (docs/graph-permissions.md).
	// It must be https, except on a loopback host (the simulator).
	BaseURL string
	// Version is "v1.0" (default) or "beta".
	Version string
	// Credential supplies the tokens. Required.
	Credential azcore.TokenCredential
	// Scope is the token scope, default BaseURL+"/.default".
	Scope string
	// TenantID is the tenant reported by TenantID (AZURE_TENANT_ID); when empty it is
	// learned from the token's tid claim.
	TenantID string
	// HTTPClient sends the requests; the default has dial, TLS and idle timeouts.
	// Redirects are never followed, whatever the client's CheckRedirect says.
	HTTPClient *http.Client
	// RequestTimeout bounds one attempt, body included. Default 30s.
	RequestTimeout time.Duration
	// MaxRetryTime bounds the time one logical request spends waiting to retry
	// (throttling, 5xx, connection errors). Default 2m.
	MaxRetryTime time.Duration
	// MaxPages bounds the pages of one list, against a server that pages forever.
	// Default 10000.
	MaxPages int
	// Logger receives warnings (malformed items, unreadable users) and debug lines
	// (retries, throttling). Default: discard.
	Logger *slog.Logger
	// Metrics, from NewMetrics; nil records nothing.
	Metrics *Metrics
	// UserAgent is sent as User-Agent, default "lcwnotify".
	UserAgent string
}

// Client reads Lifecycle Workflows reports from Microsoft Graph. It is safe for
// concurrent use.
type Client struct {
	base       *url.URL // scheme and host the token may be sent to
	root       string   // base + "/" + version, no trailing slash
	cred       credential
	scope      string
	hc         *http.Client // sends the pipeline's requests
	pl         runtime.Pipeline
	auth       *authorizer
	access     *accessTracker
	reqTimeout time.Duration
	maxRetry   time.Duration
	maxPages   int
	log        *slog.Logger
	metrics    *Metrics
	userAgent  string
	backoff    backoff

	tenantMu sync.Mutex
	tenant   string

	// userWarn makes the warning about unreadable users appear once per Client (once per
	// process, as the process has one).
	userWarn sync.Once
}

// New returns a Client for o, or an error naming the bad option.
func New(o Options) (*Client, error) {
	if o.Credential == nil {
		return nil, errors.New("graph: a credential is required")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	base, err := url.Parse(o.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("graph: base URL: %w", err)
	}
	if err := checkBaseURL(base); err != nil {
		return nil, fmt.Errorf("graph: base URL %q: %w", o.BaseURL, err)
	}
	switch o.Version {
	case "":
		o.Version = DefaultVersion
	case "v1.0", "beta":
	default:
		return nil, fmt.Errorf("graph: version %q: want v1.0 or beta", o.Version)
	}
	if o.Scope == "" {
		o.Scope = o.BaseURL + "/.default"
	}
	if o.RequestTimeout < 0 || o.MaxRetryTime < 0 || o.MaxPages < 0 {
		return nil, errors.New("graph: negative timeout, retry time or page limit")
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MaxRetryTime == 0 {
		o.MaxRetryTime = DefaultMaxRetryTime
	}
	if o.MaxPages == 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	hc := defaultHTTPClient()
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	// A redirect would carry the request elsewhere; Graph does not redirect these reads.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		base:       base,
		root:       o.BaseURL + "/" + o.Version,
		cred:       credential{o.Credential},
		scope:      o.Scope,
		hc:         hc,
		reqTimeout: o.RequestTimeout,
		maxRetry:   o.MaxRetryTime,
		maxPages:   o.MaxPages,
		log:        o.Logger,
		metrics:    o.Metrics,
		userAgent:  o.UserAgent,
		backoff:    defaultBackoff,
		auth:       newAuthorizer(o.Scope),
		access:     newAccessTracker(),
		tenant:     o.TenantID,
	}
	c.pl = c.newPipeline()
	return c, nil
}

// checkBaseURL accepts an absolute https URL without query, fragment or credentials;
// http only on a loopback host, where a token cannot leave the machine.
func checkBaseURL(u *url.URL) error {
	if u.Host == "" || u.Opaque != "" {
		return errors.New("want an absolute URL such as https://graph.microsoft.com")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want no credentials, query or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if outbound.IsLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("http is allowed only on a loopback host: tokens must not travel in clear text")
	}
	return errors.New("want an https URL")
}

func defaultHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}}
}

// Root returns the versioned Graph root, e.g. "https://graph.microsoft.com/v1.0".
func (c *Client) Root() string { return c.root }

// WorkflowURL returns the Graph URL of a workflow, the source of its change events.
func (c *Client) WorkflowURL(workflowID string) string {
	return c.root + lcwPath + "/workflows/" + url.PathEscape(workflowID)
}

const lcwPath = "/identityGovernance/lifecycleWorkflows"

// TenantID returns Options.TenantID or, when that was empty, the tid claim of a token
// (learned once).
func (c *Client) TenantID(ctx context.Context) (string, error) {
	c.tenantMu.Lock()
	defer c.tenantMu.Unlock()
	if c.tenant != "" {
		return c.tenant, nil
	}
	tok, err := c.token(ctx)
	if err != nil {
		return "", err
	}
	tid, err := tenantOf(tok)
	if err != nil {
		return "", fmt.Errorf("graph: learn the tenant from the token (set AZURE_TENANT_ID instead): %w", err)
	}
	c.tenant = tid
	return tid, nil
}
