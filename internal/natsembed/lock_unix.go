//go:build unix

package natsembed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive advisory lock on dir/lcwnotify.lock. nats-server does not
// lock its store, and two servers writing the same files corrupt it. The kernel drops
// the lock when the process dies, so a crash never leaves the store locked.
func lockDir(dir string) (unlock func(), err error) {
	name := filepath.Join(dir, "lcwnotify.lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("natsembed: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrStoreLocked, dir)
		}
		return nil, fmt.Errorf("natsembed: lock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}
