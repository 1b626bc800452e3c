package slack

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// EventType is the Slack message metadata event type of lcwnotify's messages. The
// payload names the ledger batch the message belongs to and its part.
const EventType = "lcwnotify_notification"

// destination is where a channel's messages go: the Web API with a bot token, or an
// incoming webhook.
type destination interface {
	// post sends m to channel (ignored by webhooks) and returns the channel id and the
	// message's timestamp where Slack tells them.
	post(ctx context.Context, channel string, m message, meta slack.SlackMetadata) (channelID, ts string, err error)
	// readsBack reports whether history can show what was posted.
	readsBack() bool
	// history returns the timestamps of the messages in channelID posted since since that
	// complete one of the wanted batches.
	history(ctx context.Context, channelID string, since time.Time, want map[string]bool) (map[string]string, error)
	// channelByName returns the id of the channel called name, "" when the token sees none.
	channelByName(ctx context.Context, name string) (string, error)
}

// botAPI posts with chat.postMessage and reads back with conversations.history.
type botAPI struct {
	client *slack.Client
}

func newBotAPI(cfg *Config) *botAPI {
	// No slack.OptionRetry: pacing and retries are the notifier's, and a retry that
	// slack-go made on its own would bypass both.
	return &botAPI{client: slack.New(cfg.Token, slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(cfg.HTTPClient))}
}

func (a *botAPI) post(ctx context.Context, channel string, m message, meta slack.SlackMetadata) (string, string, error) {
	return a.client.PostMessageContext(ctx, channel,
		slack.MsgOptionText(m.Text, false),
		slack.MsgOptionBlocks(m.Blocks...),
		slack.MsgOptionMetadata(meta),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
}

func (a *botAPI) readsBack() bool { return true }

func (a *botAPI) history(ctx context.Context, channelID string, since time.Time, want map[string]bool) (map[string]string, error) {
	found := map[string]string{}
	params := &slack.GetConversationHistoryParameters{
		ChannelID:          channelID,
		Oldest:             slackTS(since),
		Inclusive:          true,
		Limit:              200,
		IncludeAllMetadata: true,
	}
	for {
		resp, err := a.client.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return nil, err
		}
		for _, msg := range resp.Messages {
			if b, ok := completes(msg.Metadata); ok && want[b] {
				found[b] = msg.Timestamp
			}
		}
		if len(found) == len(want) || !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return found, nil
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
}

func (a *botAPI) channelByName(ctx context.Context, name string) (string, error) {
	params := &slack.GetConversationsParameters{
		Types:           []string{"public_channel", "private_channel"},
		ExcludeArchived: true,
		Limit:           1000,
	}
	for {
		chans, cursor, err := a.client.GetConversationsContext(ctx, params)
		if err != nil {
			return "", err
		}
		for _, ch := range chans {
			if ch.Name == name {
				return ch.ID, nil
			}
		}
		if cursor == "" {
			return "", nil
		}
		params.Cursor = cursor
	}
}

// batchMetadata is the metadata of part (1-based) of parts of batch.
func batchMetadata(batch string, part, parts int) slack.SlackMetadata {
	return slack.SlackMetadata{EventType: EventType, EventPayload: map[string]any{
		"batch": batch, "part": part, "parts": parts,
	}}
}

// completes reports the batch whose last part a message's metadata marks.
func completes(md slack.SlackMetadata) (string, bool) {
	if md.EventType != EventType {
		return "", false
	}
	b, _ := md.EventPayload["batch"].(string)
	part, _ := md.EventPayload["part"].(float64)
	parts, _ := md.EventPayload["parts"].(float64)
	return b, b != "" && part == parts
}

// slackTS formats t as a Slack timestamp.
func slackTS(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 6, 64)
}

// incomingWebhook posts to one channel through an incoming webhook URL. It cannot read
// anything back.
type incomingWebhook struct {
	url    string
	client *http.Client
}

func (w *incomingWebhook) post(ctx context.Context, _ string, m message, _ slack.SlackMetadata) (string, string, error) {
	no := false
	return "", "", slack.PostWebhookCustomHTTPContext(ctx, w.url, w.client, &slack.WebhookMessage{
		Text:        m.Text,
		Blocks:      &slack.Blocks{BlockSet: m.Blocks},
		UnfurlLinks: &no,
		UnfurlMedia: &no,
	})
}

func (w *incomingWebhook) readsBack() bool { return false }

func (w *incomingWebhook) history(context.Context, string, time.Time, map[string]bool) (map[string]string, error) {
	return nil, nil
}

func (w *incomingWebhook) channelByName(context.Context, string) (string, error) { return "", nil }
