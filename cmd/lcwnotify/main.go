// Command lcwnotify tells on-call people within seconds when a Microsoft Entra Lifecycle
// Workflow fails for a user. `lcwnotify help` lists its commands and settings; the
// README explains what it is for and how to run it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// The first signal starts a graceful shutdown; a second one, the default action at once.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
