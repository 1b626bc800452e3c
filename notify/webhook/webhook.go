package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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
//
// The receiver cannot be read back, so delivery is at least once: every event is
// recorded in the delivery stage's ledger as soon as the receiver answers 2xx, and only a
// crash between that answer and the record (or a lost answer) sends it again, with the
// same webhook-id for the receiver to deduplicate on.
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

// key is the one destination key: the endpoint.
const key = "endpoint"

// Key is the endpoint's: every event goes to LCW_WEBHOOK_URL.
func (n *Notifier) Key(nt *notify.Notification) string {
	if nt.Action != nil {
		return ""
	}
	return key
}

// Interests: besides failures, the receiver gets the completion that resolves a failure
// it was sent, workflows entering and leaving quarantine or disabled, and digests, each
// as the CloudEvent stored in the stream (docs/events.md); not the audit records of
// actions, which NATS subscribers have.
func (n *Notifier) Interests() notify.Interests {
	return notify.Interests{Resolutions: true, Workflows: true, Digests: true}
}

// Rate leaves the endpoint unpaced: it is the receiver's to say 429.
func (n *Notifier) Rate(string) notify.Rate { return notify.Rate{} }

// delivery is one event as it is posted.
type delivery struct {
	id   string
	body []byte
}

// Render posts each event on its own: the event exactly as the stream stores it, or
// encoded again when it reached the sink some other way.
func (n *Notifier) Render(_ string, ns []*notify.Notification, _ bool) []notify.Batch {
	out := make([]notify.Batch, 0, len(ns))
	for i, nt := range ns {
		body := nt.Raw
		if body == nil && nt.Event != nil {
			var err error
			if body, err = nt.Event.Marshal(); err != nil {
				body = nil
			}
		}
		b := notify.Batch{Items: []int{i}}
		if body != nil {
			b.Messages = []notify.Message{delivery{id: nt.ID(), body: body}}
		}
		out = append(out, b)
	}
	return out
}

// maxBodyInError bounds how much of a refusal's body goes into the error.
const maxBodyInError = 200

// Send POSTs the event as application/cloudevents+json, signed. 2xx is delivery; 408,
// 429 (honouring Retry-After), 5xx, timeouts and connection errors are retryable; any
// other status is permanent.
func (n *Notifier) Send(ctx context.Context, _ string, m notify.Message, _ notify.Part) (notify.Receipt, error) {
	d, ok := m.(delivery)
	if !ok {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("webhook: cannot post a %T", m), "bad_message")
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(d.body))
	if err != nil {
		return notify.Receipt{}, notify.Unsent(notify.Permanent(errors.New("webhook: LCW_WEBHOOK_URL cannot be requested"), "bad_url"))
	}
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", events.ContentType)
	req.Header.Set("User-Agent", "lcwnotify")
	req.Header.Set(HeaderID, d.id)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, sign(n.key, d.id, ts, d.body))

	resp, err := n.client.Do(req)
	if err != nil {
		// net/http's errors quote the URL.
		err = notify.Retryable(fmt.Errorf("webhook: post: %w", notify.Redact(err, n.cfg.URL, n.cfg.Secret)), 0)
		if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
			err = notify.Unsent(err)
		}
		return notify.Receipt{}, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyInError))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return notify.Receipt{}, n.classify(resp, notify.Clean(string(snippet)), now)
}

func (n *Notifier) classify(resp *http.Response, body string, now time.Time) error {
	code := resp.StatusCode
	serr := &notify.StatusError{Code: code, Body: strings.ReplaceAll(body, n.cfg.URL, "[REDACTED]")}
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		after, _ := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		return notify.Unsent(notify.Retryable(fmt.Errorf("webhook: receiver is rate limiting: %w", serr), after))
	case code == http.StatusRequestTimeout || code >= 500:
		after, _ := notify.ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		return notify.Retryable(fmt.Errorf("webhook: receiver failed: %w", serr), after)
	case code >= 300 && code < 400:
		return notify.Unsent(notify.Permanent(fmt.Errorf("webhook: receiver redirected (%w): set LCW_WEBHOOK_URL to the final URL", serr), "http_"+strconv.Itoa(code)))
	}
	return notify.Unsent(notify.Permanent(fmt.Errorf("webhook: receiver refused the event (%w): check LCW_WEBHOOK_URL, LCW_WEBHOOK_SECRET and the receiver's logs", serr), "http_"+strconv.Itoa(code)))
}
