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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/outbound"
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
	// AllowHTTP accepts a URL in clear text to a host other than this machine
	// (LCW_WEBHOOK_ALLOW_HTTP): the events and their signatures can then be read, and
	// replayed within the signature's tolerance, by anyone on the way.
	AllowHTTP bool
	// Transport sends the requests; nil means outbound's default. Whatever it is, the
	// notifier's client follows no redirect, bounds each attempt by Timeout and reads at
	// most a few kilobytes of the answer (internal/outbound).
	Transport http.RoundTripper
	// Timeout bounds one attempt, the answer included; zero means DefaultTimeout.
	Timeout time.Duration
}

// maxAnswer is how much of the receiver's answer is read: the status says it all, and a
// refusal's first words go into the error.
const maxAnswer = 16 << 10

// Validate reports every problem with c, naming the setting and never quoting a secret.
func (c *Config) Validate() error {
	var errs []error
	switch _, err := outbound.CheckURL(c.URL, c.AllowHTTP); {
	case errors.Is(err, outbound.ErrPlainHTTP):
		errs = append(errs, errors.New("LCW_WEBHOOK_URL: want https (http only to this machine, or with LCW_WEBHOOK_ALLOW_HTTP=true)"))
	case err != nil:
		errs = append(errs, fmt.Errorf("LCW_WEBHOOK_URL: %w: want https://host/…", err))
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
	cfg Config
	key []byte
	// secrets are what no error may show: the signing secret and every part of the URL
	// that may carry a token.
	secrets []string
	client  *http.Client
	log     *slog.Logger
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
	// A redirect is answered as a refusal (classify): a redirected POST becomes a GET, or
	// takes the signed event to a host nobody configured.
	client := outbound.NewClient(outbound.Options{Timeout: cfg.Timeout, MaxBody: maxAnswer,
		AllowHTTP: cfg.AllowHTTP, Transport: cfg.Transport})
	if log == nil {
		log = slog.Default()
	}
	// Longest first, so that redacting one never leaves a fragment of another.
	secrets := append(outbound.URLSecrets(cfg.URL), cfg.Secret)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	return &Notifier{cfg: cfg, key: key, secrets: secrets, client: client, log: log.With("sink", Name)}, nil
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
	if errors.Is(err, outbound.ErrPlainHTTP) {
		// New refuses such a URL; this is the client's own check, before sending.
		return notify.Receipt{}, notify.Unsent(notify.Permanent(errors.New("webhook: LCW_WEBHOOK_URL is plain http to another host: set LCW_WEBHOOK_ALLOW_HTTP=true or use https"), "plain_http"))
	}
	if err != nil {
		// net/http's errors quote the URL.
		err = notify.Retryable(fmt.Errorf("webhook: post: %w", notify.Redact(err, n.secrets...)), 0)
		if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
			err = notify.Unsent(err)
		}
		return notify.Receipt{}, err
	}
	// Closing drains the rest of the answer, up to the client's limit.
	defer resp.Body.Close()
	// Read past the part quoted by the longest secret, so that a secret the quote
	// would cut in two is still whole when it is redacted.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, int64(maxBodyInError+len(n.secrets[0]))))
	return notify.Receipt{}, n.classify(resp, n.quote(snippet), now)
}

// quote is the start of a receiver's answer as an error may show it: on one line,
// without any secret, at most maxBodyInError bytes.
func (n *Notifier) quote(body []byte) string {
	s := notify.Clean(string(body))
	// A receiver's error page may echo the request, and so the URL's token.
	for _, sec := range n.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	if len(s) > maxBodyInError {
		s = strings.ToValidUTF8(s[:maxBodyInError], "")
	}
	return s
}

func (n *Notifier) classify(resp *http.Response, body string, now time.Time) error {
	code := resp.StatusCode
	serr := &notify.StatusError{Code: code, Body: body}
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
