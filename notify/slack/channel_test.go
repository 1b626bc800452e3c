package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/events/eventstest"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

func newTestNotifier(t *testing.T, fake *slacktest.Slack, interval time.Duration) *Notifier {
	t.Helper()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	n, err := New(context.Background(), Config{
		Token: fake.Token(), Channel: "C0ALERTS01", APIURL: fake.APIURL(),
		Interval: interval, CallTimeout: time.Second, LeaseTTL: 3 * time.Second,
	}, js, "LCW", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func userEvent(t *testing.T, name string) *events.Event {
	t.Helper()
	ev, err := notifytest.Event(notifytest.Result{ResultID: "upr-" + name, UserName: name})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestPosterRoleSurvivesALeavingCaller: the caller holding the poster role gives up (its
// context ends) while the channel is paced; the role must pass on, so the event queued
// behind it is still posted.
func TestPosterRoleSurvivesALeavingCaller(t *testing.T) {
	t.Parallel()
	const interval = 700 * time.Millisecond
	fake := slacktest.New(slacktest.Options{Interval: interval})
	defer fake.Close()
	n := newTestNotifier(t, fake, interval)
	ctx := context.Background()

	if err := n.Deliver(ctx, userEvent(t, "First")); err != nil {
		t.Fatal(err)
	}
	// Leaving takes the poster role and waits for the pace; Staying queues behind it.
	leavingCtx, leave := context.WithCancel(ctx)
	leaving := make(chan error, 1)
	go func() { leaving <- n.Deliver(leavingCtx, userEvent(t, "Leaving")) }()
	waitQueued(t, n, 1)
	staying := make(chan error, 1)
	go func() { staying <- n.Deliver(ctx, userEvent(t, "Staying")) }()
	waitQueued(t, n, 2)
	leave()

	if err := <-leaving; !errors.Is(err, context.Canceled) {
		t.Errorf("the leaving caller's Deliver = %v, want context.Canceled", err)
	}
	select {
	case err := <-staying:
		if err != nil {
			t.Errorf("the staying caller's Deliver = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event queued behind a leaving poster was never posted")
	}
	var names []string
	for _, m := range fake.Messages() {
		for _, who := range []string{"First", "Leaving", "Staying"} {
			if strings.Contains(m.BlockText(), "*"+who+"*") {
				names = append(names, who)
			}
		}
	}
	if got := fmt.Sprint(names); got != "[First Staying]" {
		t.Errorf("posted %s, want [First Staying]", got)
	}
}

// TestConcurrentCallersShareRounds has many callers arrive at once on an idle channel:
// one posts at once, the rest share one or two grouped messages, and each caller learns
// its own outcome.
func TestConcurrentCallersShareRounds(t *testing.T) {
	t.Parallel()
	const interval = 300 * time.Millisecond
	fake := slacktest.New(slacktest.Options{Interval: interval})
	defer fake.Close()
	n := newTestNotifier(t, fake, interval)
	errs := make(chan error, 50)
	for i := range 50 {
		go func() { errs <- n.Deliver(context.Background(), userEvent(t, fmt.Sprintf("User %02d", i))) }()
	}
	for range 50 {
		if err := <-errs; err != nil {
			t.Errorf("Deliver = %v", err)
		}
	}
	if got := len(fake.Messages()); got > 4 {
		t.Errorf("%d messages for 50 concurrent events, want at most 4", got)
	}
	seen := strings.Builder{}
	for _, m := range fake.Messages() {
		seen.WriteString(m.BlockText())
	}
	for i := range 50 {
		if c := strings.Count(seen.String(), fmt.Sprintf("*User %02d*", i)); c != 1 {
			t.Errorf("User %02d posted %d times, want 1", i, c)
		}
	}
	// The channel is idle again: no poster left behind.
	c := n.channel("C0ALERTS01", "default")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leading || len(c.queue) != 0 {
		t.Errorf("channel left with leading=%v and %d queued", c.leading, len(c.queue))
	}
}

// waitQueued waits until the default channel holds n waiting events.
func waitQueued(t *testing.T, n *Notifier, want int) {
	t.Helper()
	c := n.channel("C0ALERTS01", "default")
	notifytest.Eventually(t, fmt.Sprintf("%d events queued", want), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.queue) == want
	})
}

// TestLongSharedRetryAfterKeepsTheClaim: another replica's 429 holds the channel longer
// than this process's lease. Waiting for the shared pace must keep renewing the lease, so
// that the event claimed before the wait is still this process's to post when the window
// ends, rather than abandoned as a claim of a lapsed term and failed for a retry.
func TestLongSharedRetryAfterKeepsTheClaim(t *testing.T) {
	t.Parallel()
	fake := slacktest.New(slacktest.Options{Interval: 50 * time.Millisecond})
	defer fake.Close()
	n := newTestNotifier(t, fake, 50*time.Millisecond) // a lease of 3s
	ctx := context.Background()
	window := time.Now().Add(n.cfg.LeaseTTL + time.Second)
	if err := n.ledger.paceBack(ctx, paceKey("C0ALERTS01"), window); err != nil {
		t.Fatal(err)
	}
	if err := n.Deliver(ctx, userEvent(t, "Patient")); err != nil {
		t.Errorf("Deliver after another replica's long Retry-After = %v, want nil", err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if msgs[0].Received.Before(window) {
		t.Errorf("posted %v inside the shared Retry-After window", window.Sub(msgs[0].Received))
	}
}
