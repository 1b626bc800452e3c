// Package slacktest is a fake Slack for tests and load commands: a real HTTP server
// (httptest) serving the Web API methods lcwnotify calls (chat.postMessage,
// conversations.history with message metadata, conversations.list, auth.test) and an
// incoming webhook; for interactivity, usergroups.users.list, chat.postEphemeral,
// response_urls, and Socket Mode (apps.connections.open and its websocket, over which a
// test sends block_actions envelopes built with BlockActions and sees the
// acknowledgements), and Sign for requests to an app's Request URL.
//
// It behaves like Slack where it matters: it enforces the per-channel rate limit with 429
// and Retry-After (and counts clients that post inside a Retry-After window), validates
// Block Kit limits, returns message metadata from history, and can be told to fail in
// every way Slack does (httpfake.Fault). Its constructor needs no *testing.T, so
// end-to-end suites and the load command use it too.
package slacktest
