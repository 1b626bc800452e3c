package natsembed_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNATSCLI runs the commands docs/events.md gives subscribers, and some they must be
// refused, with the real nats CLI. It needs `nats` on PATH (go install
// github.com/nats-io/natscli/nats@latest) and is skipped without it.
func TestNATSCLI(t *testing.T) {
	bin, err := exec.LookPath("nats")
	if err != nil {
		t.Skip("the nats CLI is not on PATH")
	}
	t.Parallel()
	d := deploy(t)
	home := t.TempDir() // the CLI keeps contexts under $HOME: not the user's
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		all := append([]string{"--server", d.srv.ClientURL(), "--nkey", d.o.Subscribers.NKeyFile, "--timeout", "1s"}, args...)
		cmd := exec.CommandContext(ctx, bin, all...)
		cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	allowed := []struct {
		args []string
		want string
	}{
		{[]string{"sub", "lcw.result.*.failed", "--all", "--count", "2"}, "lcw.result.wf2.failed"},
		{[]string{"stream", "info", "LCW"}, "lcw.result.>"},
		{[]string{"stream", "get", "LCW", "1"}, "lcw.result.wf1.failed"},
		{[]string{"consumer", "add", "LCW", "oncall-pager", "--pull", "--deliver", "all", "--ack", "explicit",
			"--filter", "lcw.result.*.failed", "--max-deliver=-1", "--wait", "30s", "--replay", "instant",
			"--max-pending", "1000", "--defaults"}, "oncall-pager"},
		{[]string{"consumer", "next", "LCW", "oncall-pager", "--count", "2"}, "lcw.result.wf2.failed"},
		{[]string{"consumer", "ls", "LCW"}, "oncall-pager"},
	}
	for _, tt := range allowed {
		out, err := run(tt.args...)
		if err != nil || !strings.Contains(out, tt.want) {
			t.Errorf("nats %s: %v\n%s\nwant it to show %q", strings.Join(tt.args, " "), err, out, tt.want)
		}
	}
	before := d.state(t)
	refused := [][]string{
		{"kv", "get", watcherBucket, "lease"},
		{"kv", "put", watcherBucket, "lease", "intruder"},
		{"stream", "rm", "LCW", "-f"},
		{"stream", "purge", "LCW", "-f"},
		{"consumer", "next", "LCW", slackConsumer},
		{"consumer", "rm", "LCW", slackConsumer, "-f"},
		{"pub", "lcw.result.wf9.failed", "forged"},
	}
	for _, args := range refused {
		if out, err := run(args...); err == nil {
			t.Errorf("nats %s succeeded:\n%s", strings.Join(args, " "), out)
		}
	}
	if got := d.state(t); got != before {
		t.Errorf("the nats CLI changed lcwnotify's state:\n got %+v\nwant %+v", got, before)
	}
}
