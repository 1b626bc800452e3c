package slack

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/slack-go/slack"
)

// EventType is the Slack message metadata event type of lcwnotify's messages. The
// payload names the ledger batch the message belongs to and its part.
const EventType = "lcwnotify_notification"

// botAPI posts with chat.postMessage and reads back with conversations.history.
type botAPI struct {
	client *slack.Client
}

func newBotAPI(cfg *Config) *botAPI {
	api, _ := cfg.clients()
	// No slack.OptionRetry: pacing and retries are the notifier's, and a retry that
	// slack-go made on its own would bypass both.
	return &botAPI{client: slack.New(cfg.Token, slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(api))}
}

// post sends m to channel: chat.postMessage, in m.Thread's thread when set, or
// chat.update of the message m.Update names. It returns the channel id and the message's
// timestamp.
func (a *botAPI) post(ctx context.Context, channel string, m message, meta slack.SlackMetadata) (string, string, error) {
	opts := []slack.MsgOption{
		slack.MsgOptionText(m.Text, false),
		slack.MsgOptionBlocks(m.Blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if m.Update != "" {
		// An update is found by its timestamp, not its metadata: keep the original's.
		ch, ts, _, err := a.client.UpdateMessageContext(ctx, channel, m.Update, opts...)
		return ch, ts, err
	}
	opts = append(opts, slack.MsgOptionMetadata(meta))
	if m.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(m.Thread))
	}
	return a.client.PostMessageContext(ctx, channel, opts...)
}

// history returns what the messages in channelID posted since since show of the wanted
// batches: for each found, the highest part seen and the timestamp of its first part.
func (a *botAPI) history(ctx context.Context, channelID string, since time.Time, want map[string]bool) (map[string]notify.Found, error) {
	params := &slack.GetConversationHistoryParameters{
		ChannelID:          channelID,
		Oldest:             slackTS(since),
		Inclusive:          true,
		Limit:              200,
		IncludeAllMetadata: true,
	}
	return collectParts(channelID, want, func() ([]slack.Message, string, error) {
		resp, err := a.client.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return nil, "", err
		}
		next := ""
		if resp.HasMore {
			next = resp.ResponseMetaData.NextCursor
		}
		params.Cursor = next
		return resp.Messages, next, nil
	})
}

// replies is history for the thread of the message at ts: conversations.replies.
func (a *botAPI) replies(ctx context.Context, channelID, ts string, since time.Time, want map[string]bool) (map[string]notify.Found, error) {
	params := &slack.GetConversationRepliesParameters{
		ChannelID:          channelID,
		Timestamp:          ts,
		Oldest:             slackTS(since),
		Inclusive:          true,
		Limit:              200,
		IncludeAllMetadata: true,
	}
	return collectParts(channelID, want, func() ([]slack.Message, string, error) {
		msgs, more, next, err := a.client.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return nil, "", err
		}
		if !more {
			next = ""
		}
		params.Cursor = next
		return msgs, next, nil
	})
}

// collectParts pages through messages with page until it has seen every wanted batch
// whole, or there are no more, and returns what the messages' metadata show of the
// wanted batches: for each found, the highest part seen and the timestamp of its first.
func collectParts(channelID string, want map[string]bool, page func() ([]slack.Message, string, error)) (map[string]notify.Found, error) {
	found := map[string]notify.Found{}
	complete := 0
	for {
		msgs, next, err := page()
		if err != nil {
			return nil, err
		}
		for _, msg := range msgs {
			b, part, parts, ok := partOf(msg.Metadata)
			if !ok || !want[b] {
				continue
			}
			f := found[b]
			if part > f.Parts {
				if part == parts {
					complete++
				}
				f.Parts, f.Count = part, parts
			}
			if part == 1 {
				f.Receipt = notify.Receipt{Key: channelID, ID: msg.Timestamp}
			}
			found[b] = f
		}
		// History runs newest first: a batch's first part may be on a later page.
		if complete == len(want) && allFirstParts(found) || next == "" {
			return found, nil
		}
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

// partOf reads the batch and part a message's metadata names.
func partOf(md slack.SlackMetadata) (batch string, part, parts int, ok bool) {
	if md.EventType != EventType {
		return "", 0, 0, false
	}
	b, _ := md.EventPayload["batch"].(string)
	p, _ := md.EventPayload["part"].(float64)
	n, _ := md.EventPayload["parts"].(float64)
	if b == "" || p < 1 || n < p {
		return "", 0, 0, false
	}
	return b, int(p), int(n), true
}

func allFirstParts(found map[string]notify.Found) bool {
	for _, f := range found {
		if f.Receipt.ID == "" {
			return false
		}
	}
	return true
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
