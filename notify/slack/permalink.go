package slack

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// WorkspaceURL returns the web address of the bot's workspace, as auth.test answers it
// (https://<workspace>.slack.com/), for links to the messages it posted. It makes one
// call each time: callers keep the answer.
func (n *Notifier) WorkspaceURL(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	resp, err := n.api.client.AuthTestContext(ctx)
	if err != nil {
		return "", classify(&n.cfg, err, "auth.test")
	}
	u, err := url.Parse(resp.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("slack: auth.test gave no workspace address")
	}
	return u.Scheme + "://" + u.Host + "/", nil
}

// Permalink returns the web address of the message ts in channel of the workspace at
// workspaceURL: https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>.
// It is "" for anything that is not a channel id and a message timestamp.
func Permalink(workspaceURL, channel, ts string) string {
	if workspaceURL == "" || !isChannelID(channel) || !isTS(ts) {
		return ""
	}
	return strings.TrimRight(workspaceURL, "/") + "/archives/" + channel + "/p" + strings.Replace(ts, ".", "", 1)
}

// isTS reports whether s is a Slack message timestamp: seconds, a dot, microseconds.
func isTS(s string) bool {
	sec, micro, ok := strings.Cut(s, ".")
	if !ok || sec == "" || len(micro) != 6 {
		return false
	}
	for _, c := range sec + micro {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
