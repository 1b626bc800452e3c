package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/harness"
)

// Stream and subject prefix lcwnotify runs with (its defaults).
const (
	streamName = "LCW"
	prefix     = "lcw"
)

// onePerFailure is the notifier lcwnotify's Slack sink is measured against: it consumes
// the same change events and posts each failure as a message of its own, one at a time,
// paced to the channel's limit and waiting out any 429, as a careful simple notifier does.
type onePerFailure struct {
	cons     jetstream.Consumer
	apiURL   string
	channel  string
	interval time.Duration
	client   *http.Client

	posted atomic.Int64
}

// startOnePerFailure creates its consumer (new events only) and runs it until ctx ends.
func startOnePerFailure(ctx context.Context, js jetstream.JetStream, apiURL string, interval time.Duration) (*onePerFailure, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, streamName, jetstream.ConsumerConfig{
		Durable: "lcwbench-one-per-failure",
		FilterSubjects: []string{
			events.ResultFilter(prefix, "failed"),
			events.ResultFilter(prefix, "completedWithErrors"),
		},
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       10 * time.Minute,
		MaxAckPending: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("one-per-failure consumer: %w", err)
	}
	n := &onePerFailure{cons: cons, apiURL: apiURL, channel: harness.DefaultChannel, interval: interval,
		client: &http.Client{Timeout: 15 * time.Second}}
	go n.run(ctx)
	return n, nil
}

func (n *onePerFailure) run(ctx context.Context) {
	var last time.Time
	for ctx.Err() == nil {
		batch, err := n.cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			ev, err := events.Decode(m.Data())
			if err != nil {
				_ = m.Term()
				continue
			}
			if err := n.post(ctx, ev, &last); err != nil {
				_ = m.Nak()
				continue
			}
			_ = m.Ack()
			n.posted.Add(1)
		}
	}
}

// post sends one message, no sooner than interval after the previous one was
// answered, and again after any 429's Retry-After.
func (n *onePerFailure) post(ctx context.Context, ev *events.Event, last *time.Time) error {
	r, err := ev.Data.Result()
	if err != nil {
		return err
	}
	user := ev.Data.User.DisplayName
	if user == "" {
		user = ev.Data.User.ID
	}
	text := fmt.Sprintf(":x: Lifecycle workflow %s: %s — %s", r.ProcessingStatus, ev.Data.Workflow.DisplayName, user)
	for ctx.Err() == nil {
		if wait := time.Until(last.Add(n.interval)); wait > 0 {
			time.Sleep(wait)
		}
		retryAfter, err := n.send(ctx, text)
		*last = time.Now()
		if err == nil && retryAfter == 0 {
			return nil
		}
		if retryAfter > 0 {
			time.Sleep(retryAfter)
			continue
		}
		return err
	}
	return ctx.Err()
}

func (n *onePerFailure) send(ctx context.Context, text string) (retryAfter time.Duration, err error) {
	form := url.Values{"token": {harness.SlackToken}, "channel": {n.channel}, "text": {text}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.apiURL+"chat.postMessage", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return time.Duration(max(secs, 1)) * time.Second, nil
	}
	var body struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if !body.OK {
		return 0, errors.New("slack: " + body.Error)
	}
	return 0, nil
}
