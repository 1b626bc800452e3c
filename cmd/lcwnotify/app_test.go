package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func testService(timeout time.Duration) *service {
	return &service{
		cfg:   &config{Operations: Operations{ShutdownTimeout: timeout}},
		log:   slog.New(slog.DiscardHandler),
		ready: newReadiness(),
	}
}

// waitForCtx is a part that stops when told to, after taking d to finish.
func waitForCtx(d time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(d)
		return nil
	}
}

func TestServiceRun(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		parts   []func(context.Context) error
		signal  bool   // cancel the context, as SIGTERM does
		wantErr string // "" for a clean stop
	}{
		{"clean stop on signal", []func(context.Context) error{waitForCtx(0), waitForCtx(50 * time.Millisecond)}, true, ""},
		{"a failing part stops the others", []func(context.Context) error{
			waitForCtx(0),
			func(context.Context) error { return boom },
		}, false, "part1: boom"},
		{"a part that returns for no reason", []func(context.Context) error{
			waitForCtx(0),
			func(context.Context) error { return nil },
		}, false, "part1 stopped unexpectedly"},
		{"shutdown timeout", []func(context.Context) error{waitForCtx(time.Hour)}, true, "shutdown timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testService(300 * time.Millisecond)
			for i, p := range tt.parts {
				s.add(fmt.Sprint("part", i), p, func() error { return nil })
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.signal {
				time.AfterFunc(20*time.Millisecond, cancel)
			}
			done := make(chan error, 1)
			go func() { done <- s.run(ctx) }()
			select {
			case err := <-done:
				got := ""
				if err != nil {
					got = err.Error()
				}
				if (tt.wantErr == "") != (got == "") || !strings.Contains(got, tt.wantErr) {
					t.Errorf("run = %q, want %q", got, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("run did not return")
			}
		})
	}
}

func TestLogsWriteDurationsForPeople(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var b strings.Builder
		log := newLogger(&b, &config{Operations: Operations{LogLevel: logLevel(slog.LevelInfo), LogFormat: format}}, false, func(string) string { return "" })
		log.Info("delivery failed; will retry", "retry_in", 1073562121*time.Nanosecond, "tiny", 250*time.Microsecond)
		for _, want := range []string{"1.074s", "250µs"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s log %q lacks %q", format, b.String(), want)
			}
		}
		if strings.Contains(b.String(), "1073562121") {
			t.Errorf("%s log writes a duration as nanoseconds: %q", format, b.String())
		}
	}
}
