// Package events defines lcwnotify's change events: the CloudEvents 1.0 envelope the
// watcher publishes to NATS JetStream for every observed change of a Lifecycle Workflows
// userProcessingResult's processingStatus, the subjects those events travel on, their
// deterministic ids, and the stream that stores them.
//
// The shapes here are part of lcwnotify's external contract (see docs/events.md): other
// programs subscribe to the same subjects and decode the same JSON. Everything in this
// package is free of Graph and Slack so that notifiers and third-party consumers can
// import it without either.
package events
