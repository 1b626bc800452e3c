package graphsim

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultPageSize    = 100
	DefaultMaxPageSize = 999
	// DefaultWindow is what a list of runs or results without a lower date bound covers.
	DefaultWindow = 7 * 24 * time.Hour
	// DefaultReach is how far back Lifecycle Workflows keeps report data and lets a
	// filter reach.
	DefaultReach = 30 * 24 * time.Hour
)

// Options configure a Sim. The zero value is a usable simulator on the wall clock that
// accepts any bearer token.
type Options struct {
	// Now is the simulator's clock: timestamps of new activity, the report windows and
	// ThrottleFor are measured on it. Default time.Now.
	Now func() time.Time
	// Token, when set, is the only bearer token accepted.
	Token string
	// ValidToken, when set, decides which bearer tokens are accepted (after Token, if
	// both are set, a token passes when either accepts it). With neither, any
	// non-empty bearer token is accepted; a missing or empty one is always refused.
	ValidToken func(token string) bool
	// PageSize is the number of items a list page holds when the request has no $top.
	// Default DefaultPageSize.
	PageSize int
	// MaxPageSize caps $top. Default DefaultMaxPageSize.
	MaxPageSize int
	// Window is the default report window (DefaultWindow) and Reach the furthest a
	// filter may reach back and how long results are kept (DefaultReach).
	Window, Reach time.Duration
	// Seed makes generated ids and history reproducible; 0 picks a random seed.
	Seed uint64
	// ScheduleIntervalHours is the tenant's workflowScheduleIntervalInHours (1–24),
	// default DefaultScheduleIntervalHours.
	ScheduleIntervalHours int
	// RequireRoles makes every request need the application permission (app role) its
	// operation documents, as Graph does for app-only tokens: without one it is 403
	// Authorization_RequestDenied. Roles decides which roles a token carries.
	RequireRoles bool
	// Roles returns the roles of a bearer token when RequireRoles is set. Default: the
	// "roles" claim of a JWT-shaped token, read without verifying it (as the tokens of
	// watcher/graph/graphtest's authority carry it); none for any other token.
	Roles func(token string) []string
}

// Sim is a simulated Microsoft Graph tenant serving the Lifecycle Workflows reporting
// API over HTTP (it is an http.Handler). All methods are safe for concurrent use, also
// while it serves requests.
type Sim struct {
	opts Options
	now  func() time.Time

	mu        sync.RWMutex
	rng       *mrand.Rand
	users     map[string]*userRec
	usersUPN  map[string]*userRec
	workflows []*workflowRec
	wfByID    map[string]*workflowRec
	results   map[string]*resultRec

	tokenKey [32]byte // signs skip tokens

	// tl holds what becomes due on the clock; schedHours and schedHook are the
	// tenant's schedule; actOutcome and activations script and record activations.
	tl          timeline
	schedHours  int
	schedHook   ScheduleHook
	actOutcome  ActivationOutcome
	activations []Activation

	faults faultTable
	stats  statsTable
}

// New returns an empty simulator.
func New(opts Options) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = DefaultMaxPageSize
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Reach <= 0 {
		opts.Reach = DefaultReach
	}
	if opts.ScheduleIntervalHours == 0 {
		opts.ScheduleIntervalHours = DefaultScheduleIntervalHours
	}
	if opts.ScheduleIntervalHours < 1 || opts.ScheduleIntervalHours > 24 {
		panic(fmt.Sprintf("graphsim: ScheduleIntervalHours %d is not between 1 and 24", opts.ScheduleIntervalHours))
	}
	seed := opts.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		for _, x := range b {
			seed = seed<<8 | uint64(x)
		}
	}
	s := &Sim{
		opts:     opts,
		now:      opts.Now,
		rng:      mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		users:    make(map[string]*userRec),
		usersUPN: make(map[string]*userRec),
		wfByID:   make(map[string]*workflowRec),
		results:  make(map[string]*resultRec),

		schedHours: opts.ScheduleIntervalHours,
	}
	_, _ = rand.Read(s.tokenKey[:])
	s.tl.init()
	s.stats.init()
	return s
}

// newGUID returns a random GUID in Graph's lower-case form. Callers hold s.mu.
func (s *Sim) newGUID() string {
	return guidFrom(s.rng.Uint64(), s.rng.Uint64())
}

func guidFrom(hi, lo uint64) string {
	// Version 4, variant 10xx, as Graph's ids are.
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// stampNow returns the simulator's clock as a stamp.
func (s *Sim) stampNow() stamp { return toStamp(s.now()) }

// horizon is the oldest scheduledDateTime still kept in the reports.
func (s *Sim) horizon(asOf stamp) stamp { return asOf - stamp(s.opts.Reach) }
