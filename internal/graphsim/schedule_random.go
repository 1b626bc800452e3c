package graphsim

import (
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
)

// RandomRunsOptions shape the scheduled runs RandomRuns makes up.
type RandomRunsOptions struct {
	// MinUsers and MaxUsers bound the users of one run; defaults 1 and 300.
	MinUsers, MaxUsers int
	// MinDuration and MaxDuration bound how long a run takes from its scheduled time to
	// its last result; defaults 1 and 20 minutes. Results start within the first tenth
	// of it and end spread over the rest.
	MinDuration, MaxDuration time.Duration
	// FailedRate and ErrorsRate are the shares of results that end failed and
	// completedWithErrors; the rest complete.
	FailedRate, ErrorsRate float64
	// Users is the pool users are drawn from (new ids are generated, and added to the
	// directory, when it is empty); a run never names a user twice.
	Users []string
}

// RandomRuns returns a ScheduleHook that makes up every scheduled run: a random number
// of users, each result starting and ending at random times within a random run
// length, a share of them failing with their tasks' typical reasons. The same seed
// gives the same runs for the same sequence of ticks, so a benchmark of a simulated
// day is repeatable.
func RandomRuns(seed uint64, o RandomRunsOptions) ScheduleHook {
	if o.MinUsers <= 0 {
		o.MinUsers = 1
	}
	if o.MaxUsers < o.MinUsers {
		o.MaxUsers = max(300, o.MinUsers)
	}
	if o.MinDuration <= 0 {
		o.MinDuration = time.Minute
	}
	if o.MaxDuration < o.MinDuration {
		o.MaxDuration = max(20*time.Minute, o.MinDuration)
	}
	var mu sync.Mutex // a hook may be shared by several simulators
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func(ScheduledRun) []PlannedResult {
		mu.Lock()
		defer mu.Unlock()
		n := o.MinUsers + rng.IntN(o.MaxUsers-o.MinUsers+1)
		length := o.MinDuration + time.Duration(rng.Int64N(int64(o.MaxDuration-o.MinDuration)+1))
		users := pickUsers(rng, o.Users, n)
		out := make([]PlannedResult, len(users))
		for i, uid := range users {
			start := time.Duration(rng.Int64N(int64(length/10) + 1))
			p := PlannedResult{UserID: uid, Outcome: Outcome{
				StartAfter: max(start, time.Nanosecond),
				Duration:   max(time.Duration(rng.Int64N(int64(length-start)+1)), time.Nanosecond),
			}}
			switch x := rng.Float64(); {
			case x < o.FailedRate:
				p.Status = events.StatusFailed
			case x < o.FailedRate+o.ErrorsRate:
				p.Status = events.StatusCompletedWithErrors
			}
			out[i] = p
		}
		return out
	}
}

// pickUsers draws n distinct users from pool, or generates n ids when pool is empty.
func pickUsers(rng *mrand.Rand, pool []string, n int) []string {
	if len(pool) == 0 {
		out := make([]string, n)
		for i := range out {
			out[i] = guidFrom(rng.Uint64(), rng.Uint64())
		}
		return out
	}
	n = min(n, len(pool))
	perm := rng.Perm(len(pool))[:n]
	out := make([]string, n)
	for i, j := range perm {
		out[i] = pool[j]
	}
	return out
}
