package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcwnotify/lcwnotify/internal/status"
	"github.com/lcwnotify/lcwnotify/internal/status/web"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/slack"
)

// The operator commands: status, dlq, events and replay. They read what the status page
// shows and replay through the delivery stage. With an external NATS server
// (LCW_NATS_URL) they use it directly, as run does; with the embedded server, whose
// store only the running process may open, they call that process's API on
// LCW_HTTP_ADDR (LCW_UI=true there), sending LCW_UI_TOKEN — except `events tail`, which
// reads the stream through the embedded server's listener (LCW_NATS_LISTEN).

// operatorCommands are the commands operate runs.
var operatorCommands = []string{"status", "dlq", "events", "replay"}

// opFlags are the operator commands' flags.
type opFlags struct {
	json     bool
	filter   status.Filter
	all      bool
	ids      []string
	since    time.Duration
	to       string
	name     string
	dryRun   bool
	workflow string
	status   string
}

// operate runs an operator command: cmd with args after its name.
func operate(ctx context.Context, cmd command, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sub := ""
	switch cmd.name {
	case "dlq", "events":
		want := map[string][]string{"dlq": {"list", "replay"}, "events": {"tail"}}[cmd.name]
		if len(args) > 0 && isHelp(args[0]) {
			return writeHelp(stdout, &cmd)
		}
		if len(args) == 0 || !slices.Contains(want, args[0]) {
			return &usageError{msg: fmt.Sprintf("%s: say %s", cmd.name, strings.Join(want, " or ")), cmd: cmd.name}
		}
		sub, args = args[0], args[1:]
	}
	o, err := parseOpFlags(cmd.name, sub, args)
	if errors.Is(err, flag.ErrHelp) {
		return writeHelp(stdout, &cmd)
	}
	if err != nil {
		return &usageError{msg: strings.TrimSpace(cmd.name+" "+sub) + ": " + err.Error(), cmd: cmd.name}
	}
	cfg, err := loadConfig(env{getenv: getenv, hostname: os.Hostname})
	if err != nil {
		return err
	}
	// Quiet: the commands print their own results; warnings and errors still show.
	log := newLogger(stderr, cfg, false, getenv)
	if strings.TrimSpace(getenv("LCW_LOG_LEVEL")) == "" {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cmd.name == "events" {
		return tailEvents(ctx, cfg, o, log, stdout, stderr)
	}
	ops, err := openOperator(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer ops.Close()
	p := newProgress(stderr)
	switch {
	case cmd.name == "status":
		rep, err := ops.Status(ctx, o.filter)
		if err != nil {
			return err
		}
		return printStatus(stdout, rep, o.json)
	case sub == "list":
		dls, err := ops.DeadLetters(ctx)
		if err != nil {
			return err
		}
		return printDeadLetters(stdout, dls, o.json)
	case sub == "replay":
		out, err := ops.ReplayDeadLetters(ctx, o.ids, o.all, p.report("replaying dead letters"))
		p.done()
		if err != nil {
			return err
		}
		return printOutcomes(stdout, out, o.json)
	case cmd.name == "replay":
		pr := status.PeriodReplay{Since: time.Now().Add(-o.since), To: o.to, Name: o.name, DryRun: o.dryRun}
		if pr.Name == "" && !pr.DryRun {
			pr.Name = "r-" + time.Now().UTC().Format("20060102T150405Z")
		}
		res, err := ops.ReplayPeriod(ctx, pr, p.report("replaying to "+o.to))
		p.done()
		if err != nil {
			return err
		}
		return printPeriod(stdout, res, o.json)
	}
	return fmt.Errorf("command %q has no implementation", cmd.name)
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// parseOpFlags reads the flags of cmd (and sub), wherever they stand among the
// arguments (`dlq replay slack-12 --json` as well as `dlq replay --json slack-12`).
func parseOpFlags(cmd, sub string, args []string) (opFlags, error) {
	var o opFlags
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if cmd != "events" {
		fs.BoolVar(&o.json, "json", false, "")
	}
	switch {
	case cmd == "status":
		fs.StringVar(&o.filter.Workflow, "workflow", "", "")
		fs.StringVar(&o.filter.Category, "category", "", "")
		fs.StringVar(&o.filter.User, "user", "", "")
		fs.StringVar(&o.filter.Status, "status", "", "")
		fs.StringVar(&o.filter.State, "state", "", "")
		fs.IntVar(&o.filter.Limit, "limit", status.DefaultLimit, "")
	case cmd == "dlq" && sub == "replay":
		fs.BoolVar(&o.all, "all", false, "")
	case cmd == "events":
		fs.BoolVar(&o.json, "json", false, "")
		fs.StringVar(&o.workflow, "workflow", "", "")
		fs.StringVar(&o.status, "status", "", "")
	case cmd == "replay":
		fs.DurationVar(&o.since, "since", 0, "")
		fs.StringVar(&o.to, "to", "", "")
		fs.StringVar(&o.name, "name", "", "")
		fs.BoolVar(&o.dryRun, "dry-run", false, "")
	}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		rest, args = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
	switch {
	case cmd == "dlq" && sub == "replay":
		o.ids = rest
		if o.all == (len(o.ids) > 0) {
			return o, errors.New("name the dead letters to replay (their ids, from dlq list), or --all")
		}
	case len(rest) > 0:
		return o, fmt.Errorf("unexpected argument %q", rest[0])
	case cmd == "replay" && o.since <= 0:
		return o, errors.New("--since is required: how far back to replay, e.g. --since 2h")
	case cmd == "replay" && o.to == "":
		return o, errors.New("--to is required: the destination to announce to again, e.g. --to slack")
	case cmd == "replay" && o.name != "" && (len(o.name) > 100 || strings.ContainsAny(o.name, " \t\r\n")):
		return o, errors.New("--name: up to 100 characters without spaces")
	}
	return o, nil
}

// operator is what the commands ask: a running process's API, or NATS directly.
type operator interface {
	Status(ctx context.Context, f status.Filter) (*status.Report, error)
	DeadLetters(ctx context.Context) ([]status.DeadLetter, error)
	ReplayDeadLetters(ctx context.Context, ids []string, all bool, progress func(done, total int)) ([]status.ReplayOutcome, error)
	ReplayPeriod(ctx context.Context, p status.PeriodReplay, progress func(done, total int)) (*status.PeriodResult, error)
	Close()
}

// openOperator returns the API client of the running process when NATS is embedded, or
// reads and replays over the external server.
func openOperator(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer) (operator, error) {
	if cfg.NATS.Embedded() {
		return remoteOps{web.NewClient("http://"+dialAddr(cfg.httpAddr()), cfg.UIToken.Reveal(), nil)}, nil
	}
	nc, err := connectNATS(ctx, cfg.NATS, natsOptions{name: "lcwnotify operator " + string(cfg.Instance), drainTimeout: 5 * time.Second, failFast: true}, log)
	if err != nil {
		return nil, err
	}
	s := &service{cfg: cfg, log: log, reg: prometheus.NewRegistry(), nats: nc}
	links := &slackLinks{}
	if cfg.SlackToken.IsSet() {
		if n, err := slack.New(slackSinkConfig(cfg, nil), log); err == nil {
			links.set(n)
		}
	}
	rd, err := s.statusReader(nc, links)
	if err != nil {
		nc.close(ctx)
		return nil, err
	}
	return &directOps{s: s, rd: rd, stdout: stdout}, nil
}

// dialAddr is where to reach a server listening on addr: a listener on every address is
// reached on loopback.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// remoteOps calls the running process.
type remoteOps struct{ *web.Client }

func (remoteOps) Close() {}

// directOps reads NATS and replays through delivery stages of its own, on the same
// ledgers as the notifiers: exactly once holds across them.
type directOps struct {
	s      *service
	rd     *status.Reader
	stdout io.Writer

	once   sync.Once
	rp     *replayers
	err    error
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (d *directOps) Status(ctx context.Context, f status.Filter) (*status.Report, error) {
	return d.rd.Report(ctx, f)
}

func (d *directOps) DeadLetters(ctx context.Context) ([]status.DeadLetter, error) {
	rep, err := d.rd.Report(ctx, status.Filter{Limit: 1})
	if err != nil {
		return nil, err
	}
	return rep.DeadLetters, nil
}

func (d *directOps) ReplayDeadLetters(ctx context.Context, ids []string, all bool, progress func(done, total int)) ([]status.ReplayOutcome, error) {
	rp, err := d.replayers(ctx)
	if err != nil {
		return nil, err
	}
	return d.rd.ReplayDeadLetters(ctx, ids, all, rp, progress)
}

func (d *directOps) ReplayPeriod(ctx context.Context, p status.PeriodReplay, progress func(done, total int)) (*status.PeriodResult, error) {
	rp, err := d.replayers(ctx)
	if err != nil {
		return nil, err
	}
	return d.rd.ReplayPeriod(ctx, p, rp, progress)
}

// replayers starts a delivery stage for every configured destination, once.
func (d *directOps) replayers(ctx context.Context) (*replayers, error) {
	d.once.Do(func() {
		d.rp = &replayers{}
		dests, err := d.s.newSinks(ctx, d.stdout)
		if err != nil {
			d.err = err
			return
		}
		if len(dests) == 0 {
			d.err = &configError{problems: []string{errNoDestination}}
			return
		}
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		d.cancel = cancel
		for _, dest := range dests {
			st, err := notify.NewStage(ctx, notify.StageOptions{
				JS: d.s.nats.js, Stream: string(d.s.cfg.Stream), Replicas: d.s.cfg.StreamReplicas, Sink: dest.sink, Logger: d.s.log,
			})
			if err != nil {
				d.err = err
				return
			}
			d.wg.Go(func() { _ = st.Run(sctx) })
			d.rp.add(dest.name, st.Replay)
		}
	})
	return d.rp, d.err
}

func (d *directOps) Close() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.s.nats.close(ctx)
}

// progress shows how a long command gets on, on a terminal only: in a pipe it says
// nothing.
type progress struct {
	w     io.Writer
	shown bool
}

func newProgress(w io.Writer) *progress {
	if !isTerminal(w) {
		return &progress{}
	}
	return &progress{w: w}
}

// report returns the function that tells progress of what, or nil off a terminal.
func (p *progress) report(what string) func(done, total int) {
	if p.w == nil {
		return nil
	}
	return func(done, total int) {
		p.shown = true
		fmt.Fprintf(p.w, "\r%s: %d of %d", what, done, total)
	}
}

// done ends the progress line.
func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
