package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// checkActions reports, when actions are on, whether the Graph token may activate
// workflows, whether the clicks can arrive (the app-level token opens a Socket Mode
// connection, or the HTTP endpoint is served), and whether the bot token can read the
// user groups LCW_ACTIONS_ALLOWED names. g is nil when Graph could not be read.
func (c *checker) checkActions(ctx context.Context, cfg *config, g *graph.Client) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	switch ok, err := canActivate(ctx, g); {
	case g == nil:
		c.skip("activate", "Graph could not be read: its line says why")
	case err != nil:
		c.fail("activate", err, "lcwnotify cannot read its token's permissions; check the credential")
	case !ok:
		c.fail("activate", fmt.Errorf("the Graph token lacks %s", graph.PermissionActivate),
			"grant the application "+graph.PermissionActivate+" with admin consent (docs/graph-permissions.md), or the buttons will fail")
	default:
		c.ok("activate", "the Graph token carries %s (or a broader permission)", graph.PermissionActivate)
	}

	api := string(cfg.SlackApiURL) + "/"
	if cfg.SlackAppToken.IsSet() {
		sm := slack.New("", slack.OptionAPIURL(api), slack.OptionAppLevelToken(cfg.SlackAppToken.Reveal()))
		if _, _, err := sm.StartSocketModeContext(ctx); err != nil {
			c.fail("socket", err, "LCW_SLACK_APP_TOKEN must be an app-level token with connections:write, and Socket Mode enabled for the app (docs/actions.md)")
		} else {
			c.ok("socket", "the app-level token opens Socket Mode connections (apps.connections.open): clicks arrive without a public endpoint")
		}
	}
	if cfg.SlackSigningSecret.IsSet() {
		c.ok("http", "clicks are taken at POST /slack/interactions on %s: the app's Request URL must reach it over https (not called)", cfg.httpAddr())
	}

	var groups []string
	for _, id := range cfg.ActionsAllowed {
		if strings.HasPrefix(id, "S") {
			groups = append(groups, id)
		}
	}
	if len(groups) == 0 || !cfg.SlackToken.IsSet() {
		return
	}
	bot := slack.New(cfg.SlackToken.Reveal(), slack.OptionAPIURL(api))
	for _, grp := range groups {
		if _, err := bot.GetUserGroupMembersContext(ctx, grp); err != nil {
			var se slack.SlackErrorResponse
			todo := "check LCW_ACTIONS_ALLOWED and that Slack is reachable"
			if errors.As(err, &se) && se.Err == "missing_scope" {
				todo = "add the bot token scope usergroups:read and reinstall the app"
			}
			c.fail("groups", fmt.Errorf("user group %s: %w", grp, err), todo)
			return
		}
	}
	c.ok("groups", "the bot token reads the members of %s", strings.Join(groups, ", "))
}

// canActivate asks g; false without a client.
func canActivate(ctx context.Context, g *graph.Client) (bool, error) {
	if g == nil {
		return false, nil
	}
	return g.CanActivate(ctx)
}
