package console_test

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/console"
	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestRenderGolden(t *testing.T) {
	evs, err := notifytest.HostileEvents()
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, ev := range evs {
		s := notify.Summarize(ev, "https://entra.microsoft.us")
		got.WriteString(console.Render(&s))
	}
	out := got.String()
	for _, bad := range []string{"\x1b", "\u202e", "\r"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered text contains %q", bad)
		}
	}
	path := filepath.Join("testdata", "hostile.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if out != string(want) {
		t.Errorf("%s differs; run go test -update and review the diff\ngot:\n%s", path, out)
	}
}

func TestContract(t *testing.T) {
	notifytest.TestSink(t, func(t *testing.T) *notifytest.Harness {
		out := &notifytest.Buffer{}
		return &notifytest.Harness{
			NewSink: func(*testing.T, jetstream.JetStream, string, *slog.Logger) notify.Sink {
				return console.New(out, "")
			},
			Count: func(ev *events.Event) int {
				return strings.Count(out.String(), "  user:     "+ev.Data.User.DisplayName+" (")
			},
		}
	})
}

// TestResolution: a completion that resolves a failure told before reads as its
// resolution and names the user as the failure did, though its own event names the user
// by id alone (as the watcher publishes completions).
func TestResolution(t *testing.T) {
	failure, err := notifytest.Event(notifytest.Result{ResultID: "upr-1", UserID: "u-alex", UserName: "Alex Wilber", UPN: "alex@contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := notifytest.Event(notifytest.Result{ResultID: "upr-2", UserID: "u-alex", Status: "completed", RunID: "run-2"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		follows *notify.Incident
		want    string
	}{
		{"the failure read back", &notify.Incident{Original: &notify.Notification{Event: failure}},
			"✓ Resolved: Alex Wilber (alex@contoso.example) completed Onboard new hires (run run-2)\n\n"},
		{"the failure gone from the stream", &notify.Incident{},
			"✓ Resolved: u-alex completed Onboard new hires (run run-2)\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := console.New(&notifytest.Buffer{}, "")
			b := c.Render(console.Name, []*notify.Notification{{Event: done, Follows: tc.follows}}, false)
			if len(b) != 1 || len(b[0].Messages) != 1 {
				t.Fatalf("batches %+v, want one message", b)
			}
			if got := b[0].Messages[0]; got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
