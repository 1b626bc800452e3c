// Package notifytest holds the contract suite every notify.Sink passes, and the helpers it
// and other tests build on: change events made to order (failures, bursts, hostile
// names), publishing them, running a Dispatcher, and reading what it left behind
// (consumer state, dead letters, metrics).
//
// The fake destinations themselves (Slack, a webhook receiver) are in lcwnotify's
// internal packages slacktest and webhooktest: real HTTP servers that behave like the
// services they stand for where it matters.
package notifytest
