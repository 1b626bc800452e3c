package natsembed

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// logAdapter routes nats-server's log lines to slog. Notices (start-up banners, store
// recovery) go to debug so that a healthy process stays quiet; warnings and errors keep
// their level. Fatal lines are errors here: the server reports them when it cannot start
// a part of itself, and Start turns that into an error for the caller.
type logAdapter struct {
	log *slog.Logger

	mu   sync.Mutex
	last string // the last error or fatal line, to explain a failed start
}

func newLogAdapter(l *slog.Logger) *logAdapter {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &logAdapter{log: l.With("component", "nats-server")}
}

func (a *logAdapter) emit(level slog.Level, format string, v []any) {
	if !a.log.Enabled(context.Background(), level) && level < slog.LevelError {
		return
	}
	msg := fmt.Sprintf(format, v...)
	if level >= slog.LevelError {
		a.mu.Lock()
		a.last = msg
		a.mu.Unlock()
	}
	a.log.Log(context.Background(), level, msg)
}

func (a *logAdapter) lastFailure(fallback string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == "" {
		return fallback
	}
	return a.last
}

func (a *logAdapter) Noticef(format string, v ...any) { a.emit(slog.LevelDebug, format, v) }
func (a *logAdapter) Warnf(format string, v ...any)   { a.emit(slog.LevelWarn, format, v) }
func (a *logAdapter) Errorf(format string, v ...any)  { a.emit(slog.LevelError, format, v) }
func (a *logAdapter) Fatalf(format string, v ...any)  { a.emit(slog.LevelError, format, v) }
func (a *logAdapter) Debugf(format string, v ...any)  { a.emit(slog.LevelDebug-4, format, v) }
func (a *logAdapter) Tracef(format string, v ...any)  { a.emit(slog.LevelDebug-8, format, v) }
