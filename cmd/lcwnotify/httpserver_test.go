package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadyz(t *testing.T) {
	ready := newReadiness("nats", "watcher")
	srv := httptest.NewServer(httpHandler(newRegistry(buildInfo{Version: "v1", Commit: "c", GoVersion: "go"}), ready, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	readyz := func() (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	checks := func(body map[string]any) map[string]any { return body["checks"].(map[string]any) }

	code, body := readyz()
	if code != 503 || body["ready"] != false || checks(body)["watcher"] != "starting" {
		t.Errorf("before any part started: %d %v, want 503 with watcher starting", code, body)
	}
	var natsErr error
	ready.add("nats", func() error { return natsErr })
	ready.add("watcher", func() error { return nil })
	if code, body = readyz(); code != 200 || body["ready"] != true {
		t.Errorf("all ready: %d %v, want 200", code, body)
	}
	natsErr = errors.New("NATS connection is RECONNECTING")
	code, body = readyz()
	if code != 503 || checks(body)["nats"] != "NATS connection is RECONNECTING" || checks(body)["watcher"] != "ok" {
		t.Errorf("NATS down: %d %v, want 503 naming the failing check", code, body)
	}

	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz = %v, %v; want 200 whatever readiness says", resp, err)
	}
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `lcwnotify_build_info{commit="c",goversion="go",version="v1"} 1`) {
		t.Errorf("/metrics lacks the build info:\n%s", b)
	}
	if resp, _ := http.Post(srv.URL+"/readyz", "text/plain", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz = %d, want 405", resp.StatusCode)
	}
}

type fakeWatcher struct {
	leader bool
	last   time.Time
	access error
}

func (f fakeWatcher) Leader() bool           { return f.leader }
func (f fakeWatcher) LastSuccess() time.Time { return f.last }
func (f fakeWatcher) GraphAccess() error     { return f.access }

func TestWatcherReady(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		w    fakeWatcher
		want string // "" for ready
	}{
		{"standby", fakeWatcher{leader: false}, ""},
		{"leader before its first poll", fakeWatcher{leader: true}, "no complete poll yet"},
		{"leader polling", fakeWatcher{leader: true, last: now.Add(-90 * time.Second)}, ""},
		{"leader stuck", fakeWatcher{leader: true, last: now.Add(-4 * time.Minute)}, "last complete poll 4m0s ago"},
		{"leader refused by Graph", fakeWatcher{leader: true, last: now.Add(-30 * time.Second),
			access: errors.New("microsoft graph refuses list_results (403 Authorization_RequestDenied")}, "microsoft graph refuses list_results"},
		{"standby refused by Graph", fakeWatcher{access: errors.New("refused")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := watcherReady(tt.w, time.Minute, now)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if !strings.HasPrefix(got, tt.want) || (tt.want == "") != (got == "") {
				t.Errorf("watcherReady = %q, want %q", got, tt.want)
			}
		})
	}
}
