package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/watcher/digest"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// graphReach is how far back Graph's reports reach; a report asked for further back
// starts an hour short of it, for clocks.
const graphReach = 30 * 24 * time.Hour

// sinceFlag is --since: a span ending now, written 7d, 36h, 1d12h or 90m.
type sinceFlag time.Duration

// defaultSince is --since without the flag: the week a team lead asks about.
const defaultSince = sinceFlag(7 * 24 * time.Hour)

func (s *sinceFlag) String() string {
	d := time.Duration(*s)
	if d%(24*time.Hour) == 0 && d > 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

// Set implements flag.Value.
func (s *sinceFlag) Set(v string) error {
	var d time.Duration
	rest := v
	if days, after, ok := strings.Cut(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return fmt.Errorf("%q: want a span such as 7d, 36h or 1d12h", v)
		}
		d, rest = time.Duration(n)*24*time.Hour, after
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil {
			return fmt.Errorf("%q: want a span such as 7d, 36h or 1d12h", v)
		}
		d += more
	}
	switch {
	case d <= 0:
		return fmt.Errorf("%q: want a span longer than zero, such as 7d", v)
	case d > graphReach:
		return fmt.Errorf("%q: at most 30d, as far back as Graph keeps reports", v)
	}
	*s = sinceFlag(d)
	return nil
}

// digestFlags are the flags of lcwnotify digest.
type digestFlags struct {
	since   sinceFlag
	json    bool
	verbose bool // not a flag: progress, when stderr is a terminal
}

// digestReport prints the digest of the span ending now, as the watcher publishes one
// per period: text for a person, or the DigestData as JSON. It reads Graph only. A
// report Graph did not answer whole is printed marked so and exits 1.
func digestReport(ctx context.Context, cfg *config, log *slog.Logger, stdout, stderr io.Writer, getenv func(string) string, f digestFlags) error {
	cred, err := graph.NewCredential(graph.CredentialOptions{DisableInstanceDiscovery: cfg.AzureDisableInstanceDiscovery})
	if err != nil {
		return fmt.Errorf("graph credential: %w", err)
	}
	g, err := graph.New(graph.Options{
		BaseURL: string(cfg.GraphURL), Version: cfg.GraphVersion, Scope: string(cfg.GraphScope), Credential: cred,
		TenantID: getenv("AZURE_TENANT_ID"), Logger: log.With("component", "graph"),
	})
	if err != nil {
		return err
	}
	loc, err := cfg.DigestTZ.location()
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	start := now.Add(-time.Duration(f.since))
	if floor := now.Add(-graphReach + time.Hour); start.Before(floor) {
		start = floor
	}
	o := digest.Options{Graph: g, Workflows: cfg.Workflows, Logger: log.With("component", "digest")}
	if f.verbose {
		o.Progress = func(done, total int) { fmt.Fprintf(stderr, "\rreading Graph: workflow %d of %d", done, total) }
	}
	b, err := digest.New(o)
	if err != nil {
		return err
	}
	data, err := b.Build(ctx, events.Period{Start: start, End: now})
	if f.verbose {
		fmt.Fprint(stderr, "\r\033[K") // the progress line goes
	}
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(data)
	} else {
		err = writeDigestText(stdout, data, loc)
	}
	if err != nil {
		return err
	}
	if data.Partial {
		fmt.Fprintln(stderr, "lcwnotify: the report is partial: Graph did not answer everything (see \"missing\"); try again later")
		return errReported
	}
	return nil
}

// isTerminal reports whether w is a terminal, where progress may be drawn; a pipe or
// a file (cron, jq) gets none.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
