//go:build !unix

package natsembed

// lockDir does nothing where flock(2) is not available; run one process per store.
func lockDir(string) (func(), error) { return func() {}, nil }
