// Package notifytest holds test doubles for lcwnotify's notifiers and the contract suite
// every notify.Sink passes.
//
// The fakes are real HTTP servers (httptest) that behave like the services they stand
// for where it matters: Slack enforces its per-channel rate limit with 429 and
// Retry-After, validates Block Kit limits, returns message metadata from history and can
// be told to fail in every way Slack does; the webhook receiver verifies Standard
// Webhooks signatures. Their constructors need no *testing.T, so end-to-end suites and
// load commands use them too.
package notifytest
