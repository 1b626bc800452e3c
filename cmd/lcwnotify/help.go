package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one of lcwnotify's commands, as help describes it.
type command struct {
	name    string
	summary string // one line, the contract's wording
	detail  string // what `help <command>` adds
}

// commands lists every command in the order help shows them.
func commands() []command {
	return []command{
		{"run", "watcher and notifiers in one process (the usual single-machine deployment)",
			"Polls Microsoft Graph, publishes every status change to NATS JetStream, and delivers a notification\n" +
				"for each result entering LCW_NOTIFY_STATUSES to every configured destination (Slack, webhook, PagerDuty, Teams, console).\n" +
				"Needs Graph credentials (AZURE_*) and at least one destination. With LCW_ACTIONS_ALLOWED it also takes\n" +
				"the clicks on the buttons of Slack's failure messages and re-runs the failures (docs/actions.md)."},
		{"watch", "watcher only: poll Graph, diff, publish change events",
			"Polls Microsoft Graph and publishes change events; delivers nothing. Run two replicas on a JetStream\n" +
				"cluster: a lease lets one poll while the other stands by. With LCW_ACTIONS_ALLOWED every replica takes\n" +
				"clicks on Slack's buttons (it has the Graph credentials a re-run needs)."},
		{"notify", "notifiers only: consume change events, deliver Slack / webhook messages",
			"Consumes change events from the stream and delivers notifications, one durable consumer per destination.\n" +
				"Needs no Graph credentials, so it cannot act on Slack's buttons: `watch` does. Run as many replicas as\n" +
				"you like: each event is delivered once."},
		{"demo", "everything in-process with no credentials; ends by itself within a minute",
			"Starts a Graph simulator playing a scripted scenario, an embedded NATS server in a temporary directory\n" +
				"(never LCW_DATA_DIR or LCW_NATS_URL), the real watcher and the real notifiers (for failed and completedWithErrors,\n" +
				"whatever LCW_NOTIFY_STATUSES says). Notifications are printed as they would look in Slack, and sent\n" +
				"to Slack (or the webhook) as well when one is configured. A simulated on-call person re-runs one failure\n" +
				"with its \"Re-run failed tasks\" button: the click, signed as Slack signs it, reaches the real action\n" +
				"handler, which re-runs it in the simulator; the failure is then resolved. The demo's on-call person\n" +
				"is the only one allowed to act (whatever LCW_ACTIONS_ALLOWED says), and LCW_SLACK_APP_TOKEN is not\n" +
				"used. Ctrl-C ends it early.\n\n" +
				"Flags:\n  -speed n  play the scenario n times faster (default 1: about 36 seconds)"},
		{"check", "validate the configuration, get a Graph token, make one read call, reach NATS and Slack",
			"Prints one line per check (ok or FAIL, with what to do) and exits non-zero when any fails."},
		{"digest", "print the digest of the last week (--since) of the watched workflows, as LCW_DIGEST publishes it",
			"Reads Microsoft Graph now (Graph settings and credentials, not NATS) and prints, per watched workflow, the\n" +
				"users processed, succeeded, failed and completed with errors, runs, the most common failure reasons\n" +
				"(from the task results of the latest 25 failures), failures no later success followed, and whether it\n" +
				"is quarantined or disabled. Times are in LCW_DIGEST_TZ. Exits 1 when Graph did not answer everything\n" +
				"(the report says what is missing).\n\n" +
				"Flags:\n  --since D  the span ending now: 7d (default), 36h, 1d12h; at most 30d, Graph's reach\n" +
				"  --json     the report as JSON (the data of a digest event, docs/events.md), for scripts"},
		{"test-notification", "send one clearly marked sample notification to each configured destination, or the one named, and print the outcome",
			"The first thing to run after setting a destination up: a sample failure of a workflow named\n" +
				"\"" + testWorkflowName + "\" goes to every configured destination (slack, webhook,\n" +
				"pagerduty, teams, console), or only to the one named, through the same code that delivers real\n" +
				"notifications; to PagerDuty and Teams through every routing key and webhook of their routes too.\n" +
				"PagerDuty's test alert is triggered, which may page the service's on-call, and resolved at once.\n" +
				"Needs neither Graph credentials nor NATS. Prints one line per destination (ok or FAIL, with what to\n" +
				"do) and exits non-zero when any fails."},
		{"status", "what the status page shows: the watcher, the last 7 days' failures and where each was told, destinations, dead letters",
			"Prints who holds the polling lease and each workflow's last and next poll, Graph throttling or refusals (as\n" +
				"the running process sees them), quarantined or disabled workflows, each destination's backlog and health,\n" +
				"the failures of the last 7 days with their state (notified, re-run requested, resolved, dead-lettered) and\n" +
				"where each was told (a Slack permalink), and the dead letters.\n\n" + operatorAccess + "\n\n" +
				"Flags:\n  --workflow ID  --category C  --user TEXT  --status S  --state S   only the failures that match\n" +
				"  --limit N      list at most N failures (default 200)\n  --json         the report as JSON, as GET /api/status gives it"},
		{"dlq", "dead letters: `dlq list`, and `dlq replay ID…|--all` through the normal delivery stage",
			"dlq list prints every dead letter: its id (the destination and the event's stream sequence), when, why,\n" +
				"the error, the event it holds, and whether it was replayed. dlq replay ID… (or --all) delivers each once\n" +
				"more to the destination that gave up on it, through its delivery stage: once per dead letter, however\n" +
				"often it is asked; exit 1 when one fails again.\n\n" + operatorAccess + "\n\n" +
				"Flags:\n  --all   replay every dead letter\n  --json  JSON, as the API gives it"},
		{"events", "`events tail [--workflow ID] [--status S]`: print the stream's events as they come",
			"Reads the stream from now on (an ordered consumer, forgotten when the command ends) and prints one line per\n" +
				"event: result changes, workflow changes, action records, digests and dead letters. Ctrl-C ends it.\n" +
				"With an external server it uses the NATS settings of run; with the embedded one, the listener of the\n" +
				"running process (LCW_NATS_LISTEN) and the subscribers' key (LCW_NATS_LISTEN_NKEY, else subscriber.nk in\n" +
				"LCW_DATA_DIR).\n\n" +
				"Flags:\n  --workflow ID  only the events of this workflow\n  --status S     only results entering status S (failed, completed…)\n" +
				"  --json         each event as stored (CloudEvents JSON), one per line"},
		{"replay", "`replay --since D --to DESTINATION [--dry-run]`: announce a period's failures again to one destination",
			"Sends every failure of the period (results entering LCW_NOTIFY_STATUSES) once more to DESTINATION (slack,\n" +
				"webhook, console…), through its delivery stage — grouped and paced like any delivery, recorded apart from\n" +
				"the first delivery — for instance after the destination was misconfigured. Each replay has a name\n" +
				"(--name, else one is made up and printed): run again under the same name, an interrupted replay sends\n" +
				"only what it had not sent.\n\n" + operatorAccess + "\n\n" +
				"Flags:\n  --since D    the period: the last D (2h, 90m)\n  --to DEST    the destination\n" +
				"  --dry-run    list what would be sent, send nothing\n  --name NAME  the replay's name\n  --json       the outcome as JSON"},
		{"help", "this text; `help <command>` for one command", ""},
		{"version", "version, commit and Go version", ""},
	}
}

// operatorAccess says how the operator commands reach the deployment.
const operatorAccess = "With an external NATS server (LCW_NATS_URL) it reads and replays there, with the NATS and destination\n" +
	"settings of run. With the embedded server, whose store only the running process may open, it calls that\n" +
	"process's API on LCW_HTTP_ADDR (started with LCW_UI=true), with LCW_UI_TOKEN."

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// helpRow is one setting as help and the README's table show it.
type helpRow struct {
	group   string // the section this setting starts, or ""
	key     string
	def     string // the default, or what help says in its place
	meaning string
}

// helpRows lists every setting from the settings struct itself, so that help cannot
// drift from what is read: bounds, (required) and (secret) come from the tags and types
// that enforce them. Values are never shown, only defaults: a secret's value cannot reach
// help.
func helpRows() ([]helpRow, error) {
	settings, err := settingsOf(envPrefix, &config{})
	if err != nil {
		return nil, err
	}
	rows := make([]helpRow, len(settings))
	for i, s := range settings {
		def := s.tags.Get("default")
		if def == "" {
			def = s.tags.Get("show")
		}
		rows[i] = helpRow{group: s.tags.Get("group"), key: s.key, def: def, meaning: s.tags.Get("desc") + notes(s)}
	}
	return rows, nil
}

// notes says what the tags and the type enforce: bounds, required, secret.
func notes(s setting) string {
	var b strings.Builder
	switch lo, hi := s.tags.Get("min"), s.tags.Get("max"); {
	case lo != "" && hi != "":
		fmt.Fprintf(&b, " (%s to %s)", lo, hi)
	case lo != "":
		fmt.Fprintf(&b, " (at least %s)", lo)
	case hi != "":
		fmt.Fprintf(&b, " (at most %s)", hi)
	}
	if s.required() {
		b.WriteString(" (required)")
	}
	if s.secret() {
		b.WriteString(" (secret)")
	}
	return b.String()
}

// writeSettings prints the settings table, by section.
func writeSettings(w io.Writer) error {
	rows, err := helpRows()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		if r.group != "" {
			fmt.Fprintf(tw, "\n%s\n", r.group)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.key, r.def, r.meaning)
	}
	return tw.Flush()
}

// writeHelp prints the general help, or a command's when cmd is set.
func writeHelp(w io.Writer, cmd *command) error {
	var b strings.Builder
	if cmd != nil {
		usage := cmd.name
		switch cmd.name {
		case "demo":
			usage += " [-speed n]"
		case "digest":
			usage += " [--since D] [--json]"
		case "test-notification":
			usage += " [destination]"
		case "status":
			usage += " [--json] [--workflow ID] [--category C] [--user TEXT] [--status S] [--state S] [--limit N]"
		case "dlq":
			usage += " list [--json]\n       lcwnotify dlq replay ID…|--all [--json]"
		case "events":
			usage += " tail [--workflow ID] [--status S] [--json]"
		case "replay":
			usage += " --since D --to DESTINATION [--dry-run] [--name NAME] [--json]"
		}
		fmt.Fprintf(&b, "Usage: lcwnotify %s\n\n%s.\n", usage, upperFirst(cmd.summary))
		if cmd.detail != "" {
			fmt.Fprintf(&b, "\n%s\n", cmd.detail)
		}
	} else {
		b.WriteString("lcwnotify tells on-call people within seconds when a Microsoft Entra Lifecycle Workflow\n" +
			"fails for a user: it polls Microsoft Graph, publishes each status change to NATS JetStream, and\n" +
			"posts one Slack message (or signed webhook) per failure.\n\n" +
			"Usage: lcwnotify <command>\n\nCommands:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, c := range commands() {
			fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
		}
		tw.Flush()
		b.WriteString("\nTry it without any setup: lcwnotify demo\n")
	}
	b.WriteString("\nSettings are environment variables; an empty value counts as unset. Values marked (secret)\n" +
		"are never printed or logged.\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if err := writeSettings(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, `
Graph credentials
  azidentity's DefaultAzureCredential reads them: AZURE_TENANT_ID and AZURE_CLIENT_ID with
  AZURE_CLIENT_SECRET (secret) or AZURE_CLIENT_CERTIFICATE_PATH; AZURE_FEDERATED_TOKEN_FILE for workload
  identity; a managed identity; AZURE_AUTHORITY_HOST for national clouds; AZURE_TOKEN_CREDENTIALS=prod
  (or a credential name) to skip developer credentials. Permissions: docs/graph-permissions.md.

Exit status: 0 success, or clean shutdown on SIGINT/SIGTERM; 2 bad configuration or usage; 1 anything else.
`)
	return err
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
