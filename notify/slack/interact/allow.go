package interact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// DefaultGroupTTL is how long a user group's members are trusted once read: a person
// removed from the group can act for at most this long afterwards.
const DefaultGroupTTL = time.Minute

// groupAPI reads the members of a user group (usergroups.users.list).
type groupAPI interface {
	GetUserGroupMembersContext(ctx context.Context, group string, opts ...slack.GetUserGroupMembersOption) ([]string, error)
}

// allowList decides who may act: Slack user ids (U…, W…) named in LCW_ACTIONS_ALLOWED,
// and the members of the user groups (S…) named there. Group members are read from
// Slack and kept for ttl; when they cannot be read, the group allows no one.
type allowList struct {
	users  map[string]bool
	groups []string
	api    groupAPI
	ttl    time.Duration

	mu    sync.Mutex
	cache map[string]groupMembers
}

type groupMembers struct {
	members map[string]bool
	read    time.Time
}

// ParseAllowed checks LCW_ACTIONS_ALLOWED's entries: Slack user ids (U…, W…) and user
// group ids (S…).
func ParseAllowed(ids []string) error {
	var bad []string
	for _, id := range ids {
		if !slackID(id, "UWS") {
			bad = append(bad, fmt.Sprintf("%q", id))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("not Slack user or user group ids: %s (want U0123ABCD, W0123ABCD or S0123ABCD)", strings.Join(bad, ", "))
	}
	return nil
}

func newAllowList(ids []string, api groupAPI, ttl time.Duration) (*allowList, error) {
	if err := ParseAllowed(ids); err != nil {
		return nil, fmt.Errorf("interact: %w", err)
	}
	a := &allowList{users: map[string]bool{}, api: api, ttl: ttl, cache: map[string]groupMembers{}}
	for _, id := range ids {
		if id[0] == 'S' {
			a.groups = append(a.groups, id)
		} else {
			a.users[id] = true
		}
	}
	if len(a.users) == 0 && len(a.groups) == 0 {
		return nil, errors.New("interact: nobody is allowed to act: set LCW_ACTIONS_ALLOWED")
	}
	return a, nil
}

// errGroupUnreadable reports that a user group could not be read: its members may not
// act until it can be.
var errGroupUnreadable = errors.New("interact: cannot read a user group's members")

// allows reports whether user may act. A group that cannot be read allows no one: the
// error says which and why, and the answer is still no.
func (a *allowList) allows(ctx context.Context, user string) (bool, error) {
	if a.users[user] {
		return true, nil
	}
	var errs []error
	for _, g := range a.groups {
		members, err := a.members(ctx, g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if members[user] {
			return true, nil
		}
	}
	return false, errors.Join(errs...)
}

// members returns a group's members, read again once ttl has passed. A failed read
// forgets what was read before: a failure never allows.
func (a *allowList) members(ctx context.Context, group string) (map[string]bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.cache[group]; ok && time.Since(c.read) < a.ttl {
		return c.members, nil
	}
	ids, err := a.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		delete(a.cache, group)
		return nil, fmt.Errorf("%w %s: %v", errGroupUnreadable, group, slackReason(err))
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	a.cache[group] = groupMembers{members: m, read: time.Now()}
	return m, nil
}

// slackReason is a Slack error in words fit for a log line and a reply: Slack's error
// code where it gave one, with what to do for the codes that need a person.
func slackReason(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "missing_scope":
			return "missing_scope: add the bot token scope usergroups:read and reinstall the app"
		case "no_such_subteam":
			return "no_such_subteam: LCW_ACTIONS_ALLOWED names a user group that does not exist"
		}
		return se.Err
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return "rate limited by Slack"
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "Slack did not answer in time"
	}
	return "Slack could not be reached"
}
