// Package slack posts lcwnotify's notifications to Slack, with a bot token
// (chat.postMessage, exactly once) or through an incoming webhook (at least once).
//
// The Notifier is a notify.Sink. Each channel has one poster at a time: the first event
// for an idle channel is posted at once, and events that arrive while the channel is paced
// (about one message per second, and any Retry-After Slack imposes) are grouped into the
// next message, split where Slack's limits require. The pace is shared with other
// replicas through the ledger.
//
// The ledger, a JetStream KV bucket <stream>-slack, records each event as pending before
// the message that carries it is posted and as posted afterwards; each message carries
// Slack message metadata naming its batch. An event redelivered after a crash is
// acknowledged if posted, and otherwise checked against the channel's history before it
// is posted again. Leases with server-side expiry tell a crashed process from a live one.
//
// All text that comes from Graph is escaped so that it can neither mention, link nor
// format (see escape.go); secrets never appear in errors or logs.
package slack
