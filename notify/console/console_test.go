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
