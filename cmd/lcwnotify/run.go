package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"
)

// Exit statuses, as the contract fixes them.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2 // bad configuration or usage
)

// usageError is a bad command line: exit 2 with a pointer to help.
type usageError struct {
	msg string
	cmd string // the command whose help to point at, or ""
}

func (e *usageError) Error() string { return e.msg }

// errReported is returned by a command that already told the user what failed (check):
// exit 1 without another line.
var errReported = errors.New("failure already reported")

// run is the whole program: it runs the command args name and returns the exit status.
// getenv must read the process environment (envconfig reads LCW_ variables from it).
// A cancelled ctx (SIGINT, SIGTERM) shuts a running service down; that is a success.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, getenv, stdout, stderr)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "lcwnotify: %s\n", ue.msg)
		if ue.cmd != "" {
			fmt.Fprintf(stderr, "Run 'lcwnotify help %s' for usage.\n", ue.cmd)
		} else {
			fmt.Fprintln(stderr, "Run 'lcwnotify help' for usage.")
		}
		return exitUsage
	}
	if ce, ok := asConfigError(err); ok {
		for _, p := range ce.problems {
			fmt.Fprintf(stderr, "lcwnotify: %s\n", p)
		}
		fmt.Fprintln(stderr, "Run 'lcwnotify help' for every setting, its default and meaning.")
		return exitUsage
	}
	if !errors.Is(err, errReported) {
		fmt.Fprintf(stderr, "lcwnotify: %v\n", err)
	}
	return exitFailed
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return &usageError{msg: "no command given: use run, watch, notify, demo, check, digest, test-notification, status, dlq, events, replay, help or version"}
	}
	name := args[1]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := findCommand(name)
	if !ok {
		return &usageError{msg: fmt.Sprintf("unknown command %q", name)}
	}
	if slices.Contains(operatorCommands, name) {
		return operate(ctx, cmd, args[2:], getenv, stdout, stderr)
	}
	fs := flag.NewFlagSet("lcwnotify "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the error and the pointer to help
	var speed float64
	if name == "demo" {
		fs.Float64Var(&speed, "speed", 1, "")
	}
	df := digestFlags{since: defaultSince, verbose: isTerminal(stderr)}
	if name == "digest" {
		fs.Var(&df.since, "since", "")
		fs.BoolVar(&df.json, "json", false, "")
	}
	if err := fs.Parse(args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return writeHelp(stdout, &cmd)
		}
		return &usageError{msg: fmt.Sprintf("%s: %v", name, err), cmd: name}
	}

	// help and test-notification take one argument: a command, a destination.
	if fs.NArg() > 0 && name != "help" && !(name == "test-notification" && fs.NArg() == 1) {
		return &usageError{msg: fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0)), cmd: name}
	}
	switch name {
	case "help":
		if fs.NArg() > 1 {
			return &usageError{msg: "help takes at most one command name", cmd: "help"}
		}
		if fs.NArg() == 1 {
			c, ok := findCommand(fs.Arg(0))
			if !ok {
				return &usageError{msg: fmt.Sprintf("unknown command %q", fs.Arg(0))}
			}
			return writeHelp(stdout, &c)
		}
		return writeHelp(stdout, nil)
	case "version":
		return writeVersion(stdout, readBuildInfo())
	}
	if name == "demo" && (speed <= 0 || speed > 20) {
		return &usageError{msg: fmt.Sprintf("demo: -speed %g: use a number above 0 and up to 20", speed), cmd: name}
	}

	cfg, err := loadConfig(env{getenv: getenv, hostname: os.Hostname})
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg, name == "demo", getenv)
	if err := unknownVariables(); err != nil {
		log.Warn("ignoring an environment variable lcwnotify does not know: a typo?", "err", err)
	}

	switch name {
	case "run":
		return serve(ctx, cfg, log, roles{watch: true, notify: true}, stdout, getenv)
	case "watch":
		return serve(ctx, cfg, log, roles{watch: true}, stdout, getenv)
	case "notify":
		return serve(ctx, cfg, log, roles{notify: true}, stdout, getenv)
	case "demo":
		return demo(ctx, cfg, log, stdout, speed)
	case "check":
		return check(ctx, cfg, log, stdout, getenv)
	case "digest":
		return digestReport(ctx, cfg, log, stdout, stderr, getenv, df)
	case "test-notification":
		return testNotification(ctx, cfg, log, stdout, fs.Arg(0))
	}
	return fmt.Errorf("command %q has no implementation", name)
}

// newLogger returns the process's logger: JSON (or text) on stderr at LCW_LOG_LEVEL. The
// demo prints notifications on stdout and wants stderr quiet: it logs text at warn
// unless LCW_LOG_LEVEL or LCW_LOG_FORMAT say otherwise.
func newLogger(w io.Writer, cfg *config, demo bool, getenv func(string) string) *slog.Logger {
	level, format := cfg.LogLevel.Level(), cfg.LogFormat
	if demo {
		if strings.TrimSpace(getenv("LCW_LOG_LEVEL")) == "" {
			level = slog.LevelWarn
		}
		if strings.TrimSpace(getenv("LCW_LOG_FORMAT")) == "" {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: readableDurations}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// readableDurations writes durations as "1.074s" rather than the JSON handler's integer
// nanoseconds, which no one reading a log line can take in at a glance.
func readableDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		d := a.Value.Duration()
		if d >= time.Millisecond || d <= -time.Millisecond {
			d = d.Round(time.Millisecond)
		}
		a.Value = slog.StringValue(d.String())
	}
	return a
}
