package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Name is the webhook notifier's sink name.
const Name = "webhook"

// DefaultTimeout bounds one delivery attempt.
const DefaultTimeout = 10 * time.Second

// Config configures the webhook notifier.
type Config struct {
	// URL is the endpoint (LCW_WEBHOOK_URL). Treated as a secret: it often carries a token.
	URL string
	// Secret is the whsec_ signing secret (LCW_WEBHOOK_SECRET).
	Secret string
	// HTTPClient makes the requests; nil means a client of its own. Redirects are never
	// followed either way.
	HTTPClient *http.Client
	// Timeout bounds one attempt; zero means DefaultTimeout.
	Timeout time.Duration
}

// Validate reports every problem with c, naming the setting and never quoting a secret.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		errs = append(errs, errors.New("LCW_WEBHOOK_URL: want an absolute http or https URL"))
	}
	if _, err := ParseSecret(c.Secret); err != nil {
		errs = append(errs, fmt.Errorf("LCW_WEBHOOK_SECRET: %w", err))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("webhook: timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// Notifier posts each change event as a signed CloudEvent. It implements notify.Sink.
type Notifier struct {
	cfg    Config
	key    []byte
	client *http.Client
	log    *slog.Logger
}

// New validates cfg and returns a Notifier.
func New(cfg Config, log *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, _ := ParseSecret(cfg.Secret)
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	// A redirected POST becomes a GET: the event would be lost. Treat 3xx as a refusal.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if log == nil {
		log = slog.Default()
	}
	return &Notifier{cfg: cfg, key: key, client: client, log: log.With("sink", Name)}, nil
}

// Name returns "webhook".
func (n *Notifier) Name() string { return Name }

// maxBodyInError bounds how much of a refusal's body goes into the error.
const maxBodyInError = 200

// Deliver POSTs ev as application/cloudevents+json, signed: the event exactly as the
// stream stores it (notify.RawEvent), or ev encoded when called outside a Dispatcher.
// 2xx is delivery; 408, 429 (honouring Retry-After), 5xx, timeouts and connection errors
// are retryable; any other status is permanent.
func (n *Notifier) Deliver(ctx context.Context, ev *events.Event) error {
	body := notify.RawEvent(ctx)
	if body == nil {
		var err error
		if body, err = ev.Marshal(); err != nil {
			return notify.Permanent(fmt.Errorf("webhook: encode event: %w", err), "malformed_event")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(errors.New("webhook: LCW_WEBHOOK_URL cannot be requested"), "bad_url")
	}
	now := time.Now()
	req.Header.Set("Content-Type", events.ContentType)
	req.Header.Set("User-Agent", "lcwnotify")
	req.Header.Set(HeaderID, ev.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sign(n.key, ev.ID, strconv.FormatInt(now.Unix(), 10), body))

	resp, err := n.client.Do(req)
	if err != nil {
		// net/http's errors quote the URL.
		return notify.Retryable(fmt.Errorf("webhook: post: %w", notify.Redact(err, n.cfg.URL, n.cfg.Secret)), 0)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyInError))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return n.classify(resp, notify.Clean(string(snippet)), now)
}

func (n *Notifier) classify(resp *http.Response, body string, now time.Time) error {
	code := resp.StatusCode
	serr := &notify.StatusError{Code: code, Body: strings.ReplaceAll(body, n.cfg.URL, "[REDACTED]")}
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		after, _ := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		return notify.Retryable(fmt.Errorf("webhook: receiver is rate limiting: %w", serr), after)
	case code == http.StatusRequestTimeout || code >= 500:
		after, _ := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		return notify.Retryable(fmt.Errorf("webhook: receiver failed: %w", serr), after)
	case code >= 300 && code < 400:
		return notify.Permanent(fmt.Errorf("webhook: receiver redirected (%w): set LCW_WEBHOOK_URL to the final URL", serr), "http_"+strconv.Itoa(code))
	}
	return notify.Permanent(fmt.Errorf("webhook: receiver refused the event (%w): check LCW_WEBHOOK_URL, LCW_WEBHOOK_SECRET and the receiver's logs", serr), "http_"+strconv.Itoa(code))
}
