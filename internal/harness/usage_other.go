//go:build !linux

package harness

import (
	"errors"
	"time"
)

// Usage is what a process has consumed, from /proc.
type Usage struct {
	CPU          time.Duration
	RSS, PeakRSS int64
}

// Usage needs Linux's /proc.
func (p *Process) Usage() (Usage, error) { return ReadUsage(p.Pid()) }

// ReadUsage needs Linux's /proc.
func ReadUsage(pid int) (Usage, error) {
	return Usage{}, errors.New("process usage is read from /proc: Linux only")
}
