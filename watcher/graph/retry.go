package graph

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// backoff is exponential backoff with full jitter: attempt n waits a uniformly random
// time in [0, min(max, base·2ⁿ)], so that clients throttled together do not come back
// together.
type backoff struct {
	base, max time.Duration
}

var defaultBackoff = backoff{base: 500 * time.Millisecond, max: 30 * time.Second}

func (b backoff) delay(attempt int) time.Duration {
	ceil := b.max
	if attempt < 30 {
		if d := b.base << attempt; d > 0 && d < b.max {
			ceil = d
		}
	}
	return rand.N(ceil + 1)
}

// maxRetryAfter caps a Retry-After value; anything longer exceeds every sane retry
// budget anyway and ends the request at once.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header: seconds, possibly fractional as Graph
// sends them ("2.128"), or an HTTP date. It rounds up: the wait is at least what the
// server asked. ok is false when the header is absent or unreadable.
func parseRetryAfter(h string, now time.Time) (d time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if isDecimal(h) {
		secs, err := strconv.ParseFloat(h, 64)
		if err != nil {
			return 0, false
		}
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter, true
		}
		return time.Duration(math.Ceil(secs * float64(time.Second))), true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	return min(max(d, 0), maxRetryAfter), true
}

// isDecimal reports whether s is digits with at most one decimal point: what
// strconv.ParseFloat alone would also let through ("1e9", "Inf", "0x10") is not a
// delay.
func isDecimal(s string) bool {
	digits, dot := 0, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// sleep waits d or until ctx ends, and returns how long it waited.
func sleep(ctx context.Context, d time.Duration) (time.Duration, error) {
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return time.Since(start), nil
	case <-ctx.Done():
		return time.Since(start), context.Cause(ctx)
	}
}
